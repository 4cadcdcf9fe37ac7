"""`sentinel-packer coverage`: ATT&CK coverage of the repository, one workspace or the fleet,
counting a rule only where it runs (packer.coverage); Markdown or JSON on stdout, and on request
Navigator layers, heatmap pictures and the fleet report page."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from packer.cli.output import write_output
from packer.cli.rollout_cmd import (ALL_OPTION, BASE_URL_OPTION, CA_OPTION, CONTENT_OPTION, EMULATOR_TENANT_OPTION,
                                    SELECT_OPTION, TARGET_OPTION, TARGETS_OPTION, WAVE_OPTION, _endpoint)
from packer.errors import ConfigError

FORMATS = ("markdown", "json")


def coverage_command(
    target: Optional[str] = TARGET_OPTION,
    all_: bool = ALL_OPTION,
    wave: str = WAVE_OPTION,
    select: str = SELECT_OPTION,
    targets: Path = TARGETS_OPTION,
    content: Path = CONTENT_OPTION,
    live: bool = typer.Option(False, "--live", help="Read each workspace: what is deployed and enabled there, and its tables."),
    plan_file: Optional[Path] = typer.Option(None, "--plan",
                                             help="Offline: a saved fleet plan (plan --all --out) says what is blocked where."),
    fmt: str = typer.Option("markdown", "--format", "-f", help="markdown | json"),
    layers: Optional[Path] = typer.Option(None, "--layers", help="Write ATT&CK Navigator layers into this folder."),
    pictures: Optional[Path] = typer.Option(None, "--pictures", help="Write the heatmaps (per workspace, fleet) here."),
    picture_format: str = typer.Option("svg", "--picture-format", help="svg | png"),
    html: Optional[Path] = typer.Option(None, "--html", help="Write the fleet report page (self-contained HTML) here."),
    base_url: Optional[str] = BASE_URL_OPTION,
    ca_cert: Optional[str] = CA_OPTION,
    emulator_tenant: Optional[str] = EMULATOR_TENANT_OPTION,
) -> None:
    """ATT&CK techniques covered by analytic rules (and, apart, hunting queries): of the repository
    (no workspace option), or per workspace (--target NAME, --all, --wave W, --select GLOBS), where a
    rule counts only when deployed, enabled and not blocked for a missing table or column.
    Exit 1 when a workspace could not be read (--live); its error is in the output."""
    from packer.views.coverage import coverage_markdown, write_layers, write_pictures

    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is not supported; use markdown or json")
    if picture_format not in ("svg", "png"):
        raise ConfigError(f"--picture-format {picture_format!r} is not supported; use svg or png")
    report = _coverage(target, all_, wave, select, targets, content, live, plan_file,
                       _endpoint(base_url, ca_cert, emulator_tenant))
    written = []
    if layers is not None:
        written += write_layers(report, layers)
    if pictures is not None:
        written += write_pictures(report, pictures, picture_format)
    if html is not None:
        from packer.views.fleet_report import fleet_report_html

        write_output(html, fleet_report_html(title="ATT&CK coverage", summary=report.summary(), coverage=report))
        written.append(html)
    typer.echo(report.to_json() if fmt == "json" else coverage_markdown(report))
    for path in written:
        typer.echo(f"wrote {path}", err=True)
    unread = [w.name for w in report.workspaces if w.error]
    if unread:
        typer.echo(f"error: could not read {len(unread)} workspace(s): {', '.join(unread)}", err=True)
        raise typer.Exit(1)


def _coverage(target, all_, wave, select, targets: Path, content: Path, live: bool, plan_file: Path | None, endpoint):
    from packer.connect import connect_fleet, load_content_folder
    from packer.coverage import repository_coverage
    from packer.coverage.compute import plans_by_workspace

    chosen = [flag for flag, given in (("--target", target), ("--all", all_), ("--wave", wave), ("--select", select))
              if given]
    if not chosen:
        if live or plan_file:
            raise ConfigError("--live and --plan are per workspace: add --target NAME, --all, --wave W or --select GLOBS")
        return repository_coverage(load_content_folder(content))
    if len(chosen) != 1 and chosen != ["--wave", "--select"]:
        raise ConfigError("give one of --target NAME, --all, --wave W or --select GLOBS")
    if live and plan_file:
        raise ConfigError("--live reads the workspaces; --plan is for offline coverage: give one or the other")
    plans = None
    if plan_file is not None:
        try:
            plans = plans_by_workspace(json.loads(plan_file.read_text(encoding="utf-8")))
        except OSError as exc:
            raise ConfigError(f"cannot read {plan_file}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise ConfigError(f"{plan_file}: not JSON ({exc})") from None
    fleet = connect_fleet(targets, names=[target] if target else None, wave=wave or None, select=select or None,
                          endpoint=endpoint)
    return fleet.coverage(content, live=live, fleet_plan=plans)


def register(app: typer.Typer) -> None:
    app.command("coverage")(coverage_command)
