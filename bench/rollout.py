"""Fleet rollout against the emulator with ARM's write limits: how close to the throttling bound?

Builds W workspaces in S subscriptions (one tenant, one wave), N analytic rules, and an emulator
whose token buckets are ARM's (writes and deletes 200 + 10/s, reads 250 + 25/s, per subscription
and principal) multiplied by --scale, so minutes stand for hours. The rollout's own budgets are
ARM's limits times the same factor. Then:
1. rollout to the empty fleet: wall time, its ratio to the lower bound the throttling allows
   (per subscription: (writes - bucket size) / refill rate; subscriptions run in parallel, so the
   bound is the slowest subscription's), requests by kind, 429s met, failed items;
2. the no-change re-run: requests by kind (target: list calls only, zero writes).
Each item is two writes (the rule, then its metadata). No assertions: it prints numbers.

--emulator-per-subscription serves each subscription from its own emulator (threads of this
process), as ARM's throttling is per subscription anyway: one emulator's per-request cost grows
with everything it stores, which would otherwise be measured instead of the rollout.

    python bench/rollout.py [--workspaces 100] [--subscriptions 10] [--items 300] [--scale 1]
                            [--parallel 20] [--emulator-per-subscription]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from packer.auth import CredentialProvider  # noqa: E402
from packer.content.load import load_content_unchecked  # noqa: E402
from packer.emulator import Emulator, EmulatorConfig  # noqa: E402
from packer.remote.client import WorkspaceClient  # noqa: E402
from packer.rollout.budget import ArmLimits, FleetBudgets  # noqa: E402
from packer.rollout.connection import FleetConnection  # noqa: E402
from packer.rollout.engine import RolloutOptions, rollout  # noqa: E402
from packer.targets import load_inventory  # noqa: E402
from tests.fleetkit import emulator_config, subscription, write_content  # noqa: E402

TENANT = "44444444-4444-4444-8444-444444444444"
COUNTERS = ("reads", "writes", "deletes", "throttled", "errors")


def inventory_text(workspaces: int, subscriptions: int) -> str:
    lines = ["repository: contoso/bench", "tenants:", "  - name: bench", f"    tenantId: {TENANT}",
             "waves:", "  - name: all", "    maxFailures: 0", "workspaces:"]
    for i in range(workspaces):
        lines += [f"  - name: ws{i:03d}", "    tenant: bench", f"    subscription: {subscription(i % subscriptions)}",
                  f"    resourceGroup: rg-{i:03d}", f"    workspace: law-{i:03d}", "    wave: all"]
    return "\n".join(lines) + "\n"


class EmulatorPerSubscription(FleetConnection):
    """A FleetConnection whose clients go to their subscription's emulator (bench only)."""

    def __init__(self, emulators: dict[str, Emulator], **kwargs):
        first = next(iter(emulators.values()))
        super().__init__(base_url=first.base_url, connection_verify=first.ca_path, **kwargs)
        self.emulators = emulators

    def client_for(self, target):
        credential = self.credentials.for_target(target)
        credential.verify()
        emulator = self.emulators[target.subscription_id]
        return WorkspaceClient(target, credential, emulator.base_url, emulator.ca_path,
                               max_concurrency=self.requests_per_workspace,
                               rate_limiter=self.budgets.for_subscription(target.subscription_id))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument("--subscriptions", type=int, default=10)
    parser.add_argument("--items", type=int, default=300, help="analytic rules per workspace (at least 3)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplier on ARM's bucket sizes and refill rates")
    parser.add_argument("--parallel", type=int, default=20, help="workspaces at once")
    parser.add_argument("--requests-per-workspace", type=int, default=4)
    parser.add_argument("--emulator-per-subscription", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-rollout-"))
    content = load_content_unchecked(write_content(work / "content", extra_rules=max(0, args.items - 3)))
    content = content.__class__(content.solution, analytic_rules=content.analytic_rules)  # rules only
    (work / "targets.yaml").write_text(inventory_text(args.workspaces, args.subscriptions))
    inventory = load_inventory(work / "targets.yaml")
    limits = ArmLimits().scaled(args.scale)
    config = emulator_config(inventory, throttling={
        "enabled": True, "scale": args.scale,
        "reads": [250, 25], "writes": [200, 10], "deletes": [200, 10]}, page_size=1000)

    with ExitStack() as stack:
        emulators = _start_emulators(config, args.emulator_per_subscription, stack)

        def connection() -> FleetConnection:
            provider = CredentialProvider(inventory, lambda tenant: next(iter(emulators.values())).credential(tenant.tenant_id))
            options = dict(budgets=FleetBudgets(limits), requests_per_workspace=args.requests_per_workspace)
            if args.emulator_per_subscription:
                return EmulatorPerSubscription(emulators, credentials=provider, **options)
            only = next(iter(emulators.values()))
            return FleetConnection(provider, only.base_url, only.ca_path, **options)

        def totals() -> dict[str, int]:
            distinct = {id(e): e for e in emulators.values()}.values()
            return {k: sum(e.counters.total()[k] for e in distinct) for k in COUNTERS}

        items = len(content.analytic_rules)
        targets = inventory.select()
        per_sub: dict[str, int] = {}
        for t in targets:
            per_sub[t.subscription_id] = per_sub.get(t.subscription_id, 0) + 2 * items
        bound = max(max(0.0, (w - limits.writes.size) / limits.writes.refill_per_second) for w in per_sub.values())
        print(f"fleet: {len(targets)} workspaces in {len(per_sub)} subscriptions x {items} rules "
              f"= {sum(per_sub.values())} writes; limits x{args.scale:g}: writes bucket {limits.writes.size:g}, "
              f"{limits.writes.refill_per_second:g}/s per subscription; lower bound {bound:.1f} s; "
              f"{len({id(e) for e in emulators.values()})} emulator(s)")

        options = RolloutOptions(parallel=args.parallel, commit="bench")
        before = totals()
        started = time.monotonic()
        report = rollout(content, inventory, targets, connection(), options)
        wall = time.monotonic() - started
        first = _delta(before, totals())
        ratio = f"{wall / bound:.2f} x the bound" if bound else "no bound: the buckets hold every write"
        print(f"rollout: {wall:.1f} s = {ratio}; {len(report.results)} workspaces, "
              f"{sum(first[k] for k in ('reads', 'writes', 'deletes')) / wall:.0f} requests/s; {report.summary()}")
        print(f"  requests: {first}; failed items: {report.totals()['failed']}")
        waits = [b["waited_seconds"] for b in report.budget.values()]
        print(f"  budget: workers waited {sum(waits):.0f} s in all for write tokens "
              f"(per subscription {min(waits):.0f}-{max(waits):.0f} s): pacing, not 429s, set the pace")

        before = totals()
        started = time.monotonic()
        again = rollout(content, inventory, targets, connection(), options)
        wall = time.monotonic() - started
        second = _delta(before, totals())
        print(f"no-change re-run: {wall:.1f} s; requests: {second}; writes in report: {again.totals()['writes']}")


def _start_emulators(config: dict, per_subscription: bool, stack: ExitStack) -> dict[str, Emulator]:
    """subscription id -> the emulator that serves it."""
    if not per_subscription:
        emulator = stack.enter_context(Emulator(EmulatorConfig.from_dict(config)))
        return {sub: emulator for sub in config["subscriptions"]}
    emulators = {}
    for sub, body in config["subscriptions"].items():
        own = {**config, "subscriptions": {sub: body},
               "workspaces": [w for w in config["workspaces"] if w["subscription"] == sub]}
        emulators[sub] = stack.enter_context(Emulator(EmulatorConfig.from_dict(own)))
    return emulators


def _delta(before: dict, after: dict) -> dict:
    return {k: after[k] - before[k] for k in after}


if __name__ == "__main__":
    main()
