"""`sentinel-packer targets matrix|list`, `rollout` and `doctor`: the fleet commands.
(`plan --all | --wave W | --select GLOB`, in packer.cli.plan_cmd, uses the same rollout library.)"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from packer.cli.output import make_console, write_output
from packer.cli.plan_cmd import ADOPT_FROM_HELP, ADOPT_HELP
from packer.errors import ConfigError

targets_app = typer.Typer(help="The fleet inventory (targets.yaml).", no_args_is_help=True)

TARGETS_OPTION = typer.Option(Path("targets.yaml"), "--targets", help="The fleet inventory.")
CONTENT_OPTION = typer.Option(Path("content"), "--content", help="The content folder.")
TARGET_OPTION = typer.Option(None, "--target", help="One workspace of the inventory.")
ALL_OPTION = typer.Option(False, "--all", help="Every workspace of the inventory.")
WAVE_OPTION = typer.Option("", "--wave", help="Only this wave's workspaces.")
SELECT_OPTION = typer.Option("", "--select", help="Workspace name globs, comma-separated (e.g. a matrix shard).")
BASE_URL_OPTION = typer.Option(None, "--base-url", envvar="SENTINEL_PACKER_BASE_URL",
                               help="Management endpoint (default Azure; the emulator's URL in tests).")
CA_OPTION = typer.Option(None, "--ca-cert", envvar="SENTINEL_PACKER_CA_CERT", help="CA bundle to trust (the emulator's).")
FORMAT_OPTION = typer.Option("text", "--format", "-f", help="text | json (for scripts).")
EMULATOR_TENANT_OPTION = typer.Option(
    None, "--emulator-tenant", envvar="SENTINEL_PACKER_EMULATOR_TENANT",
    help="Use the emulator's test tokens ('target': each workspace's token tenant; a tenant id: only that tenant's).")


# --- targets ----------------------------------------------------------------------------------


@targets_app.command("matrix")
def matrix(
    targets: Path = TARGETS_OPTION,
    wave: str = WAVE_OPTION,
    shard_size: int = typer.Option(10, "--shard-size", help="Workspaces per shard (whole subscriptions per shard)."),
) -> None:
    """Print the inventory as a GitHub Actions job matrix: {"include": [{shard, wave, select}...]}."""
    from packer.rollout.matrix import job_matrix
    from packer.targets import load_inventory

    typer.echo(json.dumps(job_matrix(load_inventory(targets), wave=wave or None, shard_size=shard_size)))


@targets_app.command("gate")
def gate(
    reports: list[Path] = typer.Argument(..., help="The wave's rollout reports (JSON), one per shard."),
    targets: Path = TARGETS_OPTION,
    wave: str = typer.Option(..., "--wave", help="The wave to judge."),
) -> None:
    """Sum a wave's shard reports against the wave's failure threshold (the gate before the next wave).
    Exit 0: the wave passed; 1: it crossed its threshold or a workspace is missing from the reports."""
    from packer.rollout.gate import wave_verdict
    from packer.targets import load_inventory

    verdict = wave_verdict(load_inventory(targets), wave, reports)
    typer.echo(verdict.summary())
    raise typer.Exit(0 if verdict.passed else 1)


@targets_app.command("list")
def list_targets(targets: Path = TARGETS_OPTION, wave: str = WAVE_OPTION, select: str = SELECT_OPTION,
                 fmt: str = FORMAT_OPTION) -> None:
    """List the workspaces of the inventory with their tenant, wave and overlay."""
    from rich.table import Table

    from packer.targets import load_inventory

    _check_format(fmt)
    inventory = load_inventory(targets)
    rows = []
    for target in inventory.select(wave=wave or None, glob=select or None):
        entry = inventory.entry(target.name)
        rows.append({"workspace": target.name, "tenant": entry.tenant.name, "auth": entry.tenant.auth.kind.value,
                     "wave": target.wave or "", "subscription": target.subscription_id,
                     "resource_group": target.resource_group, "workspace_name": target.workspace,
                     "overlay": not entry.overlay.is_empty})
    if fmt == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table()
    for column in ("workspace", "tenant", "auth", "wave", "subscription", "resource group / workspace", "overlay"):
        table.add_column(column, overflow="fold", no_wrap=column == "workspace")
    for row in rows:
        table.add_row(row["workspace"], row["tenant"], row["auth"], row["wave"], row["subscription"],
                      f"{row['resource_group']}/{row['workspace_name']}", "yes" if row["overlay"] else "")
    make_console().print(table)


# --- shared plumbing --------------------------------------------------------------------------


def _check_format(fmt: str) -> None:
    if fmt not in ("text", "json"):
        raise ConfigError(f"--format {fmt!r} is not supported; use text or json")


def _endpoint(base_url: str | None, ca_cert: str | None, emulator_tenant: str | None):
    from packer.connect import Endpoint

    return Endpoint(base_url, ca_cert, emulator_tenant)


# --- rollout ----------------------------------------------------------------------------------


def rollout_command(
    targets: Path = TARGETS_OPTION,
    content: Path = CONTENT_OPTION,
    wave: str = WAVE_OPTION,
    select: str = SELECT_OPTION,
    parallel: int = typer.Option(8, "--parallel", min=1, max=256, help="Workspaces deployed at once within a wave."),
    prune: bool = typer.Option(False, "--prune", help="Delete items this repository deployed and no longer has."),
    on_drift: str = typer.Option("fail", "--on-drift", help="fail | overwrite | skip: items edited in the portal."),
    on_conflict: str = typer.Option("fail", "--on-conflict",
                                    help="fail | ours | theirs: upgrades of items edited in a workspace."),
    max_failures: Optional[int] = typer.Option(None, "--max-failures", min=0,
                                               help="Failed workspaces a wave tolerates (overrides targets.yaml)."),
    report_json: Optional[Path] = typer.Option(None, "--report-json", help="Write the fleet report (JSON) here."),
    report_md: Optional[Path] = typer.Option(None, "--report-md", help="Write the fleet report (Markdown) here."),
    report_html: Optional[Path] = typer.Option(None, "--report-html",
                                               help="Write the fleet report page (self-contained HTML) here."),
    commit: Optional[str] = typer.Option(None, "--commit", help="Commit to record (default: git HEAD)."),
    reviewed_plan: Optional[Path] = typer.Option(
        None, "--reviewed-plan",
        help="A fleet plan saved by `plan --all --out` (the pull request's): applied exactly in each workspace "
             "whose content and live state are unchanged since; the others are planned again, with the reason."),
    adopt: bool = typer.Option(False, "--adopt", help=ADOPT_HELP),
    adopt_from: list[str] = typer.Option([], "--adopt-from", help=ADOPT_FROM_HELP),
    rate_scale: float = typer.Option(1.0, "--rate-scale", min=0.01,
                                     help="Multiply ARM's per-subscription limits (only for emulators configured so)."),
    base_url: Optional[str] = BASE_URL_OPTION,
    ca_cert: Optional[str] = CA_OPTION,
    emulator_tenant: Optional[str] = EMULATOR_TENANT_OPTION,
    fmt: str = FORMAT_OPTION,
) -> None:
    """Deploy to the fleet wave by wave; stop when a wave crosses its failure threshold.
    Exit 0: every wave stayed within its failure threshold (failed workspaces are listed as
    warnings); 1: a wave crossed its threshold and the rollout stopped, or an error.
    --format json prints the fleet report (as --report-json writes it) instead of progress."""
    from packer.apply import ON_DRIFT
    from packer.connect import connect_fleet, current_commit
    from packer.plan.merge import check_on_conflict
    from packer.plan.model import Adoption
    from packer.rollout.engine import RolloutOptions
    from packer.rollout.reviewed import load_reviewed_plan
    from packer.views.rollout import RichObserver, print_rollout_summary, rollout_report_markdown

    if on_drift not in ON_DRIFT:
        raise ConfigError(f"--on-drift must be one of {', '.join(ON_DRIFT)}, not {on_drift!r}")
    check_on_conflict(on_conflict)
    _check_format(fmt)
    reviewed = load_reviewed_plan(reviewed_plan) if reviewed_plan is not None else None
    fleet = connect_fleet(targets, wave=wave, select=select, rate_scale=rate_scale,
                          endpoint=_endpoint(base_url, ca_cert, emulator_tenant))
    options = RolloutOptions(parallel=parallel, prune=prune, on_drift=on_drift, on_conflict=on_conflict,
                             max_failures=max_failures, commit=commit or current_commit(), reviewed=reviewed,
                             adoption=Adoption(adopt, tuple(adopt_from)))
    console = make_console()
    if fmt == "json":
        report = fleet.rollout(content, options)
    else:
        with RichObserver(console) as observer:
            report = fleet.rollout(content, options, observer)
    if report_json is not None:
        write_output(report_json, report.to_json())
    if report_md is not None:
        write_output(report_md, rollout_report_markdown(report))
    if report_html is not None:
        from packer.views.fleet_report import fleet_report_html

        coverage = fleet.coverage(content, live=True)  # what the rollout left running in each workspace
        write_output(report_html, fleet_report_html(title="Rollout", summary=report.summary(), rollout=report,
                                                    coverage=coverage))
    if fmt == "json":
        typer.echo(report.to_json())
    else:
        print_rollout_summary(report, console)
    raise typer.Exit(0 if report.within_thresholds else 1)


# --- doctor -----------------------------------------------------------------------------------


def doctor_command(
    target: Optional[str] = TARGET_OPTION,
    all_: bool = ALL_OPTION,
    wave: str = WAVE_OPTION,
    select: str = SELECT_OPTION,
    targets: Path = TARGETS_OPTION,
    content: Path = CONTENT_OPTION,
    base_url: Optional[str] = BASE_URL_OPTION,
    ca_cert: Optional[str] = CA_OPTION,
    emulator_tenant: Optional[str] = EMULATOR_TENANT_OPTION,
    fmt: str = FORMAT_OPTION,
) -> None:
    """Check that workspaces can take the content, and print what to fix. Exit 1 if any cannot.
    Which workspaces: --target NAME, --all, --wave W or --select GLOBS."""
    from packer.connect import connect_fleet
    from packer.views.doctor import print_doctor

    chosen = [flag for flag, given in (("--target", target), ("--all", all_), ("--wave", wave), ("--select", select))
              if given]
    if len(chosen) != 1 and chosen != ["--wave", "--select"]:
        raise ConfigError("give exactly one of --target NAME, --all, --wave W or --select GLOBS")
    _check_format(fmt)
    fleet = connect_fleet(targets, names=[target] if target else None, wave=wave or None, select=select or None,
                          endpoint=_endpoint(base_url, ca_cert, emulator_tenant))
    results = fleet.doctor(content)
    if fmt == "json":
        bad = [r for r in results if not r.ok]
        typer.echo(json.dumps({"ready": len(results) - len(bad), "workspaces": [_doctor_json(r) for r in results]},
                              indent=2))
    else:
        print_doctor(results, make_console())
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


def _doctor_json(result) -> dict:
    return {"workspace": result.target, "ok": result.ok,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail, "fix": c.fix} for c in result.checks]}


def register(app: typer.Typer) -> None:
    app.add_typer(targets_app, name="targets")
    app.command("rollout")(rollout_command)
    app.command("doctor")(doctor_command)
