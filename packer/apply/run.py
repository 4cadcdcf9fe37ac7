"""apply_plan: make exactly the writes a plan lists, in a safe order, and report per item.

- Refuses a plan computed for another workspace/repository, or one the workspace has moved
  past (the fingerprint of the watched resources' etags, re-read with list calls).
- Drifted items: `on_drift` fail (refuse before writing anything) | overwrite | skip.
- Prunes only with prune=True (the plan lists only items this tool and this repository own).
- Order: parsers first (rules call them), then the other creates/updates, then deletions
  (rules/queries/workbooks before the parsers they may call). Exception: an old resource of
  ours that a create replaces under a new name (the services keep workbook names and function
  aliases unique) is deleted first. Inside a phase, items run
  concurrently (the client's max_concurrency); an item's own writes run in order (resource,
  then its metadata). A rule whose parser failed is skipped, not sent to fail.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable, Iterable

from packer.apply.report import ApplyReport, ItemResult, Outcome
from packer.apply.writes import execute
from packer.content.model import ContentKind
from packer.errors import ConfigError, PackerError
from packer.plan.live import fingerprint, read_live_state
from packer.plan.model import Action, Plan, PlanItem
from packer.remote.client import WorkspaceClient
from packer.remote.errors import RemoteError
from packer.remote.normalise import content_hash
from packer.resource_ids import ResourceRole
from packer.bodies.resources import stamped_metadata

ON_DRIFT = ("fail", "overwrite", "skip")
Progress = Callable[[ItemResult], None]


class StalePlan(PackerError):
    """The workspace changed since the plan was computed."""


class DriftDetected(PackerError):
    """Items were edited outside this tool and --on-drift is fail."""


def apply_plan(plan: Plan, client: WorkspaceClient, prune: bool = False, on_drift: str = "fail",
               progress: Progress | None = None, *, check_stale: bool = True) -> ApplyReport:
    """Apply `plan` to the workspace `client` talks to. `check_stale=False` only for a plan
    computed moments ago in this process (plan-and-apply), where re-listing is wasted calls."""
    if on_drift not in ON_DRIFT:
        raise ConfigError(f"--on-drift must be one of {', '.join(ON_DRIFT)}, not {on_drift!r}")
    _check_target(plan, client)
    drifted = [i for i in plan.items if i.action is Action.DRIFTED]
    if drifted and on_drift == "fail":
        names = "; ".join(f"{i.name} ({i.key})" for i in drifted)
        raise DriftDetected(f"{len(drifted)} item(s) were changed outside sentinel-packer: {names}. Nothing was "
                            "written. Re-run with --on-drift overwrite to restore the repository's version, "
                            "or --on-drift skip to leave them.")
    if check_stale:
        _check_fresh(plan, client)
    started = _now()
    runner = _Runner(client, prune, on_drift, progress)
    results = runner.run(plan.items)
    return ApplyReport(plan.target, plan.fingerprint, started, _now(), tuple(results))


def check_saved_plan(plan: Plan, client: WorkspaceClient) -> None:
    """Raise unless `plan` is for this workspace and nothing it read has changed since (a list
    call per collection). apply_plan checks the same; callers use this to refuse before output."""
    _check_target(plan, client)
    _check_fresh(plan, client)


def _check_target(plan: Plan, client: WorkspaceClient) -> None:
    planned, actual = plan.target, client.target
    if planned.workspace_id.lower() != actual.workspace_id.lower() or planned.repository != actual.repository:
        raise ConfigError(f"the plan is for {planned.workspace_id} (repository {planned.repository!r}), not "
                          f"{actual.workspace_id} (repository {actual.repository!r})")


def _check_fresh(plan: Plan, client: WorkspaceClient) -> None:
    state = read_live_state(client)
    if fingerprint(state.etags(), plan.watched) != plan.fingerprint:
        changed = _changed_ids(plan, state.etags())
        raise StalePlan("the workspace changed since this plan was computed"
                        + (f" ({changed})" if changed else "") + "; run plan again and review it")


def _changed_ids(plan: Plan, etags: dict[str, str]) -> str:
    known = {w.resource_id.lower(): w.etag for i in plan.items for w in i.writes}
    names = [rid.rsplit("/", 1)[-1] for rid, etag in known.items() if (etags.get(rid) or None) != (etag or None)]
    return ", ".join(sorted(names)[:5])


class _Runner:
    def __init__(self, client: WorkspaceClient, prune: bool, on_drift: str, progress: Progress | None):
        self.client = client
        self.prune = prune
        self.on_drift = on_drift
        self.progress = progress
        self.failed_aliases: set[str] = set()

    def run(self, items: Iterable[PlanItem]) -> list[ItemResult]:
        items = list(items)
        self.replaced = {i.replaces.lower() for i in items if i.replaces and i.action is Action.CREATE}
        results: dict[int, ItemResult] = {}  # by position in the plan (a prune may share a key)
        phases: list[list[tuple[int, PlanItem]]] = [[], [], [], [], []]
        for index, item in enumerate(items):
            phase = self._phase(item)
            if phase is None:
                results[index] = self._report(self._no_write(item))
            else:
                phases[phase].append((index, item))
        for phase_items in phases:
            results.update(self._run_phase(phase_items))
        return [results[index] for index in sorted(results)]

    def _phase(self, item: PlanItem) -> int | None:
        """0 deletions a create waits for (a renamed workbook/parser), 1 parsers, 2 other writes,
        3 deletions, 4 parser deletions; None: nothing to write."""
        if item.action is Action.PRUNE:
            if not self.prune:
                return None
            if item.resource_id.lower() in self.replaced:
                return 0
            return 4 if item.kind == ContentKind.PARSER.value else 3
        if item.action is Action.DRIFTED and self.on_drift != "overwrite":
            return None
        if item.action not in (Action.CREATE, Action.UPDATE, Action.DRIFTED) or not item.writes:
            return None
        return 1 if item.kind == ContentKind.PARSER.value else 2

    def _run_phase(self, items: list[tuple[int, PlanItem]]) -> dict[int, ItemResult]:
        if not items:
            return {}
        with ThreadPoolExecutor(max_workers=min(self.client.max_concurrency, len(items))) as pool:
            done = pool.map(lambda entry: (entry[0], self._report(self._apply_item(entry[1]))), items)
            return dict(done)

    def _apply_item(self, item: PlanItem) -> ItemResult:
        blocked_by = sorted(set(item.calls) & self.failed_aliases)
        if blocked_by:
            return _result(item, Outcome.SKIPPED, f"skipped: parser {', '.join(blocked_by)} failed to deploy")
        done, stored_hash = 0, None
        for write in item.writes:
            metadata = write.role is ResourceRole.METADATA
            if metadata and stored_hash and write.body is not None:
                write = replace(write, body=stamped_metadata(write.body, stored_hash))
            try:
                stored = execute(self.client, write)
            except RemoteError as error:
                if item.kind == ContentKind.PARSER.value:
                    self.failed_aliases.add(_alias(item))
                what = "metadata " if metadata else ""
                return _result(item, Outcome.FAILED, f"{write.method} {what}failed: {error.code}: {error.message}",
                               error.code, done)
            if stored and not metadata:
                stored_hash = content_hash(stored)
            done += 1
        outcome = {Action.CREATE: Outcome.CREATED, Action.PRUNE: Outcome.DELETED}.get(item.action, Outcome.UPDATED)
        return _result(item, outcome, item.reason, writes=done)

    def _no_write(self, item: PlanItem) -> ItemResult:
        if item.action is Action.UNCHANGED:
            return _result(item, Outcome.UNCHANGED)
        if item.action is Action.PRUNE:
            return _result(item, Outcome.SKIPPED, "not pruned: pass --prune to delete it")
        if item.action is Action.DRIFTED:
            return _result(item, Outcome.SKIPPED, "drifted: left as edited (--on-drift skip)")
        return _result(item, Outcome.SKIPPED, f"{item.action.value}: {item.reason}")

    def _report(self, result: ItemResult) -> ItemResult:
        if self.progress is not None:
            self.progress(result)
        return result


def _alias(item: PlanItem) -> str:
    body = next((w.body for w in item.writes if w.body and "functionAlias" in (w.body.get("properties") or {})), None)
    return str(body["properties"]["functionAlias"]) if body else item.name


def _result(item: PlanItem, outcome: Outcome, message: str = "", error_code: str = "", writes: int = 0) -> ItemResult:
    return ItemResult(item.key, item.name, item.kind, item.action.value, outcome, item.resource_id, message,
                      error_code, writes)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
