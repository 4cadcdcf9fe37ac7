"""A command's output file and its error lines: one place for the CLI and the GitHub action."""
from __future__ import annotations

from pathlib import Path

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
