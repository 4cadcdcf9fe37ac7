"""The command line: thin wrappers over library functions, one module per command group.

Each module in COMMAND_MODULES has `register(app)`; library errors (PackerError) become a
message on stderr and an exit code, never a traceback.
"""
from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console
from typer.core import TyperGroup
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
]

try:  # typer vendors click (0.16+); older typer uses click itself
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import UsageError

EXIT_USAGE = 1  # click's default is 2, which `plan` uses for "changes": a typo must never read as "deploy"


class _Commands(TyperGroup):
    """The root group: a usage error (unknown option, missing value, bad parameter) in it or in
    any subcommand exits 1, not click's 2 (README, "Exit codes")."""

    def make_context(self, *args, **kwargs):
        with _usage_exit():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _usage_exit():
            return super().invoke(ctx)


class _usage_exit:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if isinstance(error, UsageError):
            error.exit_code = EXIT_USAGE
        return False


app = typer.Typer(
    name="sentinel-packer",
    cls=_Commands,
    help="Microsoft Sentinel content as code: validate, build, plan, apply and roll out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True, highlight=False)


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
