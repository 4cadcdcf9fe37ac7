"""`sentinel-packer kql install`: the pinned Kusto.Language npm package for KQL analysis (packer.kql.install)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from packer.errors import PackerError

kql_app = typer.Typer(help="KQL analysis (Microsoft's Kusto.Language, run by Node.js).", no_args_is_help=True)


@kql_app.command("install")
def install(
    dest: Optional[Path] = typer.Option(None, "--dest", help="Install here instead of the user cache folder."),
) -> None:
    """Install the pinned @kusto/language-service-next into a user cache folder (needs Node.js 20+
    and npm), and build the analysis worker's startup snapshot. validate, plan and rollout find
    both there by themselves."""
    from packer.kql.analyser import build_snapshot
    from packer.kql.install import install as run_install, user_cache_dir

    installed = run_install(dest)
    typer.echo(f"installed in {installed}")
    if dest is not None and installed.parent != user_cache_dir():
        typer.echo(f"export SENTINEL_PACKER_NODE_MODULES={installed}   # --dest is not looked up by itself")
    try:
        snapshot = build_snapshot(installed)
    except PackerError as exc:  # the package works without it: analysis starts from the script
        typer.echo(f"warning: no worker snapshot ({exc}); each analysis starts about a second slower", err=True)
        return
    typer.echo(f"worker snapshot in {snapshot}" if snapshot else "worker snapshot: off ($SENTINEL_PACKER_KQL_SNAPSHOT)")


def register(app: typer.Typer) -> None:
    app.add_typer(kql_app, name="kql")
