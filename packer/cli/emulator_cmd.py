"""`sentinel-packer emulator`: the Azure management API emulator in the foreground; `emulator token`
and `emulator edit` act on it as the Azure portal (a signed-in person) would."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from packer.cli.plan_cmd import _with_target_options

emulator_app = typer.Typer(help="A local HTTPS emulator of the Azure management API (no subscription needed).")


@emulator_app.callback(invoke_without_command=True)
def emulator(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(0, help="Port; 0 picks a free one (or the one kept in --state)."),
    state: Optional[Path] = typer.Option(None, help="Load state from FILE at start, save it on shutdown."),
    config: Optional[Path] = typer.Option(None, help="Emulator config (YAML or JSON): tenants, workspaces..."),
    specs: Optional[Path] = typer.Option(None, exists=True, file_okay=False,
                                         help="Directory of REST API specs to validate bodies against."),
) -> None:
    """Serve an HTTPS emulator of the Sentinel / Log Analytics / workbooks management APIs.
    It prints the `export` lines and target flags to paste where sentinel-packer runs."""
    if ctx.invoked_subcommand is not None:
        return
    from packer.emulator.run import build, serve

    if not _is_loopback(host):
        typer.echo(f"warning: listening on {host}, not loopback: the emulator accepts unsigned test tokens, "
                   "so anyone who can reach this address can read and write its content", err=True)

    serve(build(host, port, state, config, specs), lambda line: typer.echo(line, err=False), port_was_asked=port != 0)


@emulator_app.command("token")
def token(
    tenant: Optional[str] = typer.Option(None, "--tenant", help="Tenant id of the token (default: the emulator's default tenant)."),
) -> None:
    """Print an access token the emulator accepts (a bearer token for curl, as the portal's own)."""
    from packer.emulator.config import DEFAULT_TENANT
    from packer.emulator.credential import EmulatorCredential

    typer.echo(EmulatorCredential(tenant or DEFAULT_TENANT).get_token("https://management.azure.com/.default").token)


def edit(
    options=typer.Option(None, hidden=True),
    rule: str = typer.Option(..., "--rule", help="The analytic rule's display name (a glob: 'RMM tool abuse - Mesh*')."),
    assignments: list[str] = typer.Option(..., "--set", help="PROPERTY=VALUE, e.g. severity=High (repeatable)."),
) -> None:
    """Change a deployed analytic rule as someone in the portal would (the next plan shows it as
    drifted). Same target flags and environment as `plan`."""
    from packer.cli.plan_cmd import _connect
    from packer.emulator.portal import edit_alert_rule, parse_assignments

    values = parse_assignments(assignments)
    workspace = _connect(options)
    workspace.check()
    with workspace.client() as client:
        typer.echo(edit_alert_rule(client, rule, values).describe())


def register(app: typer.Typer) -> None:
    emulator_app.command("edit")(_with_target_options(edit))
    app.add_typer(emulator_app, name="emulator")


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
