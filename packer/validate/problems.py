"""What validation finds: one Problem per defect (packer.problems), collected in a ValidationReport."""
from __future__ import annotations

from dataclasses import dataclass, field

from packer.content.model import ContentSet
from packer.problems import ERROR, WARNING, Problem, Severity

__all__ = ["ERROR", "WARNING", "Problem", "Severity", "ValidationReport"]


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
