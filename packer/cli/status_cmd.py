"""`sentinel-packer status`: what the portal would show for this repository's package, per item
(packer.plan.status): installed template version, active version, up to date / update
available / customised / not installed. One workspace (the target options of `plan`) or the
inventory's (`--all`, `--wave`, `--select`). Exit 0: every item up to date, 2: not, 1: error."""
from __future__ import annotations

from typing import Optional

import typer
from rich.console import Console

from packer.cli.plan_cmd import TargetOptions, _connect, _endpoint, _with_target_options
from packer.errors import EXIT_CHANGES, EXIT_NO_CHANGES, ConfigError


def status(
    options: TargetOptions = typer.Option(None, hidden=True),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json | markdown"),
    all_workspaces: bool = typer.Option(False, "--all", help="Every workspace of the inventory."),
    wave: Optional[str] = typer.Option(None, "--wave", help="The workspaces of this wave."),
    select: Optional[str] = typer.Option(None, "--select", help="Workspace name globs, comma-separated."),
) -> None:
    """Per item of this repository's Content Hub package: template version, active version, state."""
    from packer.connect import connect_fleet
    from packer.views.status import STATUS_FORMATS, print_status, status_json, status_markdown

    if fmt not in STATUS_FORMATS:
        raise ConfigError(f"--format {fmt!r} is not supported; use one of: {', '.join(STATUS_FORMATS)}")
    if all_workspaces or wave or select:
        if options.target:
            raise ConfigError("--target is one workspace; --all, --wave and --select are the fleet: give one or the other")
        if not options.targets.is_file():
            raise ConfigError(f"the inventory {options.targets} does not exist (--targets)")
        statuses = connect_fleet(options.targets, wave=wave, select=select, endpoint=_endpoint(options),
                                 requests_per_workspace=options.concurrency).status()
    else:
        statuses = [_connect(options).status()]
    if fmt == "json":
        typer.echo(status_json(statuses))
    elif fmt == "markdown":
        typer.echo(status_markdown(statuses), nl=False)
    else:
        print_status(statuses, Console(highlight=False))
    raise typer.Exit(EXIT_NO_CHANGES if all(s.up_to_date for s in statuses) else EXIT_CHANGES)


def register(app: typer.Typer) -> None:
    app.command("status")(_with_target_options(status))
