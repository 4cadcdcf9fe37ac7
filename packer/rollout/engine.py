"""rollout: waves in order; inside a wave, workspaces in parallel under shared per-subscription
budgets; stop before the next wave once a wave's failures cross its threshold.

Resumable by construction: each workspace is planned against what it holds, so a re-run
skips everything already applied (unchanged items cost no write). Overlays for every selected
workspace are resolved before anything is sent, so a mistake in targets.yaml writes nothing.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import Callable, Protocol

from packer.auth import TenantMismatch
from packer.content.model import ContentSet
from packer.errors import PackerError
from packer.plan.model import Adoption
from packer.rollout.connection import FleetConnection
from packer.rollout.fleet_plan import workspace_contents
from packer.rollout.reviewed import Decision, ReviewedPlan
from packer.rollout.report import FleetReport, ItemFailure, PlanSource, WaveResult, WorkspaceResult, WorkspaceStatus
from packer.targets import Inventory, Target, Wave


@dataclass(frozen=True)
class RolloutOptions:
    parallel: int = 8  # workspaces at once within a wave
    prune: bool = False
    on_drift: str = "fail"  # fail | overwrite | skip (as apply)
    on_conflict: str = "fail"  # fail | ours | theirs (as apply: upgrades of items edited in a workspace)
    max_failures: int | None = None  # overrides every wave's threshold
    commit: str | None = None
    reviewed: ReviewedPlan | None = None  # apply each workspace's reviewed plan while still valid
    adoption: Adoption = Adoption()  # --adopt / --adopt-from, as plan and apply take them


class RolloutObserver(Protocol):
    def wave_started(self, wave: Wave, targets: list[Target]) -> None: ...
    def workspace_finished(self, wave: Wave, result: WorkspaceResult) -> None: ...
    def wave_finished(self, wave: Wave, result: WaveResult) -> None: ...


class SilentObserver:
    def wave_started(self, wave: Wave, targets: list[Target]) -> None:
        pass

    def workspace_finished(self, wave: Wave, result: WorkspaceResult) -> None:
        pass

    def wave_finished(self, wave: Wave, result: WaveResult) -> None:
        pass


def rollout(content: ContentSet, inventory: Inventory, targets: list[Target], connection: FleetConnection,
            options: RolloutOptions = RolloutOptions(), observer: RolloutObserver | None = None) -> FleetReport:
    contents = workspace_contents(content, inventory, targets)
    return run_waves(inventory, targets, connection, options, observer,
                     lambda target: roll_workspace(contents[target.name], inventory, target, connection, options,
                                                   package_content=content))


WorkspaceRunner = Callable[[Target], WorkspaceResult]


def run_waves(inventory: Inventory, targets: list[Target], connection: FleetConnection, options: RolloutOptions,
              observer: RolloutObserver | None, run_one: WorkspaceRunner) -> FleetReport:
    """The rollout's wave loop for any per-workspace job (`run_one`: plan and apply one workspace,
    never raising for a workspace-level problem): waves in order, workspaces of a wave in
    parallel, no later wave once a wave crossed its failure threshold. Used by `rollout` (the
    content) and packer.rollout.install (a package zip)."""
    observer = observer or SilentObserver()
    started = time.monotonic()
    waves: list[WaveResult] = []
    results: list[WorkspaceResult] = []
    stopped_after: str | None = None
    for wave, wave_targets in inventory.by_wave(targets):
        if stopped_after is not None:
            results += [not_started(inventory, t) for t in wave_targets]
            waves.append(WaveResult(wave.name, len(wave_targets), 0, 0, _limit(wave, options), False, started=False))
            continue
        observer.wave_started(wave, wave_targets)
        # The threshold is the whole wave's, even when this run is one shard of it (--select).
        whole_wave = sum(1 for t in inventory.targets if t.wave == wave.name)
        allowed = options.max_failures if options.max_failures is not None else wave.allowed_failures(whole_wave)
        wave_results = _run_wave(wave, wave_targets, inventory, options, observer, allowed, run_one)
        results += wave_results
        failed = sum(1 for r in wave_results if r.is_failure)
        wave_result = WaveResult(wave.name, len(wave_targets), failed, allowed, _limit(wave, options), failed > allowed)
        waves.append(wave_result)
        observer.wave_finished(wave, wave_result)
        if wave_result.exceeded:
            stopped_after = wave.name
    budget = {b.subscription_id: {**b.granted, "waited_seconds": round(b.waited_seconds, 2)} for b in connection.budgets.budgets()}
    return FleetReport(tuple(waves), tuple(results), stopped_after, round(time.monotonic() - started, 3), budget)


def _limit(wave: Wave, options: RolloutOptions) -> str:
    if options.max_failures is not None:
        return f"{options.max_failures} failed workspace(s) (--max-failures)"
    return wave.describe_limit()


def _run_wave(wave: Wave, targets: list[Target], inventory: Inventory, options: RolloutOptions,
              observer: RolloutObserver, allowed_failures: int, run_one: WorkspaceRunner) -> list[WorkspaceResult]:
    """Once the wave has more failures than it allows, its verdict is known: workspaces not yet
    started stay untouched (reported `not started`; a re-run picks them up)."""
    by_name: dict[str, WorkspaceResult] = {}
    failures = [0]
    lock = threading.Lock()

    def guarded(target: Target) -> WorkspaceResult:
        with lock:
            if failures[0] > allowed_failures:
                return not_started(inventory, target)
        result = run_one(target)
        if result.is_failure:
            with lock:
                failures[0] += 1
        return result

    with ThreadPoolExecutor(max_workers=max(1, options.parallel), thread_name_prefix=f"wave-{wave.name}") as pool:
        futures = [pool.submit(guarded, t) for t in interleaved_by_subscription(targets)]
        for future in as_completed(futures):
            result = future.result()
            by_name[result.name] = result
            observer.workspace_finished(wave, result)
    return [by_name[t.name] for t in targets]


def interleaved_by_subscription(targets: list[Target]) -> list[Target]:
    """Round-robin over subscriptions: the first workers spread over every subscription's budget
    instead of queueing on one while the others sit idle (inventories list customers together)."""
    queues: dict[str, list[Target]] = {}
    for target in targets:
        queues.setdefault(target.subscription_id, []).append(target)
    order: list[Target] = []
    while any(queues.values()):
        for queue in queues.values():
            if queue:
                order.append(queue.pop(0))
    return order


def roll_workspace(content: ContentSet, inventory: Inventory, target: Target, connection: FleetConnection,
                   options: RolloutOptions,
                   package_content: ContentSet | None = None) -> WorkspaceResult:
    """Plan and apply one workspace; never raises for a workspace-level problem (it is reported).
    `content` is the workspace's (overlays applied: its active items); `package_content` the
    content before overlays, which every workspace's Content Hub package is built from."""
    from packer.apply import apply_plan
    from packer.plan.compute import compute_plan

    tenant = inventory.tenant_of(target).name
    base = WorkspaceResult(target.name, tenant, target.wave or "", WorkspaceStatus.SUCCEEDED)
    started = time.monotonic()
    try:
        with connection.client_for(target) as client:
            decision = _reviewed_decision(content, target, client, options, package_content)
            if decision is not None:
                base = replace(base, plan_source=PlanSource.REVIEWED if decision.reviewed else PlanSource.REPLANNED,
                               replan_reason=decision.reason)
            plan = decision.plan if decision is not None else None
            if plan is None:
                # tables and columns each rule reads: validation's analyses, and the analysis cache
                # for queries an overlay changed (one analysis per query for the whole fleet)
                plan = compute_plan(content, target, client, options.commit,
                                    package_content=package_content, on_conflict=options.on_conflict,
                                    adopt=options.adoption.adopt, adopt_from=options.adoption.adopt_from)
            # check_stale=False: a fresh plan was computed just now, a reviewed one checked just now
            report = apply_plan(plan, client, prune=options.prune, on_drift=options.on_drift, check_stale=False)
    except TenantMismatch as exc:
        return replace(base, status=WorkspaceStatus.REFUSED, error=str(exc), seconds=since(started))
    except PackerError as exc:
        return replace(base, status=WorkspaceStatus.FAILED, error=str(exc), seconds=since(started))
    return replace(from_apply_report(base, report), seconds=since(started))


def _reviewed_decision(content: ContentSet, target: Target, client, options: RolloutOptions,
                       package_content: ContentSet | None) -> Decision | None:
    """The reviewed plan's verdict for this workspace (packer.rollout.reviewed), or None without one."""
    if options.reviewed is None:
        return None
    from packer.plan.live import read_live_state
    from packer.rollout.fleet_plan import content_digest
    from packer.rollout.reviewed import decide

    return decide(options.reviewed.entry(target.name), target, content_digest(content, target, package_content),
                  lambda: read_live_state(client).etags(), tool_version=options.reviewed.tool_version,
                  on_conflict=options.on_conflict, adoption=options.adoption)


def from_apply_report(base: WorkspaceResult, report) -> WorkspaceResult:
    from packer.apply.report import Outcome

    counts = report.counts
    skipped_items = tuple(
        ItemFailure(f"{r.kind} {r.name}", r.message or f"{r.action}: not applied")
        for r in report.results if r.outcome is Outcome.SKIPPED
    )
    failures = tuple(ItemFailure(f"{r.kind} {r.name}", r.message or r.error_code) for r in report.failures)
    uninstalled = sum(1 for r in report.results if r.outcome is Outcome.DELETED and r.action == "uninstall")
    return replace(
        base,
        status=WorkspaceStatus.FAILED if failures else WorkspaceStatus.SUCCEEDED,
        created=counts.get(Outcome.CREATED, 0),
        # a template removed from the package (uninstall) updates the package; pruned: active items;
        # an adopted item had its metadata updated
        updated=counts.get(Outcome.UPDATED, 0) + counts.get(Outcome.ADOPTED, 0) + uninstalled,
        pruned=counts.get(Outcome.DELETED, 0) - uninstalled,
        unchanged=counts.get(Outcome.UNCHANGED, 0),
        skipped=len(skipped_items),
        failed=len(failures),
        writes=report.writes,
        failures=failures,
        skipped_items=skipped_items,
    )


def not_started(inventory: Inventory, target: Target) -> WorkspaceResult:
    return WorkspaceResult(target.name, inventory.tenant_of(target).name, target.wave or "", WorkspaceStatus.NOT_STARTED)


def since(started: float) -> float:
    return round(time.monotonic() - started, 3)
