"""`sentinel-packer kql install`: the pinned Kusto.Language npm package for KQL analysis (packer.kql.install)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

kql_app = typer.Typer(help="KQL analysis (Microsoft's Kusto.Language, run by Node.js).", no_args_is_help=True)


@kql_app.command("install")
def install(
    dest: Optional[Path] = typer.Option(None, "--dest", help="Install here instead of the user cache folder."),
) -> None:
    """Install the pinned @kusto/language-service-next into a user cache folder (needs Node.js 20+
    and npm). validate, plan and rollout find it there by themselves."""
    from packer.kql.install import install as run_install, user_cache_dir

    installed = run_install(dest)
    typer.echo(f"installed in {installed}")
    if dest is not None and installed.parent != user_cache_dir():
        typer.echo(f"export SENTINEL_PACKER_NODE_MODULES={installed}   # --dest is not looked up by itself")


def register(app: typer.Typer) -> None:
    app.add_typer(kql_app, name="kql")
