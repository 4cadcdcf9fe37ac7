"""The command line: thin wrappers over library functions, one module per command group.

Each module in COMMAND_MODULES has `register(app)`; library errors (PackerError) become a
message on stderr and an exit code, never a traceback.
"""
from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console
from rich.markup import escape

from packer import __version__
from packer.cli.output import error_details
from packer.errors import PackerError

COMMAND_MODULES: list[str] = [
    "packer.cli.validate_cmd",
    "packer.cli.build_cmd",
    "packer.cli.plan_cmd",
    "packer.cli.github_cmd",
    "packer.cli.rollout_cmd",
    "packer.cli.emulator_cmd",
    "packer.cli.demo_cmd",
]

app = typer.Typer(
    name="sentinel-packer",
    help="Microsoft Sentinel content as code: validate, build, plan, apply and roll out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sentinel-packer {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Microsoft Sentinel content as code."""


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    try:
        app(standalone_mode=True)
    except PackerError as exc:
        sys.stderr.write(error_details(exc))
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        sys.exit(exc.exit_code)
