"""`sentinel-packer export`: a workspace's Sentinel content as content files (`--target`, or the
target options of `plan`), or the inventory's fleet de-forked (`--all`, `--wave`, `--select`):
`--out DIR` gets `content/`, `export-report.md` and `.json` (and, for a fleet, `targets.yaml`).
Reads only. Exit 0: everything exported losslessly, 2: the report lists what the content cannot
hold, 1: error."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from packer.cli.plan_cmd import TargetOptions, _connect, _endpoint, _with_target_options
from packer.errors import EXIT_CHANGES, EXIT_NO_CHANGES, ConfigError


def export(
    options: TargetOptions = typer.Option(None, hidden=True),
    out: Path = typer.Option(..., "--out", help="A new (or empty) folder for the content and the report."),
    all_workspaces: bool = typer.Option(False, "--all", help="Every workspace of the inventory, de-forked."),
    wave: Optional[str] = typer.Option(None, "--wave", help="The workspaces of this wave, de-forked."),
    select: Optional[str] = typer.Option(None, "--select", help="Workspace name globs, comma-separated."),
) -> None:
    """Export rules, hunting queries, parsers, workbooks, automation rules and watchlists as content, with a report."""
    from packer.connect import connect_fleet
    from packer.views.export import export_summary, write_report

    if all_workspaces or wave or select:
        if options.target:
            raise ConfigError("--target is one workspace; --all, --wave and --select are the fleet: give one or the other")
        if not options.targets.is_file():
            raise ConfigError(f"the inventory {options.targets} does not exist (--targets)")
        result = connect_fleet(options.targets, wave=wave, select=select, endpoint=_endpoint(options),
                               requests_per_workspace=options.concurrency).export(out)
    else:
        result = _connect(options).export(out)
    markdown, _ = write_report(result, out)
    typer.echo(export_summary(result))
    typer.echo(f"content: {result.content_root}; report: {markdown}")
    raise typer.Exit(EXIT_NO_CHANGES if result.lossless else EXIT_CHANGES)


def register(app: typer.Typer) -> None:
    app.command("export")(_with_target_options(export))
