"""Error types a user can act on. The CLI turns them into messages and exit codes."""
from __future__ import annotations

from pathlib import Path

EXIT_NO_CHANGES, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2  # plan's exit codes, as `terraform plan -detailed-exitcode`


class PackerError(Exception):
    """Base of every error this tool raises on purpose (never shown as a traceback)."""

    exit_code = 1


class ContentError(PackerError):
    """A content file cannot be used; names the file, line, column and field."""

    def __init__(self, path: Path | str, line: int, column: int, field: str, message: str):
        self.path = Path(path)
        self.line = line
        self.column = column
        self.field = field
        self.message = message
        where = f"{self.path}:{line}:{column}"
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


class ValidationFailed(PackerError):
    """Validation found errors; nothing may be written anywhere. `report` holds every problem."""

    def __init__(self, error_count: int, report: object | None = None):
        self.error_count = error_count
        self.report = report  # packer.validate.ValidationReport (typed loosely: errors.py imports nothing)
        super().__init__(f"validation failed with {error_count} error(s); fix them before building or deploying")


class ConfigError(PackerError):
    """A targets file, plan file or command-line setting is unusable."""
