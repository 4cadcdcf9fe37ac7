"""Fleet plan rendering: a summary first, collapsed sections, one PR comment at most."""
from __future__ import annotations

import json

from rich.console import Console

from packer.plan.model import Action, Plan, PlanItem
from packer.rollout.fleet_plan import FleetPlan, WorkspacePlan
from packer.views.fleet_plan import fleet_plan_markdown, print_fleet_plan
from packer.targets import Target


def _fleet(workspaces: int, items: int, changed_every: int = 3) -> FleetPlan:
    planned = []
    for w in range(workspaces):
        target = Target(f"ws{w:03d}", "t", "s", "rg", f"law{w}", "repo", wave="broad")
        plan_items = tuple(
            PlanItem(f"AnalyticsRule/{i}", "AnalyticsRule", f"Rule {i}",
                     Action.CREATE if (i + w) % changed_every == 0 else Action.UNCHANGED, "alertRules", f"/x/{i}")
            for i in range(items)
        )
        planned.append(WorkspacePlan(target, "tenant", Plan(target, "c", "now", "fp", (), plan_items)))
    planned.append(WorkspacePlan(Target("broken", "t", "s", "rg", "lawx", "repo", wave="broad"), "tenant",
                                 error="AuthorizationFailed: the client | has no access"))
    return FleetPlan(tuple(planned), commit="0123456789abcdef")


def test_small_fleet_gets_a_grid_and_counts() -> None:
    plan = _fleet(workspaces=3, items=4)
    markdown = fleet_plan_markdown(plan)
    assert markdown.startswith("### sentinel-packer fleet plan @ `0123456789ab`")
    assert "| item | `ws000` | `ws001` | `ws002` | `broken` |" in markdown
    assert "could not be planned" in markdown and "client \\| has no access" in markdown
    assert plan.summary() in markdown
    totals = plan.totals()
    assert totals["create"] == sum(1 for w in range(3) for i in range(4) if (i + w) % 3 == 0)
    assert json.loads(plan.to_json())["workspaces"][3]["error"].startswith("AuthorizationFailed")
    console = Console(record=True, width=200)
    print_fleet_plan(plan, console)
    assert "Items x workspaces" in console.export_text()


def test_large_fleet_lists_workspaces_per_item_and_fits_one_comment() -> None:
    plan = _fleet(workspaces=200, items=300)
    markdown = fleet_plan_markdown(plan)
    assert len(markdown) <= 65_000
    assert "<details" in markdown and "</details>" in markdown
    assert "| Rule 0 | create in 67: `ws000`, `ws003`, `ws006`, `ws009`, `ws012`, `ws015` and 61 more |" in markdown
    small_limit = fleet_plan_markdown(plan, limit=5_000)
    assert len(small_limit) <= 5_000 and "left out to fit one comment" in small_limit
