"""`sentinel-packer status`: what the portal would show for this repository's package, per item
(packer.hub.status): installed template version, active version, up to date / update
available / customised / not installed. One workspace (the target options of `plan`) or the
inventory's (`--all`, `--wave`, `--select`). Exit 0: every item up to date, 2: not, 1: error."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from packer.cli.plan_cmd import (
    EXIT_CHANGES,
    EXIT_NO_CHANGES,
    TargetOptions,
    _credential_for,
    _with_target_options,
    open_client,
    resolve_target,
)
from packer.errors import ConfigError

STYLES = {"up to date": "green", "update available": "yellow", "customised": "magenta", "not installed": "red"}


def status(
    options: TargetOptions = typer.Option(None, hidden=True),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json | markdown"),
    all_workspaces: bool = typer.Option(False, "--all", help="Every workspace of the inventory."),
    wave: Optional[str] = typer.Option(None, "--wave", help="The workspaces of this wave."),
    select: Optional[str] = typer.Option(None, "--select", help="Workspace name globs, comma-separated."),
) -> None:
    """Per item of this repository's Content Hub package: template version, active version, state."""
    from packer.hub.status import STATUS_FORMATS, status_json, status_markdown, workspace_status

    if fmt not in STATUS_FORMATS:
        raise ConfigError(f"--format {fmt!r} is not supported; use one of: {', '.join(STATUS_FORMATS)}")
    statuses = []
    if all_workspaces or wave or select:
        for target, client in _fleet_clients(options, wave, select):
            with client:
                statuses.append(workspace_status(client))
    else:
        resolved = resolve_target(options)
        with open_client(options, resolved) as client:
            statuses.append(workspace_status(client))
    if fmt == "json":
        typer.echo(status_json(statuses))
    elif fmt == "markdown":
        typer.echo(status_markdown(statuses), nl=False)
    else:
        _print(statuses, Console(highlight=False))
    raise typer.Exit(EXIT_NO_CHANGES if all(s.up_to_date for s in statuses) else EXIT_CHANGES)


def _fleet_clients(options: TargetOptions, wave: str | None, select: str | None):
    from packer.auth import CredentialProvider, azure_credential
    from packer.remote.api_versions import ARM_ENDPOINT
    from packer.rollout.connection import FleetConnection
    from packer.targets import load_inventory

    if options.target:
        raise ConfigError("--target is one workspace; --all, --wave and --select are the fleet: give one or the other")
    if not Path(options.targets).is_file():
        raise ConfigError(f"the inventory {options.targets} does not exist (--targets)")
    inventory = load_inventory(options.targets)
    factory = (lambda tenant: _credential_for(options, tenant.tenant_id)) if options.emulator_tenant else azure_credential
    connection = FleetConnection(CredentialProvider(inventory, factory), options.base_url or ARM_ENDPOINT,
                                 options.ca_cert, requests_per_workspace=options.concurrency)
    for target in inventory.select(wave=wave, glob=select):
        yield target, connection.client_for(target)


def _print(statuses, console: Console) -> None:
    for status in statuses:
        title = (f"{status.target.workspace} ({status.target.name}): package {status.package_id} "
                 f"{status.installed_version or status.package_version}" if status.package_id
                 else f"{status.target.workspace} ({status.target.name}): no package of this repository installed")
        table = Table(title=escape(title), title_justify="left")
        for column in ("item", "kind", "template", "active", "status"):
            table.add_column(column, overflow="fold")
        for item in status.items:
            style = STYLES[item.state.value]
            table.add_row(escape(item.name), item.kind, item.template_version or "-", item.active_version or "-",
                          f"[{style}]{item.state.value}[/]" + (f" ({escape(item.detail)})" if item.detail else ""))
        console.print(table)
        counts = ", ".join(f"{n} {s}" for s, n in status.counts().items() if n)
        console.print(f"Status: {counts or 'nothing installed'}")


def register(app: typer.Typer) -> None:
    app.command("status")(_with_target_options(status))
