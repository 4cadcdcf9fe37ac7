"""`sentinel-packer validate [PATHS...]`: check content and report every problem at once."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from packer.cli.output import write_output
from packer.errors import ConfigError


def validate(
    paths: Optional[List[Path]] = typer.Argument(None, help="Content root, folders or files (default: content/)."),
    fmt: str = typer.Option("text", "--format", "-f", help="text | json | sarif"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to this file instead of stdout."),
    no_kql: bool = typer.Option(False, "--no-kql", help="Skip KQL analysis (faster; needs no Node.js)."),
    require_kql: bool = typer.Option(
        False, "--require-kql", envvar="SENTINEL_PACKER_REQUIRE_KQL",
        help="Fail instead of skipping KQL analysis when Node.js or the Kusto.Language package is absent."),
) -> None:
    """Validate content the way Azure-Sentinel's CI does. Exit 1 on any error; warnings do not fail."""
    from packer.validate import validate_paths
    from packer.views.validation import FORMATS, render, summary

    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is not supported; use one of: {', '.join(FORMATS)}")
    report = validate_paths(paths or [Path("content")], kql=not no_kql, require_kql=require_kql)
    text = render(report, fmt)
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_output(output, text)
        typer.echo(summary(report), err=True)
    raise typer.Exit(1 if report.errors else 0)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
