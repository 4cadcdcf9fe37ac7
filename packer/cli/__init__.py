"""The command line: thin wrappers over library functions, one module per command group.

Each module in COMMAND_MODULES has `register(app)`; library errors (PackerError) become a
message on stderr and an exit code, never a traceback.
"""
from __future__ import annotations

import importlib
import logging
import sys
import traceback

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
    "packer.cli.status_cmd",
    "packer.cli.export_cmd",
    "packer.cli.github_cmd",
    "packer.cli.azdo_cmd",
    "packer.cli.rollout_cmd",
    "packer.cli.coverage_cmd",
    "packer.cli.install_cmd",
    "packer.cli.emulator_cmd",
    "packer.cli.demo_cmd",
    "packer.cli.kql_cmd",
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
    add_completion=True,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


_debug = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sentinel-packer {__version__}")
        raise typer.Exit()


def configure_logging(verbose: bool, debug: bool) -> None:
    """Default: warnings of this tool only (azure-identity's per-credential chatter is replaced by
    one error line with the fix). --verbose: this tool's progress. --debug: everything, the Azure
    SDK's requests included (azure-core redacts Authorization headers: tokens are never logged)."""
    global _debug
    _debug = debug
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger().setLevel(level)
    logging.getLogger("azure").setLevel(logging.DEBUG if debug else logging.ERROR)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what is being done."),
    debug: bool = typer.Option(False, "--debug", help="Log everything (Azure SDK requests too, never tokens); tracebacks on errors."),
) -> None:
    """Microsoft Sentinel content as code."""
    configure_logging(verbose, debug)


def _flags_without_type_label() -> None:
    """typer (0.29) labels plain on/off flags `<bool>` in --help as if they took a value."""
    from typer.core import TyperOption

    labelled = getattr(TyperOption, "display_type_rich", None)
    if labelled is None:  # older typer (the pyproject floor) prints no such label
        return

    def display_type_rich(self, ctx):
        return None if self.is_flag and self.metavar is None else labelled(self, ctx)

    TyperOption.display_type_rich = display_type_rich


_flags_without_type_label()


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    try:
        app(standalone_mode=True)
    except PackerError as exc:
        if _debug:
            traceback.print_exc()
        sys.stderr.write(error_details(exc))
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        sys.exit(exc.exit_code)
