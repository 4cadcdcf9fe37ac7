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
    text = console.export_text()
    assert "Items x workspaces" in text
    assert "error broken: AuthorizationFailed: the client | has no access" in text  # below the tables, on one line


def test_large_fleet_lists_workspaces_per_item_and_fits_one_comment() -> None:
    plan = _fleet(workspaces=200, items=300)
    markdown = fleet_plan_markdown(plan)
    assert len(markdown) <= 65_000
    assert "<details" in markdown and "</details>" in markdown
    assert "| Rule 0 | create in 67: `ws000`, `ws003`, `ws006`, `ws009`, `ws012`, `ws015` and 61 more |" in markdown
    small_limit = fleet_plan_markdown(plan, limit=5_000)
    assert len(small_limit) <= 5_000 and "left out to fit one comment" in small_limit


def test_at_80_columns_workspace_names_are_whole_and_errors_below_the_tables() -> None:
    plan = _fleet(workspaces=3, items=12)
    long_names = []
    for w in plan.workspaces:
        name = f"fabrikam-production-westeurope-{w.target.name}"
        long_names.append(name)
        object.__setattr__(w.target, "name", name)
    console = Console(record=True, width=80)
    print_fleet_plan(plan, console)
    lines = console.export_text().splitlines()
    for name in long_names:
        assert sum(1 for line in lines if line.startswith("│") and name in line) >= 2, name  # a row per table, whole
    assert all(len(line) <= 80 for line in lines if line[:1] in "┏┃┡│└")  # tables fit; the error line is never wrapped
    assert lines[-1].startswith("error fabrikam-production-westeurope-broken: AuthorizationFailed")
    assert "(0 everywhere: update, prune, drifted, blocked, foreign)" in lines


def test_piped_output_is_plain_and_wide_whatever_columns_says(monkeypatch) -> None:
    import io

    from packer.cli.output import PIPED_WIDTH, make_console

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr("sys.stdout", io.StringIO())
    console = make_console()
    assert not console.is_terminal and console.width >= PIPED_WIDTH and console.no_color


def test_a_grid_wider_than_the_console_is_split_never_squeezed() -> None:
    from rich.console import Console

    from packer.views.fleet_plan import print_fleet_plan

    plan = _fleet(workspaces=3, items=25, changed_every=1)
    console = Console(record=True, width=80)
    print_fleet_plan(plan, console)
    lines = console.export_text().splitlines()
    assert any(line.startswith("Items x workspaces (1-") for line in lines)
    assert all(len(line) <= 80 for line in lines if line[:1] in "┏┃┡│└")
    headers = [line for line in lines if line.startswith("┃ workspace")]
    numbers = [int(n) for header in headers for n in header.replace("┃", " ").split()[1:]]
    assert numbers == list(range(1, 26))  # every item once, in order, none folded


def test_the_pr_comment_shows_what_changes_value_by_value_once_per_identical_change() -> None:
    from packer.plan.model import FieldChange

    query_diff = "--- before\n+++ after\n@@ -1,2 +1,2 @@\n SecurityEvent\n-| where EventID == 4625\n+| where EventID in (4625, 4771)"
    changes = (FieldChange("properties.severity", "Medium", "High"),
               FieldChange("properties.query", "a", "b", text_diff=query_diff),
               FieldChange("properties.description", "old", "ping @octocat about #12 | now"))
    planned = []
    for w, severity_after in ((0, "High"), (1, "High"), (2, "Low")):
        target = Target(f"ws{w}", "t", "s", "rg", f"law{w}", "repo", wave="broad")
        item_changes = (FieldChange("properties.severity", "Medium", severity_after), *changes[1:])
        item = PlanItem("AnalyticsRule/r", "AnalyticsRule", "Logon <failures>", Action.UPDATE, "alertRules", "/x/r",
                        changes=item_changes)
        planned.append(WorkspacePlan(target, "tenant", Plan(target, "c", "now", "fp", (), (item,))))
    markdown = fleet_plan_markdown(FleetPlan(tuple(planned), commit="c"))

    assert "~ update Logon &lt;failures&gt; in ws0, ws1</summary>" in markdown  # the same change once
    assert "~ update Logon &lt;failures&gt; in ws2</summary>" in markdown
    assert '- `properties.severity`: `"Medium"` → `"High"`' in markdown
    assert "```diff\n--- before\n+++ after" in markdown and "+| where EventID in (4625, 4771)" in markdown
    assert "@octocat" not in markdown and "@\u200boctocat" in markdown and "#\u200b12" in markdown
