"""A command's output file and its error lines: one place for the CLI and the GitHub action."""
from __future__ import annotations

from pathlib import Path

from rich.console import Console

from packer.errors import ConfigError, PackerError, ValidationFailed


def write_output(path: Path, text: str) -> None:
    """Write `text` to `path` (creating its folder); an OSError becomes a ConfigError naming the file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


def error_details(exc: PackerError) -> str:
    """What precedes the one-line error: for failed validation, every problem (as `validate` prints them)."""
    if isinstance(exc, ValidationFailed) and exc.report is not None:
        from packer.views.validation import render

        return render(exc.report, "text")
    return ""


PIPED_WIDTH = 200  # CI logs and pipes: wide enough that no table cell or summary line wraps


def make_console(stderr: bool = False) -> Console:
    """A console for reports: in a terminal, its width; piped or in CI, plain (no colour) and
    at least PIPED_WIDTH wide, whatever COLUMNS says, so names are never cut or wrapped."""
    console = Console(stderr=stderr, highlight=False)
    if console.is_terminal:
        return console
    return Console(stderr=stderr, highlight=False, width=max(console.width, PIPED_WIDTH), no_color=True)
