"""Fleet rollout of automation rules against the emulator: how close to the combined bound?

Sentinel limits automation-rule writes per subscription (about 100 per 5 minutes; the emulator's
number is INFERRED: docs/emulator.md) on top of ARM's write bucket (200 + 10/s). The rollout
budgets both per subscription (packer.rollout.budget). This builds W workspaces in S
subscriptions, each receiving R analytic rules and N automation rules, and an emulator enforcing
both buckets; the automation bucket is shrunk in time (`--auto-size`, `--auto-rate`: default
20 + 4/s instead of 100 + 1/3 s) so that the run takes seconds while keeping its shape: it is
the bucket that binds. Then:
1. the rollout with both budgets: wall time and its ratio to the combined bound (per
   subscription, the larger of (ARM writes - 200) / 10 and (automation writes - size) / rate;
   subscriptions run in parallel, so the bound is the slowest subscription's), 429s met;
(A one-workspace warm-up first starts the emulator's KQL worker, which the measured runs
would otherwise pay once.)
2. with `--compare`, the same rollout on a fresh emulator with the automation budget left out
   of the client (ARM's alone): its 429s and wall time, for contrast.
No assertions: it prints numbers (docs/benchmarks.md).

    python bench/automation.py [--workspaces 10] [--subscriptions 2] [--automation-rules 24]
                               [--rules 3] [--parallel 10] [--compare]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from packer.auth import CredentialProvider  # noqa: E402
from packer.content.load import load_content_unchecked  # noqa: E402
from packer.emulator import Emulator, EmulatorConfig  # noqa: E402
from packer.rollout.budget import ArmLimits, BucketSpec, FleetBudgets  # noqa: E402
from packer.rollout.connection import FleetConnection  # noqa: E402
from packer.rollout.engine import RolloutOptions, rollout  # noqa: E402
from packer.targets import load_inventory  # noqa: E402
from bench.rollout import inventory_text  # noqa: E402
from tests.fleetkit import emulator_config, write_content  # noqa: E402

AUTOMATION_RULE = """\
id: {id}
displayName: Tag incidents of rule {i:04d}
order: {order}
triggeringLogic:
  isEnabled: true
  triggersOn: Incidents
  triggersWhen: Created
  conditions:
    - conditionType: Property
      conditionProperties:
        propertyName: IncidentTitle
        operator: Contains
        propertyValues: ['bench {i:04d}']
actions:
  - order: 1
    actionType: ModifyProperties
    actionConfiguration:
      labels: [{{labelName: bench}}]
"""


def write_automation_rules(root: Path, count: int) -> None:
    folder = root / "automation-rules"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        rule_id = uuid.UUID(int=0xA070 << 64 | i)
        (folder / f"ar_{i:04d}.yaml").write_text(AUTOMATION_RULE.format(id=rule_id, i=i, order=1 + i % 1000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=10)
    parser.add_argument("--subscriptions", type=int, default=2)
    parser.add_argument("--automation-rules", type=int, default=24, help="automation rules per workspace")
    parser.add_argument("--rules", type=int, default=3, help="analytic rules per workspace (at least 3)")
    parser.add_argument("--auto-size", type=float, default=20.0)
    parser.add_argument("--auto-rate", type=float, default=4.0, help="automation-rule writes refilled per second")
    parser.add_argument("--parallel", type=int, default=10)
    parser.add_argument("--compare", action="store_true", help="also run without the automation budget")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-automation-"))
    root = write_content(work / "content", extra_rules=max(0, args.rules - 3))
    write_automation_rules(root, args.automation_rules)
    content = load_content_unchecked(root)
    content = content.__class__(content.solution, analytic_rules=content.analytic_rules,
                                automation_rules=content.automation_rules)
    (work / "targets.yaml").write_text(inventory_text(args.workspaces, args.subscriptions))
    inventory = load_inventory(work / "targets.yaml")
    automation = BucketSpec(args.auto_size, args.auto_rate)
    limits = ArmLimits(automation_rule_writes=automation)
    throttling = {"enabled": True, "reads": [250, 25], "writes": [200, 10], "deletes": [200, 10],
                  "automation_rule_writes": [automation.size, automation.refill_per_second]}
    config = emulator_config(inventory, throttling=throttling, page_size=1000)
    targets = inventory.select()
    print(f"fleet: {len(targets)} workspaces in {args.subscriptions} subscriptions, each {len(content.analytic_rules)} "
          f"analytic rules + {len(content.automation_rules)} automation rules; buckets per subscription: ARM writes "
          f"200 + 10/s, automation-rule writes {automation.size:g} + {automation.refill_per_second:g}/s")
    # the emulator compiles rule queries with a KQL worker it starts once per process: not measured
    _run("", content, inventory, targets[:1], config, limits, args)
    _run("with the automation budget", content, inventory, targets, config, limits, args)
    if args.compare:
        unpaced = ArmLimits(automation_rule_writes=BucketSpec(1e9, 1e9))
        _run("ARM's budget alone", content, inventory, targets, config, unpaced, args)


def _run(label, content, inventory, targets, config, limits, args) -> None:
    with Emulator(EmulatorConfig.from_dict(config)) as emu:
        provider = CredentialProvider(inventory, lambda tenant: emu.credential(tenant.tenant_id))
        connection = FleetConnection(provider, emu.base_url, emu.ca_path, budgets=FleetBudgets(limits),
                                     requests_per_workspace=4)
        started = time.monotonic()
        report = rollout(content, inventory, targets, connection, RolloutOptions(parallel=args.parallel,
                                                                                 commit="bench"))
        wall = time.monotonic() - started
        if not label:
            return
        bound, detail = _bound(emu, targets, len(content.automation_rules), ArmLimits(
            automation_rule_writes=BucketSpec(args.auto_size, args.auto_rate)))
        throttled = sum(emu.counters[f"/subscriptions/{s}"]["throttled"] for s in {t.subscription_id for t in targets})
        print(f"{label}: {wall:.1f} s = {wall / bound:.2f} x the combined bound {bound:.1f} s ({detail}); "
              f"429s met: {throttled}; {report.summary()}")


def _bound(emu, targets, automation_per_workspace: int, limits: ArmLimits) -> tuple[float, str]:
    """The slowest subscription's bound: the larger of its ARM-write and automation-write bounds."""
    worst, detail = 0.0, ""
    for sub in sorted({t.subscription_id for t in targets}):
        writes = emu.counters[f"/subscriptions/{sub}"]["writes"]
        auto = automation_per_workspace * sum(1 for t in targets if t.subscription_id == sub)
        arm_bound = max(0.0, (writes - limits.writes.size) / limits.writes.refill_per_second)
        auto_bound = max(0.0, (auto - limits.automation_rule_writes.size) / limits.automation_rule_writes.refill_per_second)
        if max(arm_bound, auto_bound) > worst:
            worst = max(arm_bound, auto_bound)
            detail = (f"{writes} ARM writes -> {arm_bound:.1f} s, {auto} automation-rule writes -> {auto_bound:.1f} s "
                      "in the slowest subscription")
    return worst, detail


if __name__ == "__main__":
    main()
