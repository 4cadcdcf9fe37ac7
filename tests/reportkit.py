"""A fleet plan of many workspaces without an emulator (for the fleet report's size test, its
browser test and bench/report_html.py): the fleetkit content and inventory, each workspace's
plan made of PlanItems as compute_plan would make them (creates; every tenth workspace lacks
DeviceNetworkEvents, so its Kaseya rule is blocked; every seventh has a drifted rule; one could
not be planned), and the offline coverage those plans imply."""
from __future__ import annotations

from pathlib import Path

from packer.bodies.resources import desired_resources
from packer.content.load import load_content_unchecked
from packer.coverage import offline_coverage
from packer.plan.model import Action, Plan, PlanItem
from packer.rollout.fleet_plan import FleetPlan, WorkspacePlan
from packer.targets import load_inventory
from tests.fleetkit import fleet_inventory, write_content

MISSING = "table(s) missing in this workspace: DeviceNetworkEvents"


def fleet_of(root: Path, workspaces: int = 100):
    content = load_content_unchecked(write_content(root / "content", extra_rules=20))
    (root / "targets.yaml").write_text(fleet_inventory(workspaces=workspaces, subscriptions=10))
    inventory = load_inventory(root / "targets.yaml")
    targets = list(inventory.targets)
    planned = []
    for i, target in enumerate(targets):
        tenant = inventory.tenant_of(target).name
        if i == 5:
            planned.append(WorkspacePlan(target, tenant, error="AuthorizationFailed: the client has no access"))
            continue
        items = []
        for d in desired_resources(inventory.content_for(content, target), target):
            action, reason = Action.CREATE, f"from {d.source_path}"
            if i % 10 == 3 and "Kaseya" in d.display_name and d.kind.value == "AnalyticsRule":
                action, reason = Action.BLOCKED, MISSING
            elif i % 7 == 1 and d.display_name == "Repeated logon failures":
                action, reason = Action.DRIFTED, "changed outside sentinel-packer since the last apply"
            items.append(PlanItem(d.key, d.kind.value, d.display_name, action, d.resource_type, d.resource_id,
                                  d.source_path, reason))
        planned.append(WorkspacePlan(target, tenant, Plan(target, None, "2026-12-05T00:00:00+00:00", "x", (),
                                                          tuple(items))))
    plan = FleetPlan(tuple(planned))
    plans = {w.target.name: w.plan for w in plan.workspaces if w.plan is not None}
    return plan, offline_coverage(content, inventory, targets, plans)
