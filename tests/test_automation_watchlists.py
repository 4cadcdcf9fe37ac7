"""Watchlists and automation rules end to end on the emulator (issue 20): the bundled RMM pack's
allowlist and tagging rule plan, apply, re-plan to nothing, and a changed CSV row is one write."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import yaml
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
    items = dep.client.list_collection(f"{dep.target.workspace_id}/providers/Microsoft.SecurityInsights/"
                                       "watchlists/RMMAllowlist/watchlistItems")
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


def test_an_item_edited_in_the_portal_makes_the_watchlist_drifted(dep):
    dep.apply()
    prefix = f"{dep.target.workspace_id}/providers/Microsoft.SecurityInsights/watchlists/RMMAllowlist/watchlistItems"
    item = dep.emu.store.list(prefix)[0]
    item["properties"]["itemsKeyValue"]["Tools"] = "Kaseya"
    dep.emu.store.put(item["id"], item)
    plan = dep.plan()
    drifted = _item(plan, ALLOWLIST)
    assert drifted.action is Action.DRIFTED and [c.path for c in drifted.changes] == ["items[soc-jump01]"]
    dep.apply(plan, on_drift="overwrite")
    assert dep.emu.store.get(item["id"])["properties"]["itemsKeyValue"]["Tools"] == "*"
    assert not dep.plan().has_changes


# --- the upload is a long-running operation (Watchlists.json 2024-09-01) ----------------------

def _uploading_emulator(emulator_factory, **config):
    from packer.emulator.config import DEFAULT_RESOURCE_GROUP, DEFAULT_WORKSPACE, STANDARD_TABLES
    from tests.plankit import full_tables

    return emulator_factory({"workspaces": [{"name": DEFAULT_WORKSPACE, "resource_group": DEFAULT_RESOURCE_GROUP,
                                             "tables": full_tables(*STANDARD_TABLES)}], **config})


def test_apply_waits_for_the_upload_before_the_metadata_and_a_replan_is_empty(emulator_factory, repo):
    from packer.resource_ids import ResourceRole
    from tests.plankit import deployment

    emu = _uploading_emulator(emulator_factory, watchlist_upload_polls=2, watchlist_upload_seconds=600)
    dep = deployment(emu, repo)
    plan = dep.plan()
    watchlist = _item(plan, ALLOWLIST)
    meta_id = next(w.resource_id for w in watchlist.writes if w.role is ResourceRole.METADATA).lower()
    report = dep.apply(plan)
    assert not [r for r in report.results if r.outcome.value == "failed"], report.results
    log = [(r.method, r.path.lower(), r.status) for r in list(emu.requests)]
    polls = [i for i, (m, p, _) in enumerate(log) if m == "GET" and "/watchlists/rmmallowlist/watchliststatuses/" in p]
    metadata_put = next(i for i, (m, p, _) in enumerate(log) if m == "PUT" and p == meta_id)
    assert len(polls) == 3 and polls[-1] < metadata_put  # InProgress, InProgress, Succeeded; then the metadata
    again = dep.plan()
    assert not again.has_changes, [(i.key, i.action, i.reason) for i in again.items if i.is_change]
    dep.client.close()


def test_an_upload_that_does_not_complete_fails_its_watchlist_and_writes_no_metadata(emulator_factory, repo):
    from tests.plankit import deployment

    emu = _uploading_emulator(emulator_factory, watchlist_upload_polls=1000, watchlist_upload_seconds=600)
    dep = deployment(emu, repo, operation_timeout=0)
    plan = dep.plan()
    report = dep.apply(plan)
    failed = next(r for r in report.results if r.key == ALLOWLIST)
    assert failed.outcome.value == "failed" and failed.error_code == "OperationTimedOut"
    assert "the upload of watchlist 'RMMAllowlist'" in failed.message
    meta = [w.resource_id for w in _item(plan, ALLOWLIST).writes if w.resource_id.lower() != failed.resource_id.lower()]
    assert meta and all(emu.store.get(m) is None for m in meta)
    blocked = _item(dep.plan(), ALLOWLIST)  # still uploading: nothing is planned over it
    assert blocked.action is Action.BLOCKED and "upload is still in progress" in blocked.reason
    dep.client.close()



def _applied_then_removed(emu, repo, **client_kwargs):
    from tests.plankit import deployment

    dep = deployment(emu, repo, **client_kwargs)
    dep.apply()
    (dep.root / "watchlists" / "RMMAllowlist.yaml").unlink()
    return dep


def test_a_pruned_watchlist_is_gone_when_apply_returns_and_a_replan_is_empty(emulator_factory, repo):
    """Watchlists_Delete is long-running (202 + Azure-AsyncOperation): apply --prune polls it to
    Succeeded, so the watchlist and its items are gone before the next plan reads the workspace."""
    emu = _uploading_emulator(emulator_factory, watchlist_upload_polls=2, watchlist_upload_seconds=600)
    dep = _applied_then_removed(emu, repo)
    watchlist = dep.target.workspace_id + "/providers/Microsoft.SecurityInsights/watchlists/RMMAllowlist"
    assert dep.emu.store.list(f"{watchlist}/watchlistItems/")
    plan = dep.plan()
    assert _item(plan, ALLOWLIST).action is Action.PRUNE
    seen = len(emu.requests)
    report = dep.apply(plan, prune=True)
    pruned = next(r for r in report.results if r.key == ALLOWLIST)
    assert pruned.outcome.value == "deleted", report.results
    log = [(r.method, r.path.lower(), r.status) for r in list(emu.requests)[seen:]]
    assert ("DELETE", watchlist.lower(), 202) in log
    polls = [s for m, p, s in log if m == "GET" and p.startswith(f"{watchlist.lower()}/watchliststatuses/")]
    assert len(polls) == 3  # InProgress, InProgress, Succeeded
    assert dep.emu.store.get(watchlist) is None and dep.emu.store.list(f"{watchlist}/watchlistItems/") == []
    again = dep.plan()
    assert not again.has_changes, [(i.key, i.action, i.reason) for i in again.items if i.is_change]
    dep.client.close()


def test_a_watchlist_delete_that_does_not_complete_fails_naming_the_watchlist(emulator_factory, repo):
    emu = _uploading_emulator(emulator_factory, watchlist_upload_polls=0, watchlist_upload_seconds=600)
    dep = _applied_then_removed(emu, repo)
    handlers = emu.service.handlers  # uploaded at once; from now on the service's deletes stall
    handlers.config = dataclasses.replace(handlers.config, watchlist_upload_polls=1000)
    dep.client.operation_timeout = 0
    report = dep.apply(dep.plan(), prune=True)
    failed = next(r for r in report.results if r.key == ALLOWLIST)
    assert failed.outcome.value == "failed" and failed.error_code == "OperationTimedOut"
    assert "the deletion of watchlist 'RMMAllowlist' was still InProgress" in failed.message
    again = _item(dep.plan(), ALLOWLIST)  # its metadata was kept: still ours, still to prune
    assert again.action is Action.PRUNE
    dep.client.close()


# --- the fleet: each customer its own allowlist (examples/fleet) --------------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "fleet"
CONTENT = Path(__file__).resolve().parent.parent / "content"


def _fleet(emulator_factory, tmp_path):
    from packer.connect import Endpoint, connect_fleet

    fleet_dir = tmp_path / "fleet"
    shutil.copytree(EXAMPLES, fleet_dir)
    emu = emulator_factory(yaml.safe_load((fleet_dir / "emulator.yaml").read_text(encoding="utf-8")))
    fleet = connect_fleet(fleet_dir / "targets.yaml", endpoint=Endpoint(emu.base_url, emu.ca_path, "target"))
    return emu, fleet, fleet_dir


def _hosts(emu, target) -> set[str]:
    prefix = f"{target.workspace_id}/providers/Microsoft.SecurityInsights/watchlists/RMMAllowlist/watchlistItems"
    return {b["properties"]["itemsKeyValue"]["Hostname"] for b in emu.store.list(prefix)}


def test_two_customers_get_their_own_allowlists_and_per_customer_item_diffs(emulator_factory, tmp_path):
    emu, fleet, fleet_dir = _fleet(emulator_factory, tmp_path)
    report = fleet.rollout(CONTENT)
    assert report.within_thresholds
    by_name = {t.name: t for t in fleet.targets}
    assert _hosts(emu, by_name["fabrikam-prod"]) == {"kaseya-mgmt01", "fab-helpdesk01"}
    assert _hosts(emu, by_name["northwind-dev"]) == {"nw-it-admin01", "nw-it-admin02"}
    assert _hosts(emu, by_name["contoso-soc"]) == {"soc-jump01"}  # no overlay: the content's list

    fabrikam_csv = fleet_dir / "customers" / "fabrikam" / "rmm-allowlist.csv"
    fabrikam_csv.write_text(fabrikam_csv.read_text().replace("fab-helpdesk01,Kaseya;SyncroMSP", "fab-helpdesk01,Kaseya"))
    northwind_csv = fleet_dir / "customers" / "northwind" / "rmm-allowlist.csv"
    northwind_csv.write_text(northwind_csv.read_text() + "nw-it-admin03,Level,new admin host\n")
    plan = fleet.plan(CONTENT)
    diffs = {}
    for workspace in plan.workspaces:
        item = _item(workspace.plan, ALLOWLIST)
        diffs[workspace.target.name] = (item.action, [(c.path, c.before is None, c.after is None) for c in item.changes])
    assert diffs["fabrikam-dev"] == diffs["fabrikam-prod"] == (Action.UPDATE, [("items[fab-helpdesk01]", False, False)])
    assert diffs["northwind-dev"] == diffs["northwind-prod"] == (Action.UPDATE, [("items[nw-it-admin03]", True, False)])
    assert diffs["contoso-soc"] == (Action.UNCHANGED, [])


# --- package: standalone ARM templates, as apply sends them ----------------------------------------


def test_standalone_templates_deploy_what_apply_sends(tmp_path):
    from packer.bodies.automation import automation_rule_body, watchlist_body, watchlist_create_body, watchlist_items
    from packer.package.arm_expr import Scope, deployed_resources
    from packer.package.build import build_content
    from packer.validate import load_content

    content = load_content(CONTENT, kql=False)
    result = build_content(CONTENT, tmp_path / "dist", kql=False)
    main = json.loads((tmp_path / "dist" / "Package" / "mainTemplate.json").read_text(encoding="utf-8"))
    packaged = json.dumps(main).lower()  # not packaged (docs/content-format.md)
    assert "providers/watchlists" not in packaged and "automationrules" not in packaged
    scope, values = Scope("00000000-0000-4000-8000-000000000001", "rg-soc"), {"workspace": "law-soc"}
    workspace_id = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-soc/providers/" \
                   "Microsoft.OperationalInsights/workspaces/law-soc"
    rule, watchlist = content.automation_rules[0], content.watchlists[0]
    assert "arm/automation-rules/tag-rmm-incidents.json" in {p.as_posix() for p in result.files}
    deployed = deployed_resources(json.loads((tmp_path / "dist/arm/automation-rules/tag-rmm-incidents.json").read_text()),
                                  scope, values)[0]
    assert deployed.resource_id == f"{workspace_id}/providers/Microsoft.SecurityInsights/automationRules/{rule.id}"
    assert deployed.body["properties"] == automation_rule_body(rule, workspace_id)["properties"]
    deployed = deployed_resources(json.loads((tmp_path / "dist/arm/watchlists/RMMAllowlist.json").read_text()),
                                  scope, values)[0]
    assert deployed.resource_id.endswith("/providers/Microsoft.SecurityInsights/Watchlists/RMMAllowlist")
    expected = watchlist_create_body(watchlist_body(watchlist), watchlist.columns, watchlist_items(watchlist))
    assert deployed.body["properties"] == expected["properties"]


def test_an_overlay_can_disable_the_automation_rule_for_one_workspace(tmp_path):
    from packer.targets import load_inventory
    from packer.validate import load_content, validate_paths

    inventory = tmp_path / "targets.yaml"
    inventory.write_text("""\
repository: contoso/sentinel-content
tenants:
  - name: x
    tenantId: 11111111-1111-4111-8111-111111111111
workspaces:
  - name: x
    tenant: x
    subscription: 00000000-0000-4000-8000-000000000001
    resourceGroup: rg
    workspace: law-x
    overlay:
      disable:
        - {kind: AutomationRule, name: 'Tag RMM*'}
""")
    assert validate_paths([CONTENT, inventory], kql=False).errors == []
    loaded = load_inventory(inventory)
    content = loaded.content_for(load_content(CONTENT, kql=False), loaded.targets[0])
    assert content.automation_rules == () and len(content.watchlists) == 1


def test_a_changed_search_key_is_blocked_not_written(dep):
    dep.apply()
    yaml_file = dep.root / "watchlists" / "RMMAllowlist.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("itemsSearchKey: Hostname", "itemsSearchKey: Tools"))
    csv = dep.root / "watchlists" / "RMMAllowlist.csv"
    csv.write_text("Hostname,Tools,Reason\nsoc-jump01,*,jump host\n")
    item = _item(dep.plan(), ALLOWLIST)
    assert item.action is Action.BLOCKED and "search key" in item.reason and not item.writes


def test_removed_from_the_content_they_are_pruned_with_their_items(dep):
    dep.apply()
    (dep.root / "watchlists" / "RMMAllowlist.yaml").unlink()
    (dep.root / "automation-rules" / "tag-rmm-incidents.yaml").unlink()
    plan = dep.plan()
    pruned = {i.key: i for i in plan.items if i.action is Action.PRUNE}
    assert set(pruned) == {ALLOWLIST, TAGGING}
    dep.apply(plan, prune=True)
    sentinel = f"{dep.target.workspace_id}/providers/Microsoft.SecurityInsights"
    assert dep.emu.store.list(f"{sentinel}/watchlists/") == [] and dep.emu.store.list(f"{sentinel}/automationRules/") == []
    assert not dep.plan().has_changes


def test_a_watchlist_equal_to_the_content_is_adopted_like_every_kind(dep):
    dep.apply()
    watchlist = next(d for d in dep.desired() if d.key == ALLOWLIST)
    meta = dep.client.get(watchlist.metadata_id)
    meta["properties"]["source"] = {"kind": "Solution", "name": "Microsoft Sentinel RMM", "sourceId": "azuresentinel.rmm"}
    meta["properties"].pop("customVersion", None)
    dep.client.put(watchlist.metadata_id, {"properties": meta["properties"]})
    plain = _item(dep.plan(), ALLOWLIST)
    assert plain.action is Action.FOREIGN and "--adopt takes ownership" in plain.reason
    adopted = _item(dep.plan(adopt=True), ALLOWLIST)
    assert adopted.action is Action.ADOPT and [w.resource_id for w in adopted.writes] == [watchlist.metadata_id]
    dep.apply(dep.plan(adopt=True))
    assert _item(dep.plan(), ALLOWLIST).action is Action.UNCHANGED
