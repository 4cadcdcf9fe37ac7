"""Resource ids come from one module; a plan's writes say which one is the ownership metadata."""
from __future__ import annotations

from packer import resource_ids
from packer.plan.model import Plan, Write
from packer.resource_ids import ResourceRole
from packer.targets.model import Target

TARGET = Target("ws", "tenant", "sub", "rg", "law", "org/repo")


def test_ids_hang_off_the_workspace_and_its_resource_group():
    ws = TARGET.workspace_id
    assert ws == "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law"
    assert resource_ids.alert_rule_id(ws, "r1") == f"{ws}/providers/Microsoft.SecurityInsights/alertRules/r1"
    assert resource_ids.saved_search_id(ws, "p") == f"{ws}/savedSearches/p"
    assert resource_ids.workbook_id(TARGET.resource_group_id, "g") == \
        "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Insights/workbooks/g"


def test_role_of_reads_the_id_segments_not_any_substring():
    ws = TARGET.workspace_id
    assert resource_ids.role_of(resource_ids.metadata_id(ws, "AnalyticsRule-r1")) is ResourceRole.METADATA
    assert resource_ids.role_of(resource_ids.alert_rule_id(ws, "r1")) is ResourceRole.RESOURCE
    # a saved search whose name is "metadata" is not the metadata collection
    assert resource_ids.role_of(resource_ids.saved_search_id(ws, "metadata")) is ResourceRole.RESOURCE


EMPTY_PLAN = Plan(TARGET, None, "2026-01-01T00:00:00+00:00", "fp", (), ())


def test_a_saved_plan_keeps_each_writes_role_and_an_older_plan_gets_it_from_the_id():
    ws = TARGET.workspace_id
    meta = Write("PUT", resource_ids.metadata_id(ws, "AnalyticsRule-r1"), {}, None, ResourceRole.METADATA)
    data = EMPTY_PLAN.to_dict()
    data["items"] = [{"key": "AnalyticsRule/r1", "kind": "AnalyticsRule", "name": "r1", "action": "create",
                      "resource_type": "alertRule", "resource_id": resource_ids.alert_rule_id(ws, "r1"),
                      "writes": [{"method": "PUT", "resource_id": resource_ids.alert_rule_id(ws, "r1")},
                                 {"method": meta.method, "resource_id": meta.resource_id, "role": "metadata"}]}]
    roles = [w.role for w in Plan.from_dict(data).items[0].writes]
    assert roles == [ResourceRole.RESOURCE, ResourceRole.METADATA]
    del data["items"][0]["writes"][1]["role"]  # a plan saved before writes carried a role
    assert [w.role for w in Plan.from_dict(data).items[0].writes] == roles


def test_every_write_of_a_real_plan_says_what_its_id_is(emulator, tmp_path):
    """Items, their metadata, the Content Hub package and its metadata: apply reads the role, so
    a metadata write must say so (an unmarked one would lose its stored-hash stamp)."""
    from tests.conftest import CONTENT
    from tests.plankit import copy_content, deployment

    dep = deployment(emulator, copy_content(CONTENT, tmp_path))
    try:
        plan = dep.plan()
        writes = [w for item in plan.items for w in item.writes]
        assert any(w.role is ResourceRole.METADATA for w in writes)
        assert all(w.role is resource_ids.role_of(w.resource_id) for w in writes)
        report = dep.apply(plan)
        assert report.ok
        again = dep.plan()
        assert not again.has_changes, [(i.name, i.action.value, i.reason) for i in again.items if i.is_change]
    finally:
        dep.client.close()
