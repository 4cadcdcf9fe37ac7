"""Watchlists and automation rules end to end on the emulator (issue 20): the bundled RMM pack's
allowlist and tagging rule plan, apply, re-plan to nothing, and a changed CSV row is one write."""
from __future__ import annotations

from packer.plan.model import Action
from tests.plankit import KASEYA_RULE

ALLOWLIST = "Watchlist/RMMAllowlist"
TAGGING = "AutomationRule/5b0c6a59-1d0e-4c7a-9a3b-6f2d8e4c1a70"


def _item(plan, key):
    return next(i for i in plan.items if i.key == key)


def test_pack_applies_then_second_apply_writes_nothing(dep):
    plan = dep.plan()
    assert _item(plan, ALLOWLIST).action is Action.CREATE
    assert _item(plan, TAGGING).action is Action.CREATE
    report = dep.apply(plan)
    assert not [r for r in report.results if r.outcome.value == "failed"], report.results
    rule = dep.emu.store.get(f"{dep.target.workspace_id}/providers/Microsoft.SecurityInsights/automationRules/"
                             "5b0c6a59-1d0e-4c7a-9a3b-6f2d8e4c1a70")
    values = rule["properties"]["triggeringLogic"]["conditions"][0]["conditionProperties"]["propertyValues"]
    assert f"{dep.target.workspace_id}/providers/Microsoft.SecurityInsights/alertRules/{KASEYA_RULE}" in values
    items = dep.client.list_watchlist_items(f"{dep.target.workspace_id}/providers/Microsoft.SecurityInsights/"
                                            "watchlists/RMMAllowlist")
    assert [i["properties"]["itemsKeyValue"]["Hostname"] for i in items] == ["soc-jump01"]

    before = dep.writes()
    again = dep.plan()
    assert not again.has_changes, [(i.key, i.action, i.reason) for i in again.items if i.is_change]
    dep.apply(again)
    assert dep.writes() == before


def test_one_changed_csv_row_is_one_item_write(dep):
    csv = dep.root / "watchlists" / "RMMAllowlist.csv"
    csv.write_text(csv.read_text() + "fin-rmm01,Kaseya,finance uses Kaseya\nhr-rmm02,Level,HR helpdesk\n")
    dep.apply()
    csv.write_text(csv.read_text().replace("HR helpdesk", "HR helpdesk (2027)"))
    plan = dep.plan()
    item = _item(plan, ALLOWLIST)
    assert item.action is Action.UPDATE
    assert [c.path for c in item.changes] == ["items[hr-rmm02]"]
    item_writes = [w for w in item.writes if "/watchlistitems/" in w.resource_id.lower()]
    assert len(item_writes) == 1 and item_writes[0].method == "PUT"
    assert not [w for w in item.writes if w.resource_id.lower().endswith("/watchlists/rmmallowlist")]
    puts_before = dep.successful("PUT", "/watchlistItems/")
    dep.apply(plan)
    assert dep.successful("PUT", "/watchlistItems/") == puts_before + 1
    assert not dep.plan().has_changes
