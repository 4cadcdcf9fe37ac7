"""`sentinel-packer build`: the Content Hub package and standalone ARM templates."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from packer.errors import ConfigError


def build(
    content: Path = typer.Option(Path("content"), "--content", help="Content folder (with solution.yaml)."),
    out: Path = typer.Option(Path("dist"), "--out", help="Output folder (Package/ and arm/ are written here)."),
    solution_input: Optional[Path] = typer.Option(
        None, "--solution-input", help="Build from Microsoft's format instead: path to Data/Solution_X.json."),
    workbooks_metadata: Optional[Path] = typer.Option(
        None, "--workbooks-metadata", help="WorkbooksMetadata.json for --solution-input workbooks."),
    check_versions: Optional[str] = typer.Option(
        None, "--check-versions", metavar="REF",
        help="Fail if content changed since git REF without a higher version."),
    solution_version: Optional[str] = typer.Option(
        None, "--solution-version", help="Package version (default: the solution's own version)."),
    no_kql: bool = typer.Option(False, "--no-kql", help="Skip KQL analysis during validation."),
    strict: bool = typer.Option(False, "--strict", help="Fail on any validation warning too (as validate --strict)."),
    fmt: str = typer.Option("text", "--format", "-f", help="text | json (what was built, for scripts)."),
) -> None:
    """Build the solution package (mainTemplate, createUiDefinition, zip) and one ARM template per item."""
    from packer.package.build import build_content, build_solution_input
    from packer.views.build import build_json, build_lines, build_warnings

    if fmt not in ("text", "json"):
        raise ConfigError(f"--format {fmt!r} is not supported; use text or json")
    if solution_input is not None:
        if check_versions:
            raise ConfigError("--check-versions works on a content folder, not with --solution-input")
        result = build_solution_input(solution_input, out, workbooks_metadata, solution_version)
    else:
        if workbooks_metadata is not None:
            raise ConfigError("--workbooks-metadata is only used with --solution-input")
        result = build_content(content, out, solution_version, kql=not no_kql, check_versions_against=check_versions,
                               strict=strict)
    for line in build_warnings(result):
        typer.echo(line, err=True)
    if fmt == "json":
        typer.echo(build_json(result))
        return
    for line in build_lines(result):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    app.command("build")(build)
