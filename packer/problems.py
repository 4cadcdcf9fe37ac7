"""Problem: one defect in one file, the type every stage reports findings in.

On the ground floor (it imports nothing of the package) so that the KQL checker, the inventory
loader and validation can all report problems without importing each other."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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
