"""What apply did, per item: a value that renders as a table and saves as JSON."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from enum import StrEnum

from packer.targets.model import Target


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    FAILED = "failed"
    ADOPTED = "adopted"  # ownership metadata written, the resource untouched (listed when any)


@dataclass(frozen=True)
class ItemResult:
    key: str
    name: str
    kind: str
    action: str  # the plan's action
    outcome: Outcome
    resource_id: str
    message: str = ""
    error_code: str = ""  # the API's own code, for failures
    writes: int = 0  # successful writes/deletes made for this item


@dataclass(frozen=True)
class ApplyReport:
    target: Target
    plan_fingerprint: str
    started_at: str
    finished_at: str
    results: tuple[ItemResult, ...]

    @property
    def counts(self) -> Counter:
        return Counter(r.outcome for r in self.results)

    @property
    def failures(self) -> tuple[ItemResult, ...]:
        return tuple(r for r in self.results if r.outcome is Outcome.FAILED)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def writes(self) -> int:
        return sum(r.writes for r in self.results)

    def summary(self) -> str:
        counts = self.counts
        text = ", ".join(f"{counts.get(o, 0)} {o.value}" for o in Outcome
                         if o is not Outcome.ADOPTED or counts.get(o))
        return f"Apply {'complete' if self.ok else 'FAILED'}: {text}"

    def to_dict(self) -> dict:
        data = asdict(self)
        for result in data["results"]:
            result["outcome"] = str(result["outcome"])
        data["counts"] = {o.value: self.counts.get(o, 0) for o in Outcome}
        data["ok"] = self.ok
        data["writes"] = self.writes
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
