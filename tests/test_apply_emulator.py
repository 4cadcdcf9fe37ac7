"""apply against the emulator with the real SDK clients (issue 5, "How it is checked")."""
from __future__ import annotations

import re

import pytest

from packer.apply import DriftDetected, Outcome, StalePlan, apply_plan
from packer.plan.compute import AllForeign
from packer.plan.model import Action, Plan
from packer.remote.normalise import normalise
from packer.bodies.resources import OWNER_PREFIX, ResourceType, parse_stamp
from tests.conftest import CONTENT
from tests.plankit import KASEYA_RULE, MESH_RULE, REPOSITORY, copy_content, deployment, edit, full_tables

ITEMS = 12  # the bundled content's packaged items
UNPACKAGED = 2  # its watchlist and automation rule: deployed, not in the package (docs/content-format.md)
# the package, one template per item, the active items (docs/content-hub.md), the unpackaged items
INSTALLED = 1 + ITEMS + ITEMS + UNPACKAGED

# What the services add to a stored body beyond what we send (server fields and defaults).
SERVER_ADDED = {"lastModifiedUtc", "timeModified", "userId", "revision", "incidentConfiguration",
                "eventGroupingSettings", "version", "storageUri"}


def test_empty_workspace_gets_exactly_the_rendered_bodies_and_a_second_apply_writes_nothing(dep, emulator):
    report = dep.apply()

    assert report.ok and report.counts[Outcome.CREATED] == INSTALLED
    for desired in dep.packaged():  # watchlists and automation rules: tests/test_automation_watchlists.py
        stored = emulator.store.get(desired.resource_id)
        assert stored is not None, desired.key
        sent, kept = desired.body["properties"], stored["properties"]
        for key, value in sent.items():
            expected = value.lower() if key == "sourceId" else value  # the workbook service lower-cases it
            assert kept[key] == expected, (desired.key, key)
        assert set(kept) - set(sent) <= SERVER_ADDED, desired.key
        assert normalise(stored) == normalise(desired.body)
        metadata = emulator.store.get(desired.metadata_id)["properties"]
        assert metadata["parentId"] == desired.resource_id
        assert metadata["source"]["kind"] == "Solution"  # Content Hub's link; our mark is in customVersion
        assert metadata["customVersion"].startswith(f"{OWNER_PREFIX}{REPOSITORY}:{desired.source_path}@c0ffee ")
        assert parse_stamp(metadata["customVersion"]) == (desired.content_hash, desired.content_hash)
    rule = emulator.store.get(dep.client.sentinel_collection("alertRules") + f"/{KASEYA_RULE}")["properties"]
    assert (rule["alertRuleTemplateName"], rule["templateVersion"]) == (KASEYA_RULE, "1.0.0")

    writes = dep.writes()
    second = dep.apply()
    assert dep.writes() == writes
    assert second.counts[Outcome.UNCHANGED] == INSTALLED and second.writes == 0
    assert not dep.plan().has_changes


def test_parsers_are_deployed_before_rules(dep, emulator):
    dep.apply()
    puts = [r.path.lower() for r in emulator.requests if r.method == "PUT" and r.status < 300]
    parser_put = next(i for i, p in enumerate(puts) if p.endswith("/savedsearches/rmmtoolactivity"))
    assert all(i > parser_put for i, p in enumerate(puts) if "/alertrules/" in p)


def test_editing_one_yaml_field_updates_exactly_that_item(dep, emulator, repo):
    dep.apply()
    edit(repo / "analytic-rules" / "rmm_Kaseya_netconn.yaml", r"^severity: Medium$", "severity: High")

    plan = dep.plan()
    changed = [i for i in plan.items if i.is_change]
    assert [(i.key, i.action) for i in changed] == [(f"Template/AnalyticsRule/{KASEYA_RULE}", Action.UPDATE),
                                                   (f"AnalyticsRule/{KASEYA_RULE}", Action.UPDATE)]
    assert [(c.path, c.before, c.after) for c in changed[1].changes] == [("properties.severity", "Medium", "High")]

    writes = dep.writes()
    report = dep.apply(plan)
    assert report.ok and dep.writes() - writes == 3  # its template, the rule and its metadata
    assert emulator.store.get(changed[1].resource_id)["properties"]["severity"] == "High"
    assert not dep.plan().has_changes


def test_kql_changes_show_as_a_text_diff(dep, repo):
    dep.apply()
    edit(repo / "analytic-rules" / "rmm_Kaseya_netconn.yaml", r"'stun\.kaseya\.com',", "'stun.kaseya.com', 'vsa.kaseya.net',")
    item = next(i for i in dep.plan().items if i.is_change and i.kind == "AnalyticsRule")
    query = next(c for c in item.changes if c.path == "properties.query")
    assert "-        'stun.kaseya.com'," in query.text_diff
    assert "+        'stun.kaseya.com', 'vsa.kaseya.net'," in query.text_diff


def _portal_edit(emulator, resource_id: str, **properties) -> dict:
    body = emulator.store.get(resource_id)
    body["properties"].update(properties)
    return emulator.store.put(resource_id, body)


def test_portal_edit_is_drifted_and_handled_per_on_drift(dep, emulator):
    dep.apply()
    rule_id = dep.client.sentinel_collection("alertRules") + f"/{MESH_RULE}"
    _portal_edit(emulator, rule_id, severity="Low", enabled=False)

    plan = dep.plan()
    drifted = [i for i in plan.items if i.action is Action.DRIFTED]
    assert [i.resource_id for i in drifted] == [rule_id]
    assert {c.path for c in drifted[0].changes} == {"properties.severity", "properties.enabled"}

    writes = dep.writes()
    with pytest.raises(DriftDetected, match="RMM tool abuse - MeshCentral"):
        dep.apply(plan, on_drift="fail")
    assert dep.writes() == writes

    skipped = dep.apply(plan, on_drift="skip")
    assert [r.outcome for r in skipped.results if r.resource_id == rule_id] == [Outcome.SKIPPED]
    assert emulator.store.get(rule_id)["properties"]["severity"] == "Low" and dep.writes() == writes

    restored = dep.apply(dep.plan(), on_drift="overwrite")
    assert restored.ok and emulator.store.get(rule_id)["properties"]["severity"] == "Medium"
    assert not dep.plan().has_changes


def test_deleted_yaml_is_pruned_only_with_prune(dep, emulator, repo):
    dep.apply()
    (repo / "hunting-queries" / "rmm_Level_netconn.yaml").unlink()
    (repo / "analytic-rules" / "rmm_Level_netconn.yaml").unlink()

    plan = dep.plan()
    prunes = [i for i in plan.items if i.action is Action.PRUNE]
    assert len(prunes) == 2 and all(i.source_path.endswith("rmm_Level_netconn.yaml") for i in prunes)

    kept = dep.apply(plan)
    assert {r.outcome for r in kept.results if r.action == "prune"} == {Outcome.SKIPPED}
    assert all(emulator.store.get(i.resource_id) is not None for i in prunes)

    pruned = dep.apply(dep.plan(), prune=True)
    assert pruned.ok and {r.outcome for r in pruned.results if r.action == "prune"} == {Outcome.DELETED}
    for item in prunes:
        assert emulator.store.get(item.resource_id) is None
        assert all(emulator.store.get(w.resource_id) is None for w in item.writes)
    assert not dep.plan().has_changes


def test_a_prune_under_a_stale_etag_is_refused_and_keeps_the_edit(dep, emulator, repo):
    """The prune's DELETE carries the etag the plan read: an edit made after the plan (a rollout
    applies without the stale-plan check) makes it fail, never deletes the edited rule."""
    dep.apply()
    (repo / "analytic-rules" / "rmm_Level_netconn.yaml").unlink()
    plan = dep.plan()
    (pruned,) = [i for i in plan.items if i.action is Action.PRUNE]
    live = emulator.store.get(pruned.resource_id)
    edited = emulator.store.put(pruned.resource_id, {**live, "properties": {**live["properties"], "severity": "High"}})
    report = dep.apply(plan, prune=True, check_stale=False)
    assert not report.ok and [r.outcome for r in report.results if r.action == "prune"] == [Outcome.FAILED]
    assert emulator.store.get(pruned.resource_id)["etag"] == edited["etag"]


def test_foreign_resources_are_never_touched(dep, emulator, repo):
    rules = dep.client.sentinel_collection("alertRules")
    mine = next(d for d in dep.desired() if d.key == f"AnalyticsRule/{KASEYA_RULE}")
    same_name = emulator.store.put(f"{rules}/11111111-2222-4333-8444-555555555555",
                                   {"kind": "Scheduled", "properties": {**mine.body["properties"], "severity": "Low"}})
    mesh = next(d for d in dep.desired() if d.key == f"AnalyticsRule/{MESH_RULE}")
    same_id = emulator.store.put(mesh.resource_id, {"kind": "Scheduled", "properties": {
        **mesh.body["properties"], "displayName": "Hand-made MeshCentral rule"}})

    plan = dep.plan()
    foreign = {i.key: i for i in plan.items if i.action is Action.FOREIGN}
    assert set(foreign) == {mine.key, mesh.key}
    assert "already has this name" in foreign[mine.key].reason and "not ours" in foreign[mesh.key].reason

    report = dep.apply(plan, prune=True)
    assert report.ok
    assert emulator.store.get(same_name["id"])["etag"] == same_name["etag"]
    assert emulator.store.get(mesh.resource_id)["etag"] == same_id["etag"]
    assert emulator.store.get(mine.resource_id) is None  # ours is not created beside theirs
    assert emulator.store.get(mesh.metadata_id) is None


def test_items_owned_by_another_repository_are_foreign_and_never_pruned(dep, emulator):
    dep.apply()
    other = deployment(emulator, dep.root, repository="someone/else")
    writes = dep.writes()
    try:  # every item foreign: an error naming the owner (issue 14), never a green no-op
        with pytest.raises(AllForeign, match=f"from repository '{REPOSITORY}'"):
            other.apply(prune=True)
    finally:
        other.client.close()
    assert dep.writes() == writes


def test_prune_beside_another_repositorys_and_unowned_content_deletes_only_our_own(dep, emulator, repo, tmp_path):
    """The ownership check of the planner's prune step (issue 24, surviving mutation 1): with
    --prune and --on-drift overwrite, only what this repository deployed and no longer has goes.
    Another repository's items and portal-made ones are absent from our content, so without the
    check they would all be prune candidates."""
    for kind in ("analytic-rules", "hunting-queries"):
        (repo / kind / "rmm_Level_netconn.yaml").unlink()
    assert dep.apply().ok  # ours: everything but Level

    other_root = copy_content(CONTENT, tmp_path / "other")
    for path in other_root.glob("*/*"):
        if path.parent.name != "parsers" and "Level" not in path.name:
            path.unlink()
    other = deployment(emulator, other_root, repository="someone/else")
    try:
        assert other.apply().ok  # theirs: Level only
    finally:
        other.client.close()
    rules = dep.client.sentinel_collection("alertRules")
    metadata = dep.client.sentinel_collection("metadata")
    hand_made = emulator.store.put(f"{rules}/99999999-2222-4333-8444-555555555555", {"kind": "Scheduled", "properties": {
        "displayName": "Made in the portal", "enabled": True, "query": "SecurityEvent | take 1", "queryFrequency": "PT1H",
        "queryPeriod": "PT1H", "severity": "Low", "triggerOperator": "GreaterThan", "triggerThreshold": 0,
        "suppressionDuration": "PT5H", "suppressionEnabled": False}})
    hub_metadata = emulator.store.put(f"{metadata}/hub-rule", {"properties": {
        "parentId": hand_made["id"], "kind": "AnalyticsRule", "contentId": "hub-rule",
        "source": {"kind": "Solution", "name": "Some Solution", "sourceId": "azuresentinel.some-solution"}}})
    foreign = {r["id"]: r["etag"] for r in emulator.store.iter_under(rules) if r["id"] != hand_made["id"]}
    foreign = {rid: etag for rid, etag in foreign.items()
               if "Level" in emulator.store.get(rid)["properties"]["displayName"]}
    assert len(foreign) == 1  # the other repository's Level rule

    (repo / "hunting-queries" / "rmm_Kaseya_netconn.yaml").unlink()  # ours to prune
    plan = dep.plan()
    pruned = [i for i in plan.items if i.action is Action.PRUNE]
    assert [i.source_path.rsplit("/", 1)[-1] for i in pruned] == ["rmm_Kaseya_netconn.yaml"]
    assert pruned[0].resource_type == ResourceType.SAVED_SEARCH

    report = dep.apply(plan, prune=True, on_drift="overwrite")
    deleted = sorted(r.action for r in report.results if r.outcome is Outcome.DELETED)
    assert report.ok and deleted == ["prune", "uninstall"]  # the query, and its template from our package
    assert emulator.store.get(pruned[0].resource_id) is None
    for rid, etag in foreign.items():
        assert emulator.store.get(rid)["etag"] == etag
    assert emulator.store.get(hand_made["id"])["etag"] == hand_made["etag"]
    assert emulator.store.get(hub_metadata["id"])["etag"] == hub_metadata["etag"]
    level_searches = [s for s in emulator.store.iter_under(dep.client.saved_searches_collection)
                      if "Level" in s["properties"]["displayName"]]
    assert len(level_searches) == 1  # theirs, kept


def test_throttling_and_server_errors_during_apply_apply_everything_once(dep, emulator):
    emulator.faults.script("PUT", r"/alertRules/", 503, times=3)
    emulator.faults.script("PUT", r"/savedSearches/", 429, times=2, retry_after=1)
    emulator.faults.script("PUT", r"/metadata/", 500, times=2)

    report = dep.apply()

    assert report.ok and report.counts[Outcome.CREATED] == INSTALLED
    assert emulator.faults.pending_scripts == 0
    for desired in dep.desired():
        assert dep.successful("PUT", desired.resource_id) == 1, desired.key
        assert dep.successful("PUT", desired.metadata_id) == 1, desired.key
    assert len(emulator.store.list(dep.client.sentinel_collection("alertRules"))) == 5
    assert not dep.plan().has_changes


def test_a_dropped_connection_is_resent_once_and_lands_once(dep, emulator):
    emulator.faults.drop_connection("PUT", rf"/alertRules/{KASEYA_RULE}", times=1)
    report = dep.apply()
    assert report.ok
    assert dep.successful("PUT", f"/alertRules/{KASEYA_RULE}") == 1


def test_connections_dropped_mid_apply_then_a_rerun_converges(dep, emulator):
    emulator.faults.drop_connection("PUT", rf"/alertRules/{KASEYA_RULE}$", times=50)
    emulator.faults.drop_connection("PUT", rf"/metadata/AnalyticsRule-{MESH_RULE}$", times=50)

    first = dep.apply()
    failed = {r.key: r for r in first.failures}
    assert set(failed) == {f"AnalyticsRule/{KASEYA_RULE}", f"AnalyticsRule/{MESH_RULE}"}
    assert all(r.error_code == "ConnectionFailed" for r in failed.values())

    emulator.faults.clear()
    plan = dep.plan()
    actions = {i.key: i.action for i in plan.items if i.is_change}
    # the rule whose metadata never landed has no metadata: `adopt` writes the metadata alone
    assert actions == {f"AnalyticsRule/{KASEYA_RULE}": Action.CREATE, f"AnalyticsRule/{MESH_RULE}": Action.ADOPT}
    assert [w.role.value for i in plan.items if i.action is Action.ADOPT for w in i.writes] == ["metadata"]
    assert dep.apply(plan).ok
    assert not dep.plan().has_changes
    assert len(emulator.store.list(dep.client.sentinel_collection("alertRules"))) == 5


def test_a_saved_plan_is_applied_exactly(dep, emulator, repo):
    saved = Plan.from_json(dep.plan().to_json())
    edit(repo / "analytic-rules" / "rmm_Kaseya_netconn.yaml", r"^severity: Medium$", "severity: High")

    report = apply_plan(saved, dep.client)

    assert report.ok and report.counts[Outcome.CREATED] == INSTALLED
    stored = emulator.store.get(dep.client.sentinel_collection("alertRules") + f"/{KASEYA_RULE}")
    assert stored["properties"]["severity"] == "Medium"  # the plan's body, not the edited file


def test_a_stale_plan_is_refused_before_any_write(dep, emulator):
    dep.apply()
    rule_id = dep.client.sentinel_collection("alertRules") + f"/{MESH_RULE}"
    _portal_edit(emulator, rule_id, severity="Low")
    plan = dep.plan()
    _portal_edit(emulator, rule_id, severity="High")

    writes = dep.writes()
    with pytest.raises(StalePlan, match="changed since this plan"):
        apply_plan(plan, dep.client, on_drift="overwrite")
    assert dep.writes() == writes


def test_a_concurrent_change_is_reread_and_reported_never_overwritten(dep, emulator, repo):
    dep.apply()
    edit(repo / "analytic-rules" / "rmm_Kaseya_netconn.yaml", r"^severity: Medium$", "severity: High")
    plan = dep.plan()
    rule_id = dep.client.sentinel_collection("alertRules") + f"/{KASEYA_RULE}"
    _portal_edit(emulator, rule_id, description="edited while the plan was reviewed")

    report = apply_plan(plan, dep.client, check_stale=False)

    failure = report.failures[0]
    assert failure.key == f"AnalyticsRule/{KASEYA_RULE}" and failure.error_code
    assert "changed by someone else" in failure.message
    assert emulator.store.get(rule_id)["properties"]["description"] == "edited while the plan was reviewed"


def test_the_rate_limiter_is_acquired_for_every_write(emulator, repo):
    acquired: list[str] = []
    dep = deployment(emulator, repo, rate_limiter=acquired.append)
    try:
        dep.apply()
    finally:
        dep.client.close()
    # each item and its metadata, each template, the package and its metadata
    assert acquired.count("write") == 2 * (ITEMS + UNPACKAGED) + ITEMS + 2
    # and Sentinel's separate budget, once for the one automation rule
    assert acquired.count("automation-rule-write") == 1 and set(acquired) == {"write", "automation-rule-write"}


def test_rules_whose_tables_are_missing_are_blocked_and_skipped(emulator_factory, repo):
    emu = emulator_factory({"workspaces": [{"name": "ws-proc", "resource_group": "rg-soc",
                                            "tables": full_tables("DeviceProcessEvents", "Heartbeat")}]})
    dep = deployment(emu, repo)
    try:
        plan = dep.plan(tables_needed=None)  # the default: Kusto.Language when installed, else the tokenizer
        rules = {i.name: i for i in plan.items if i.resource_type == ResourceType.ALERT_RULE}
        blocked = sorted(n for n, i in rules.items() if i.action is Action.BLOCKED)
        assert blocked == ["RMM tool abuse - Kaseya - Network Connection", "RMM tool abuse - Level - Network Connection"]
        assert all("DeviceNetworkEvents" in rules[n].reason for n in blocked)
        assert {i.action for n, i in rules.items() if n not in blocked} == {Action.CREATE}

        report = dep.apply(plan)
        assert report.ok
        assert all(dep.successful("PUT", rules[n].resource_id) == 0 for n in blocked)
    finally:
        dep.client.close()


def test_a_rule_whose_parser_failed_is_skipped_not_sent(dep, emulator, repo):
    edit(repo / "analytic-rules" / "rmm_Kaseya_netconn.yaml", r"^  DeviceNetworkEvents$", "  RMMToolActivity")
    emulator.faults.script("PUT", r"/savedSearches/RMMToolActivity$", 400, times=10)

    report = dep.apply()

    outcomes = {r.key: r for r in report.results}
    assert outcomes["Parser/RMMToolActivity-Parser"].outcome is Outcome.FAILED
    kaseya = outcomes[f"AnalyticsRule/{KASEYA_RULE}"]
    assert kaseya.outcome is Outcome.SKIPPED and "parser RMMToolActivity failed" in kaseya.message
    assert dep.successful("PUT", f"/alertRules/{KASEYA_RULE}") == 0
    assert outcomes[f"AnalyticsRule/{MESH_RULE}"].outcome is Outcome.CREATED


def test_a_workbook_moved_to_a_new_name_is_created_and_the_old_one_pruned(dep, emulator, repo):
    dep.apply()
    old_id = next(d.resource_id for d in dep.desired() if d.resource_type == ResourceType.WORKBOOK)
    edit(repo / "workbooks" / "RMMToolActivity.yaml", r"^id: .*$", "id: 0f0e0d0c-0b0a-4909-8807-060504030201")

    plan = dep.plan()
    moves = sorted((i.action.value, i.resource_id) for i in plan.items if i.is_change)
    new_id = next(d.resource_id for d in dep.desired() if d.resource_type == ResourceType.WORKBOOK)
    assert moves == sorted([("create", new_id), ("prune", old_id)])

    kept = dep.apply(plan)  # without --prune the old one stays, and the service refuses a second of that name
    assert [f.resource_id for f in kept.failures] == [new_id]
    assert "same name already exists" in kept.failures[0].message and "someone else" not in kept.failures[0].message

    report = dep.apply(dep.plan(), prune=True)
    assert report.ok, report.failures
    assert sorted((r.outcome.value, r.resource_id) for r in report.results if r.writes) == sorted(
        [("created", new_id), ("deleted", old_id)])
    assert emulator.store.get(old_id) is None and emulator.store.get(new_id) is not None
    assert not dep.plan().has_changes


def test_a_write_that_landed_before_its_connection_dropped_is_read_back_not_sent_twice(dep, emulator):
    """Issue 13's fault as the tool meets it: the emulator stores the PUT, then closes the
    connection unanswered. apply must read the resource back and find its write there, never
    PUT the same body a second time (a blind replay of a conditional create would fail 412)."""
    rule_path = rf"/alertRules/{KASEYA_RULE}$"
    emulator.faults.drop_after_write("PUT", rule_path, times=1)

    report = dep.apply()

    rule_puts = [r for r in emulator.requests if r.method == "PUT" and re.search(rule_path, r.path, re.I)]
    assert len(rule_puts) == 1, rule_puts  # the dropped write only: nothing sent again
    assert emulator.faults.pending_scripts == 0  # the fault did fire
    stored = emulator.store.get(dep.client.sentinel_collection("alertRules") + f"/{KASEYA_RULE}")
    assert stored is not None
    kaseya = next(r for r in report.results if r.key == f"AnalyticsRule/{KASEYA_RULE}")
    assert kaseya.outcome is Outcome.CREATED, (kaseya.outcome, kaseya.message)
    assert report.ok and not dep.plan().has_changes
