"""What validation finds: one Problem per defect, collected in a ValidationReport."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from packer.content.model import ContentSet

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """One defect in one file. `code` is stable (SARIF rule id); `message` says how to fix it."""

    path: Path
    line: int
    column: int
    field: str
    severity: Severity
    code: str
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


@dataclass
class ValidationReport:
    """Every problem found in a run, plus the content built from the files that had no errors."""

    problems: list[Problem] = field(default_factory=list)
    content: ContentSet = field(default_factory=lambda: ContentSet(solution=None))
    files_checked: int = 0
    kql_status: str = "skipped: not requested"

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors
