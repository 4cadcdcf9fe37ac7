"""apply_plan: make exactly the writes a plan lists, in a safe order, and report per item.

- Refuses a plan computed for another workspace/repository, or one the workspace has moved
  past (the fingerprint of the watched resources' etags, re-read with list calls).
- Adopted items (not ours, equal to the content): their metadata alone is written.
- Drifted items: `on_drift` fail (refuse before writing anything) | overwrite | skip.
- Conflicts (an upgrade whose merge with workspace edits conflicts, --on-conflict fail):
  refused before writing anything.
- Prunes only with prune=True (the plan lists only items this tool and this repository own).
  Uninstalls (templates no longer in the content, our package when the content has none) always
  run: they remove Content Hub templates, never active items.
- Order: the package, its templates, parsers (rules call them), then the other creates/updates,
  then deletions (rules/queries/workbooks before the parsers they may call), then template
  uninstalls and last the package's. Exception: an old resource of
  ours that a create replaces under a new name (the services keep workbook names and function
  aliases unique) is deleted first. Inside a phase, items run
  concurrently (the client's max_concurrency); an item's own writes run in order (resource,
  then its metadata). A rule whose parser failed is skipped, not sent to fail.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable, Iterable, Mapping

from packer.apply.report import ApplyReport, ItemResult, Outcome
from packer.apply.writes import execute
from packer.content.model import ContentKind
from packer.errors import ConfigError, PackerError
from packer.plan.live import fingerprint, read_live_state, same_repository
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


class ConflictDetected(PackerError):
    """An upgrade conflicts with edits made in the workspace and --on-conflict is fail."""


def apply_plan(plan: Plan, client: WorkspaceClient, prune: bool = False, on_drift: str = "fail",
               progress: Progress | None = None, *, check_stale: bool = True) -> ApplyReport:
    """Apply `plan` to the workspace `client` talks to. `check_stale=False` only for a plan
    computed moments ago in this process (plan-and-apply), where re-listing is wasted calls."""
    if on_drift not in ON_DRIFT:
        raise ConfigError(f"--on-drift must be one of {', '.join(ON_DRIFT)}, not {on_drift!r}")
    _check_target(plan, client)
    check_conflicts(plan)
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


def check_conflicts(plan: Plan) -> None:
    """Raise, naming each field with its three values, when the plan holds merge conflicts."""
    conflicted = [i for i in plan.items if i.action is Action.CONFLICT]
    if not conflicted:
        return
    lines = [f"{i.name} ({i.key}): " + "; ".join(
        f"{c.path}: template was {c.base!r}, new template {c.ours!r}, workspace {c.theirs!r}" for c in i.conflicts)
        for i in conflicted]
    raise ConflictDetected(f"{len(conflicted)} item(s) were edited in the workspace where the new template changes "
                           "them too: " + " | ".join(lines) + ". Nothing was written. Re-run with --on-conflict "
                           "ours (take the new template's values) or --on-conflict theirs (keep the workspace's).")


def check_saved_plan(plan: Plan, client: WorkspaceClient) -> None:
    """Raise unless `plan` is for this workspace and nothing it read has changed since (a list
    call per collection). apply_plan checks the same; callers use this to refuse before output."""
    _check_target(plan, client)
    _check_fresh(plan, client)


def _check_target(plan: Plan, client: WorkspaceClient) -> None:
    planned, actual = plan.target, client.target
    if planned.workspace_id.lower() != actual.workspace_id.lower() or not same_repository(planned.repository, actual.repository):
        raise ConfigError(f"the plan is for {planned.workspace_id} (repository {planned.repository!r}), not "
                          f"{actual.workspace_id} (repository {actual.repository!r})")


def _check_fresh(plan: Plan, client: WorkspaceClient) -> None:
    """The watched resources' etags, re-read. A plan without changes writes nothing, so there is
    nothing to refuse and nothing is listed. Otherwise the lists are read again: Sentinel's list
    operations carry no collection etag and take no If-None-Match or $filter (alertRules list,
    2024-09-01 spec: `AlertRulesList` is `value` and `nextLink` only), and a GET per watched
    resource would cost one call per item instead of one per page. Each write is conditional on
    the etag it read besides (If-Match / If-None-Match), so a change after this check is still
    refused by the service, item by item."""
    if not plan.has_changes:
        return
    moved = changed_since(plan, read_live_state(client).etags())
    if moved is not None:
        raise StalePlan(f"the workspace changed since this plan was computed{moved}; run plan again and review it")


def changed_since(plan: Plan, etags: Mapping[str, str]) -> str | None:
    """None while the etags of everything `plan` watched are those it read; else what to append
    to "the workspace changed": the resources it writes that moved, in parentheses, or ""."""
    if fingerprint(etags, plan.watched) == plan.fingerprint:
        return None
    changed = changed_ids(plan, etags)
    return f" ({changed})" if changed else ""


def changed_ids(plan: Plan, etags: Mapping[str, str]) -> str:
    """Names of (up to 5) resources the plan writes whose etag is no longer the one it read."""
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
        phases: list[list[tuple[int, PlanItem]]] = [[] for _ in range(9)]
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
        """0 deletions a create waits for (a renamed workbook/parser), 1 the package, 2 its
        templates, 3 parsers, 4 other writes, 5 deletions, 6 parser deletions, 7 template
        uninstalls, 8 package uninstalls; None: nothing to write."""
        if item.action is Action.UNINSTALL:
            return 8 if item.resource_type == "contentPackages" else 7
        if item.action is Action.PRUNE:
            if not self.prune:
                return None
            if item.resource_id.lower() in self.replaced:
                return 0
            return 6 if item.kind == ContentKind.PARSER.value else 5
        if item.action is Action.DRIFTED and self.on_drift != "overwrite":
            return None
        if item.action not in (Action.CREATE, Action.UPDATE, Action.UPGRADE, Action.DRIFTED, Action.ADOPT) \
                or not item.writes:
            return None
        if item.resource_type == "contentPackages":
            return 1
        if item.resource_type == "contentTemplates":
            return 2
        return 3 if item.kind == ContentKind.PARSER.value else 4

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
        outcome = {Action.CREATE: Outcome.CREATED, Action.PRUNE: Outcome.DELETED,
                   Action.UNINSTALL: Outcome.DELETED, Action.ADOPT: Outcome.ADOPTED}.get(item.action, Outcome.UPDATED)
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
