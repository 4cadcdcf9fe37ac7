"""Export of automation rules and watchlists: made in a workspace without sentinel-packer (the
real client against the emulator), exported, validated, then planned with --adopt: adopted
(metadata only), nothing else to change; watchlist values CSV handles badly come back unchanged."""
from __future__ import annotations

import uuid
from types import SimpleNamespace

import yaml
from typer.testing import CliRunner

from packer import resource_ids
from packer.cli import app
from packer.connect import Endpoint, connect_fleet
from packer.content.model import WatchlistRow
from packer.content.watchlist_csv import read_items, to_csv
from packer.export import export_workspace
from packer.export.convert import NotExportable, automation_rule_document, watchlist_document
from packer.plan.model import Action
from packer.remote.client import WorkspaceClient
from packer.resource_ids import ResourceRole
from packer.rollout.fleet_plan import plan_fleet
from packer.targets import load_inventory
from packer.validate import load_content
from tests.fleetkit import emulator_config, fleet_inventory
from tests.plankit import KASEYA_RULE, deployment

TAGGING = "6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
HOSTILE = ["a, b", 'say "hi"', "two\nlines", "=HYPERLINK(\"http://x\")", "+1", "-cmd|' /C calc'!A0", "@SUM(A1)",
           "ünïcödé ✓", "'quoted'", "tab\there", ""]


def _rule_id(dep, name: str) -> str:
    return resource_ids.alert_rule_id(dep.target.workspace_id, name)


def _automation_rule(dep) -> dict:
    """As the portal makes one: conditions naming this workspace's rules by resource id, a
    Boolean group, an expiry left empty (null), two actions."""
    same = {"propertyName": "IncidentRelatedAnalyticRuleIds", "operator": "Contains",
            "propertyValues": [_rule_id(dep, KASEYA_RULE)]}
    return {"properties": {
        "displayName": "Triage RMM incidents", "order": 3,
        "triggeringLogic": {"isEnabled": True, "triggersOn": "Incidents", "triggersWhen": "Created",
                            "expirationTimeUtc": None,
                            "conditions": [
                                {"conditionType": "Property", "conditionProperties": same},
                                {"conditionType": "Boolean", "conditionProperties": {"operator": "Or", "innerConditions": [
                                    {"conditionType": "Property", "conditionProperties": {
                                        "propertyName": "IncidentSeverity", "operator": "Equals",
                                        "propertyValues": ["High"]}},
                                    {"conditionType": "Property", "conditionProperties": {
                                        "propertyName": "IncidentTitle", "operator": "Contains",
                                        "propertyValues": ["Kaseya"]}}]}}]},
        "actions": [
            {"order": 1, "actionType": "ModifyProperties",
             "actionConfiguration": {"severity": "High", "labels": [{"labelName": "RMM"}], "owner": None}},
            {"order": 2, "actionType": "AddIncidentTask",
             "actionConfiguration": {"title": "Ask the host owner", "description": "Is the RMM tool sanctioned?"}}]}}


def _watchlist(dep, alias: str, rows: list[dict[str, str]], source: str = "hosts.csv") -> str:
    """A watchlist uploaded from a local CSV with its first row, the others added one by one."""
    watchlist = resource_ids.watchlist_id(dep.target.workspace_id, alias)
    first = rows[0]
    dep.client.put(watchlist, {"properties": {
        "displayName": f"{alias} list", "provider": "Contoso SOC", "source": source, "sourceType": "Local",
        "description": "hosts and why", "itemsSearchKey": "Hostname", "labels": ["RMM", "allow"],
        "contentType": "text/csv", "numberOfLinesToSkip": 0,
        "rawContent": to_csv(tuple(first), (WatchlistRow(first),))}}, create=True)
    for row in rows[1:]:
        item = resource_ids.watchlist_item_id(watchlist, str(uuid.uuid4()))
        dep.client.put(item, {"properties": {"itemsKeyValue": row}}, create=True)
    return watchlist


def test_automation_rules_and_watchlists_export_validate_and_plan_as_adopt_only(emulator, tmp_path):
    dep = deployment(emulator, tmp_path / "unused")
    dep.client.put(resource_ids.automation_rule_id(dep.target.workspace_id, TAGGING), _automation_rule(dep),
                   create=True)
    _watchlist(dep, "SanctionedHosts", [{"Hostname": "soc-jump01", "Tools": "*", "Reason": "SOC testing"},
                                        {"Hostname": "fin-rmm01", "Tools": "Kaseya", "Reason": "finance"}])

    export = export_workspace(dep.client, tmp_path / "out")

    assert not export.not_exportable
    assert sorted((i.kind, i.lossless) for i in export.items) == [("AutomationRule", True), ("Watchlist", True)]
    content = tmp_path / "out" / "content"
    rule = yaml.safe_load(next((content / "automation-rules").glob("*.yaml")).read_text(encoding="utf-8"))
    values = rule["triggeringLogic"]["conditions"][0]["conditionProperties"]["propertyValues"]
    assert values == [KASEYA_RULE]  # this workspace's rule id, written as the rule's GUID
    assert "expirationTimeUtc" not in rule["triggeringLogic"]
    assert (content / "watchlists" / "hosts.csv").read_text(encoding="utf-8") == (
        "Hostname,Tools,Reason\nfin-rmm01,Kaseya,finance\nsoc-jump01,*,SOC testing\n")

    validated = CliRunner().invoke(app, ["validate", str(content)])
    assert validated.exit_code == 0, validated.output

    plan = deployment(emulator, content).plan(adopt=True)
    assert {i.key: i.action for i in plan.items} == {f"AutomationRule/{TAGGING}": Action.ADOPT,
                                                     "Watchlist/SanctionedHosts": Action.ADOPT}
    assert {w.role for i in plan.items for w in i.writes} == {ResourceRole.METADATA}
    report = dep.apply(plan)
    assert report.ok, report.summary()
    assert not deployment(emulator, content).plan().has_changes


def test_watchlist_values_csv_handles_badly_come_back_unchanged(emulator, tmp_path):
    dep = deployment(emulator, tmp_path / "unused")
    rows = [{"Hostname": f"host{n:02d}", "Note": value, "Owner": value[::-1]} for n, value in enumerate(HOSTILE)]
    _watchlist(dep, "Hostile", rows)

    export = export_workspace(dep.client, tmp_path / "out")

    assert [(i.kind, i.lost, i.problems) for i in export.items] == [("Watchlist", (), ())]
    items = read_items(tmp_path / "out" / "content" / "watchlists" / "hosts.csv")
    assert [dict(r.values) for r in items.rows] == rows  # every value as it was, character for character
    plan = deployment(emulator, tmp_path / "out" / "content").plan()
    assert [(i.key, i.action) for i in plan.items] == [("Watchlist/Hostile", Action.ADOPT)]


def test_two_watchlists_of_one_source_name_each_keep_their_items(emulator, tmp_path):
    dep = deployment(emulator, tmp_path / "unused")
    _watchlist(dep, "First", [{"Hostname": "a", "Why": "1"}], source="export.csv")
    _watchlist(dep, "Second", [{"Hostname": "b", "Why": "2"}], source="export.csv")

    export = export_workspace(dep.client, tmp_path / "out")

    lost = {i.name: [(c.path, c.before, c.after) for c in i.lost] for i in export.items}
    assert lost["First list"] == []  # the first keeps the source's name; the second cannot
    assert [path for path, before, _ in lost["Second list"]] == ["properties.source"]
    assert not any(i.problems for i in export.items)


def _live_watchlist(props: dict, items: list[dict]) -> tuple[dict, None, list[dict]]:
    body = {"id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/w/providers/"
                  "Microsoft.SecurityInsights/watchlists/Hosts", "name": "Hosts",
            "properties": {"displayName": "Hosts", "itemsSearchKey": "Hostname", "source": "h.csv", **props}}
    return body, None, [{"properties": {"itemsKeyValue": values}} for values in items]


def test_what_the_content_cannot_hold_is_named_not_written():
    storage = watchlist_document(*_live_watchlist({"sourceType": "AzureStorage"}, []))
    keyless = watchlist_document(*_live_watchlist({}, [{"Hostname": "a"}, {"Hostname": ""}]))
    twice = watchlist_document(*_live_watchlist({}, [{"Hostname": "a"}, {"Hostname": "A"}]))
    named = automation_rule_document({"id": "/x/automationRules/my-rule", "name": "my-rule",
                                      "properties": {"displayName": "Mine"}}, None)
    assert all(isinstance(d, NotExportable) for d in (storage, keyless, twice, named))
    assert "Azure Storage" in storage.reason
    assert "has no Hostname" in keyless.reason and "already the key" in twice.reason
    assert "not a GUID" in named.reason


def test_a_value_the_csv_format_cannot_keep_is_reported_lost(emulator, tmp_path):
    dep = deployment(emulator, tmp_path / "unused")
    _watchlist(dep, "Padded", [{"Hostname": "a", "Why": "fine"}, {"Hostname": "b", "Why": "  padded  "}])

    export = export_workspace(dep.client, tmp_path / "out")

    (item,) = export.items
    assert [(c.path, c.before, c.after) for c in item.lost] == [("items.b.Why", "  padded  ", "padded")]


# --- the fleet ------------------------------------------------------------------------------------


def test_a_fleet_exports_one_watchlist_with_a_workspaces_own_items_and_forks_a_changed_rule(tmp_path,
                                                                                            emulator_factory):
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=3, subscriptions=1))
    inventory = load_inventory(tmp_path / "targets.yaml")
    emulator = emulator_factory(emulator_config(inventory))
    rows = [{"Hostname": "soc-jump01", "Tools": "*", "Reason": "SOC testing"}]
    for target in inventory.targets:  # made in each workspace without sentinel-packer
        credential = emulator.credential(inventory.tenant_of(target).token_tenant_id)
        with WorkspaceClient(target, credential, emulator.base_url, emulator.ca_path) as client:
            here = SimpleNamespace(target=target, client=client)
            rule = _automation_rule(here)
            if target.name == "ws02":
                rule["properties"]["order"] = 7  # overlays cannot set an automation rule's order
            client.put(resource_ids.automation_rule_id(target.workspace_id, TAGGING), rule, create=True)
            own = [{"Hostname": "fin-rmm01", "Tools": "Kaseya", "Reason": "finance"}] if target.name == "ws01" else []
            _watchlist(here, "SanctionedHosts", rows + own)
    fleet = connect_fleet(tmp_path / "targets.yaml", endpoint=Endpoint(emulator.base_url, emulator.ca_path, "target"))

    export = fleet.export(tmp_path / "export")

    assert all(w.lossless for w in export.workspaces), [(w.target.name, i.name, i.lost, i.problems)
                                                        for w in export.workspaces for i in w.items if not i.lossless]
    sentences = sorted(i.sentence() for i in export.items)
    assert sentences[0].startswith("AutomationRule 'Triage RMM incidents' exists in 3 workspace(s); 2 identical, "
                                   "1 differ in what overlays cannot express (ws02: order, kept in forks/ws02/")
    assert sentences[1] == "Watchlist 'SanctionedHosts list' exists in 3 workspace(s); 2 identical, 1 differ only in items"
    assert len(list((export.content_root / "watchlists").glob("*.yaml"))) == 1
    generated = yaml.safe_load(export.targets_file.read_text(encoding="utf-8"))
    overlays = {w["name"]: w.get("overlay", {}) for w in generated["workspaces"]}
    assert overlays["ws01"] == {"watchlists": {"SanctionedHosts": "watchlist-items/ws01/SanctionedHosts.csv"}}
    assert overlays["ws02"] == {"disable": [{"id": TAGGING, "kind": "AutomationRule"}]}
    assert (tmp_path / "export" / "forks" / "ws02" / "automation-rules").is_dir()

    exported = load_inventory(export.targets_file)
    content = load_content(export.content_root, kql=False)
    plan = plan_fleet(content, exported, list(exported.targets), fleet.connection, commit="c1")
    assert not plan.errors
    actions = {(w.target.name, i.key): i.action for w in plan.workspaces for i in w.plan.items}
    assert set(actions.values()) == {Action.ADOPT}
    assert (("ws02", f"AutomationRule/{TAGGING}") not in actions) and len(actions) == 5  # ws02's own rule: left alone


def test_only_this_workspaces_rule_ids_become_bare_guids():
    here = "/subscriptions/s/resourceGroups/g/providers/Microsoft.OperationalInsights/workspaces/w"
    other = here.replace("/w", "/elsewhere")
    ids = [resource_ids.alert_rule_id(here, KASEYA_RULE), resource_ids.alert_rule_id(other, KASEYA_RULE),
           resource_ids.alert_rule_id(here, "not-a-guid")]
    condition = {"conditionType": "Property", "conditionProperties": {
        "propertyName": "AlertAnalyticRuleIds", "operator": "Contains", "propertyValues": ids}}
    body = {"id": resource_ids.automation_rule_id(here, TAGGING), "name": TAGGING, "properties": {
        "displayName": "Nested", "order": 1, "actions": [],
        "triggeringLogic": {"isEnabled": True, "triggersOn": "Alerts", "triggersWhen": "Created", "conditions": [
            {"conditionType": "Boolean", "conditionProperties": {"operator": "And",
                                                                 "innerConditions": [condition, condition]}}]}}}

    doc = automation_rule_document(body, None).document

    inner = doc["triggeringLogic"]["conditions"][0]["conditionProperties"]["innerConditions"]
    assert [c["conditionProperties"]["propertyValues"] for c in inner] == [[KASEYA_RULE, *ids[1:]]] * 2
