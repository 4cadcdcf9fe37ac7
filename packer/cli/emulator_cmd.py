"""`sentinel-packer emulator`: the Azure management API emulator in the foreground."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("emulator")
    def emulator(
        host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback by default)."),
        port: int = typer.Option(0, help="Port; 0 picks a free one."),
        state: Optional[Path] = typer.Option(None, help="Load state from FILE at start, save it on shutdown."),
        config: Optional[Path] = typer.Option(None, help="Emulator config (YAML or JSON): tenants, workspaces..."),
        specs: Optional[Path] = typer.Option(None, exists=True, file_okay=False,
                                             help="Directory of REST API specs to validate bodies against."),
    ) -> None:
        """Serve an HTTPS emulator of the Sentinel / Log Analytics / workbooks management APIs."""
        from packer.emulator.run import build, serve

        if not _is_loopback(host):
            typer.echo(f"warning: listening on {host}, not loopback: the emulator accepts unsigned test tokens, "
                       "so anyone who can reach this address can read and write its content", err=True)

        serve(build(host, port, state, config, specs), lambda line: typer.echo(line, err=False))


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
