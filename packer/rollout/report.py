"""The fleet report: per workspace what was created, updated, pruned, skipped and failed, per
wave whether it stayed within its failure threshold, and where the rollout stopped (if it did)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum

REPORT_FORMAT = "sentinel-packer/rollout-report@1"


class WorkspaceStatus(StrEnum):
    SUCCEEDED = "succeeded"  # applied (or nothing to apply), no item failed
    FAILED = "failed"  # planning, applying or some item failed
    REFUSED = "refused"  # the token's tenant did not match the inventory: nothing was sent
    NOT_STARTED = "not started"  # an earlier wave crossed its failure threshold


class PlanSource(StrEnum):
    """Which plan a workspace was rolled out with, when a reviewed plan was given."""

    NONE = ""  # no reviewed plan: planned at rollout, as always
    REVIEWED = "reviewed"  # the plan reviewed on the pull request, applied exactly
    REPLANNED = "re-planned"  # planned again at rollout; `replan_reason` says why


@dataclass(frozen=True)
class ItemFailure:
    item: str
    message: str


@dataclass(frozen=True)
class WorkspaceResult:
    name: str
    tenant: str
    wave: str
    status: WorkspaceStatus
    created: int = 0
    updated: int = 0
    pruned: int = 0
    unchanged: int = 0
    skipped: int = 0  # blocked, foreign, drift left alone, prune not asked for
    failed: int = 0
    writes: int = 0
    error: str = ""
    failures: tuple[ItemFailure, ...] = ()
    skipped_items: tuple[ItemFailure, ...] = ()  # (item, why)
    seconds: float = 0.0
    plan_source: PlanSource = PlanSource.NONE
    replan_reason: str = ""  # why the reviewed plan was not applied here

    @property
    def replanned(self) -> bool:
        return self.plan_source is PlanSource.REPLANNED

    @property
    def is_failure(self) -> bool:
        return self.status in (WorkspaceStatus.FAILED, WorkspaceStatus.REFUSED)


@dataclass(frozen=True)
class WaveResult:
    name: str
    workspaces: int
    failed: int
    allowed_failures: int
    limit: str  # as the inventory states it
    exceeded: bool
    started: bool = True


@dataclass(frozen=True)
class FleetReport:
    waves: tuple[WaveResult, ...]
    results: tuple[WorkspaceResult, ...]
    stopped_after: str | None = None  # the wave whose failures stopped the rollout
    seconds: float = 0.0
    budget: dict = field(default_factory=dict)  # per subscription: writes/deletes granted, seconds waited

    @property
    def ok(self) -> bool:
        return self.stopped_after is None and not any(r.is_failure for r in self.results)

    @property
    def within_thresholds(self) -> bool:
        """No wave crossed its failure threshold: the rollout may go on (failures are warnings)."""
        return self.stopped_after is None

    def failed_workspaces(self) -> list[WorkspaceResult]:
        return [r for r in self.results if r.is_failure]

    def totals(self) -> dict[str, int]:
        keys = ("created", "updated", "pruned", "unchanged", "skipped", "failed", "writes")
        return {k: sum(getattr(r, k) for r in self.results) for k in keys}

    def status_counts(self) -> dict[str, int]:
        return {s.value: sum(1 for r in self.results if r.status is s) for s in WorkspaceStatus}

    def replanned(self) -> list[WorkspaceResult]:
        """Workspaces where a reviewed plan was given but planned again (each with its reason)."""
        return [r for r in self.results if r.replanned]

    def applied_as_reviewed(self) -> list[WorkspaceResult]:
        return [r for r in self.results if r.plan_source is PlanSource.REVIEWED]

    def summary(self) -> str:
        t, s = self.totals(), self.status_counts()
        text = (f"Rollout {'complete' if self.ok else 'INCOMPLETE'}: {len(self.results)} workspace(s): "
                f"{s['succeeded']} succeeded, {s['failed'] + s['refused']} failed, {s['not started']} not started; "
                f"items: {t['created']} created, {t['updated']} updated, {t['pruned']} pruned, "
                f"{t['skipped']} skipped, {t['failed']} failed")
        if self.stopped_after:
            wave = next(w for w in self.waves if w.name == self.stopped_after)
            text += (f". Stopped after wave '{wave.name}': {wave.failed} failed workspace(s), "
                     f"more than its threshold of {wave.limit}")
        return text

    def to_dict(self) -> dict:
        data = asdict(self)
        data = {"format": REPORT_FORMAT, "ok": self.ok, "summary": self.summary(), "totals": self.totals(),
                "statuses": self.status_counts(), **data}
        for result in data["results"]:
            result["status"] = str(result["status"])
            result["plan_source"] = str(result["plan_source"])
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
