"""`sentinel-packer demo`: the whole job on emulated workspaces (packer.demo), Azure never contacted."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def demo(
    content: Optional[Path] = typer.Option(None, "--content", help="Your content folder (default: the bundled pack)."),
    out: Path = typer.Option(Path("sentinel-packer-out/demo"), "--out",
                             help="Where the package, plans and reports are written."),
) -> None:
    """Validate, build, plan, apply, re-plan, edit a rule "in the portal", see the drift, then plan
    and roll out to an emulated fleet of 5 workspaces in 3 tenants. Never touches Azure."""
    from packer.cli.output import make_console
    from packer.demo import run_demo

    result = run_demo(content, out, make_console())
    raise typer.Exit(0 if result.ok else 1)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
