"""The private Content Hub (issue 12): plan/apply install the content's package and templates,
active items are made from and linked to them, upgrades merge workspace edits, status."""
from __future__ import annotations

import json

import pytest

from packer.apply import ConflictDetected
from packer.package.hub_resources import package_bodies
from packer.package.deploy import DeployScope, unique_string
from packer.plan.merge import three_way
from packer.plan.status import ItemState, status_of, workspace_status
from packer.package.build import build_content
from packer.plan.live import owned_by, read_live_state
from packer.plan.model import Action
from packer.remote.normalise import normalise
from packer.bodies.resources import OWNER_PREFIX, active_body_from_template, parse_stamp
from tests.plankit import MESH_RULE, REPOSITORY, edit

SOLUTION_ID = "sentinelpacker.sentinel-packer-solution-rmm-tool-abuse"
MESH_YAML = ("analytic-rules", "rmm_MeshCentral_createproc.yaml")


def _collection(dep, name: str) -> list[dict]:
    return dep.client.list_collection(dep.client.sentinel_collection(name))


def _bump(repo, rule_version: str = "1.0.1", solution_version: str = "3.1.0") -> None:
    edit(repo.joinpath(*MESH_YAML), r"^version: 1\.0\.0$", f"version: {rule_version}")
    edit(repo / "solution.yaml", r"^version: 3\.0\.0$", f"version: {solution_version}")


def _portal_edit(emulator, resource_id: str, **properties) -> None:
    body = emulator.store.get(resource_id)
    body["properties"].update(properties)
    emulator.store.put(resource_id, body)


# --- install ------------------------------------------------------------------------------


def test_apply_installs_one_package_one_template_per_item_and_links_every_active_item(dep, emulator):
    assert dep.apply().ok
    content = dep.content()

    packages = _collection(dep, "contentPackages")
    assert [p["properties"]["contentId"] for p in packages] == [SOLUTION_ID]
    assert packages[0]["properties"]["installedVersion"] == content.solution.version == "3.0.0"

    templates = {t["properties"]["contentId"]: t["properties"] for t in _collection(dep, "contentTemplates")}
    desired = dep.packaged()
    assert len(templates) == len(desired) == 12
    for item in desired:
        meta = emulator.store.get(item.metadata_id)["properties"]
        template = templates[meta["contentId"]]
        assert template["packageId"] == SOLUTION_ID and template["contentKind"] == item.kind.value
        assert meta["version"] == template["version"]
        assert meta["source"] == {"kind": "Solution", "name": content.solution.name, "sourceId": SOLUTION_ID}
        assert meta["parentId"] == item.resource_id and meta["kind"] == item.kind.value
        assert meta["customVersion"].startswith(f"{OWNER_PREFIX}{REPOSITORY}:{item.source_path}@c0ffee sha256:")
        assert parse_stamp(meta["customVersion"]) == (item.content_hash, item.content_hash)
        if item.kind.value == "AnalyticsRule":
            rule = emulator.store.get(item.resource_id)["properties"]
            assert (rule["alertRuleTemplateName"], rule["templateVersion"]) == (
                template["contentId"], template["version"])


def test_a_second_plan_is_empty_and_a_second_apply_only_lists(dep, emulator):
    dep.apply()
    assert not dep.plan().has_changes
    before = len(emulator.requests)
    report = dep.apply()
    assert report.writes == 0
    assert {r.method for r in list(emulator.requests)[before:]} == {"GET"}


def test_apply_sends_exactly_what_the_built_main_template_deploys(dep, repo, tmp_path):
    """One source of truth: the package and template PUTs equal the resources of the built
    mainTemplate.json, evaluated for this workspace, and each active rule is what its template makes."""
    build_content(repo, tmp_path / "dist", kql=False)
    main = json.loads((tmp_path / "dist" / "Package" / "mainTemplate.json").read_text(encoding="utf-8"))
    deployed = package_bodies(main, DeployScope.of(dep.target))
    plan = dep.plan()
    puts = {w.resource_id: w.body for i in plan.items for w in i.writes if w.method == "PUT"}

    assert puts[deployed.package.resource_id] == deployed.package.body
    assert len(deployed.templates) == 12
    for template in deployed.templates:
        assert puts[template.resource_id] == template.body, template.key
    for item in dep.packaged():
        template = deployed.template_for(item.metadata_body["properties"]["contentId"])
        made = active_body_from_template({"properties": dict(template.properties)}, item.body)
        assert normalise(made) == normalise(puts[item.resource_id]), item.key


def test_unique_string_matches_arm():
    # published outputs of ARM's uniqueString() for these inputs
    assert unique_string("test") == "rbgf3xv4ufgzg"
    assert unique_string("hello", "world") == "a7wkljktk6wne"
    assert unique_string("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg") == "bmg7c6xu4tw46"


# --- upgrades -----------------------------------------------------------------------------


def test_a_version_bump_plans_exactly_the_package_that_template_and_that_rule(dep, repo):
    dep.apply()
    _bump(repo)

    plan = dep.plan()
    changed = [(i.kind, i.action, i.reason) for i in plan.items if i.is_change]
    assert changed == [
        ("Package", Action.UPGRADE, "package 3.0.0 -> 3.1.0"),
        ("Template", Action.UPGRADE, "template RMM tool abuse - MeshCentral - Create Process 1.0.0 -> 1.0.1"),
        ("AnalyticsRule", Action.UPGRADE, "1.0.0 -> 1.0.1"),
    ]
    assert dep.apply(plan).ok
    assert not dep.plan().has_changes
    status = workspace_status(dep.client)
    assert status.installed_version == "3.1.0" and len(status.items) == 12
    assert {i.state for i in status.items} == {ItemState.UP_TO_DATE}


def test_a_portal_edit_survives_an_upstream_change_of_another_field(dep, emulator, repo):
    dep.apply()
    rule_id = dep.client.sentinel_collection("alertRules") + f"/{MESH_RULE}"
    _portal_edit(emulator, rule_id, severity="Low")
    edit(repo.joinpath(*MESH_YAML), r"has 'meshcentral'", "has_cs 'MeshCentral'")
    _bump(repo)

    plan = dep.plan()
    rule = next(i for i in plan.items if i.resource_id == rule_id)
    assert rule.action is Action.UPGRADE and "kept severity" in rule.reason
    report = dep.apply(plan)
    assert report.ok, report.failures

    live = emulator.store.get(rule_id)["properties"]
    assert "has_cs 'MeshCentral'" in live["query"] and live["severity"] == "Low"
    assert live["templateVersion"] == "1.0.1"
    assert not dep.plan().has_changes
    states = {i.key: i.state for i in workspace_status(dep.client).items}
    assert states[f"AnalyticsRule/{MESH_RULE}"] is ItemState.CUSTOMISED

    # the next upgrade keeps the edit too: the merge is recorded, not only the body it stored
    edit(repo.joinpath(*MESH_YAML), r"^version: 1\.0\.1$", "version: 1.0.2")
    edit(repo.joinpath(*MESH_YAML), r"has_cs 'MeshCentral'", "has_any ('MeshCentral')")
    assert dep.apply().ok
    live = emulator.store.get(rule_id)["properties"]
    assert "has_any ('MeshCentral')" in live["query"] and live["severity"] == "Low"
    assert live["templateVersion"] == "1.0.2" and not dep.plan().has_changes


def test_a_conflicting_edit_fails_with_the_three_values_and_writes_nothing(dep, emulator, repo):
    dep.apply()
    rule_id = dep.client.sentinel_collection("alertRules") + f"/{MESH_RULE}"
    _portal_edit(emulator, rule_id, severity="Low")
    edit(repo.joinpath(*MESH_YAML), r"^severity: Medium$", "severity: High")
    _bump(repo)

    plan = dep.plan()
    rule = next(i for i in plan.items if i.resource_id == rule_id)
    assert rule.action is Action.CONFLICT and not rule.writes
    assert [(c.path, c.base, c.ours, c.theirs) for c in rule.conflicts] == [
        ("properties.severity", "Medium", "High", "Low")]
    writes = dep.writes()
    with pytest.raises(ConflictDetected, match="template was 'Medium', new template 'High', workspace 'Low'"):
        dep.apply(plan)
    assert dep.writes() == writes

    assert dep.apply(dep.plan(on_conflict="theirs")).ok
    assert emulator.store.get(rule_id)["properties"]["severity"] == "Low"


def test_on_conflict_ours_takes_the_new_template_value():
    base = {"kind": "Scheduled", "properties": {"severity": "Medium", "query": "a"}}
    ours = {"kind": "Scheduled", "properties": {"severity": "High", "query": "b"}}
    theirs = {"kind": "Scheduled", "properties": {"severity": "Low", "query": "a", "enabled": False}}
    result = three_way(base, ours, theirs, "ours")
    assert result.body["properties"] == {"severity": "High", "query": "b", "enabled": False}
    assert [c.path for c in result.conflicts] == ["properties.severity"]
    assert result.kept == ("properties.enabled",)


# --- uninstall, ownership -----------------------------------------------------------------


def test_a_removed_item_leaves_the_package_and_its_rule_goes_only_with_prune(dep, emulator, repo):
    dep.apply()
    repo.joinpath(*MESH_YAML).unlink()

    plan = dep.plan()
    changed = sorted((i.kind, i.action.value) for i in plan.items if i.is_change)
    assert changed == [("AnalyticsRule", "prune"), ("Package", "update"), ("Template", "uninstall")]
    dep.apply(plan)
    templates = {t["properties"]["contentId"] for t in _collection(dep, "contentTemplates")}
    package = _collection(dep, "contentPackages")[0]["properties"]
    assert MESH_RULE not in templates and len(templates) == 11
    assert MESH_RULE not in {c["contentId"] for c in package["dependencies"]["criteria"]}
    rule_id = dep.client.sentinel_collection("alertRules") + f"/{MESH_RULE}"
    assert emulator.store.get(rule_id) is not None

    dep.apply(prune=True)
    assert emulator.store.get(rule_id) is None
    assert not dep.plan().has_changes


def test_a_package_with_our_content_id_that_is_not_ours_is_foreign_and_untouched(dep, emulator):
    package_id = dep.client.sentinel_collection("contentPackages") + f"/{SOLUTION_ID}"
    emulator.store.put(package_id, {"properties": {
        "contentId": SOLUTION_ID, "contentProductId": f"{SOLUTION_ID}-sl-x", "contentKind": "Solution",
        "version": "9.9.9", "displayName": "Someone else's", "source": {"kind": "Solution", "name": "x",
                                                                        "sourceId": SOLUTION_ID}}})
    plan = dep.plan()
    hub = [i for i in plan.items if i.kind in ("Package", "Template")]
    assert {i.action for i in hub} == {Action.FOREIGN}
    dep.apply(plan)
    assert emulator.store.get(package_id)["properties"]["version"] == "9.9.9"
    assert _collection(dep, "contentTemplates") == []


def test_a_template_of_another_package_with_one_of_our_content_ids_is_foreign(dep, emulator):
    clash_id = dep.client.sentinel_collection("contentTemplates") + "/microsofts-template"
    emulator.store.put(clash_id, {"properties": {
        "contentId": MESH_RULE, "contentProductId": "p", "contentKind": "AnalyticsRule", "version": "2.0.0",
        "displayName": "Microsoft's", "packageId": "azuresentinel.azure-sentinel-solution-x", "packageVersion": "3.0.0",
        "source": {"kind": "Solution", "name": "x", "sourceId": "azuresentinel.azure-sentinel-solution-x"}}})
    plan = dep.plan()
    foreign = [i for i in plan.items if i.action is Action.FOREIGN]
    assert [(i.kind, i.resource_id) for i in foreign] == [("Template", clash_id)]
    dep.apply(plan)
    assert emulator.store.get(clash_id)["properties"]["version"] == "2.0.0"


def test_older_metadata_of_this_tool_is_recognised_and_migrated(dep, emulator):
    """Items deployed before the package existed carry source SourceRepository: still ours."""
    old = {"properties": {"source": {"kind": "SourceRepository", "name": REPOSITORY,
                                     "sourceId": f"{OWNER_PREFIX}{REPOSITORY}:content/x.yaml@1"},
                          "customVersion": "sha256:aa live=sha256:bb"}}
    assert owned_by(old, REPOSITORY) and not owned_by(old, "someone/else")
    new = {"properties": {"source": {"kind": "Solution", "name": "n", "sourceId": SOLUTION_ID},
                          "customVersion": f"{OWNER_PREFIX}{REPOSITORY}:content/x.yaml@1 sha256:aa live=sha256:bb"}}
    assert owned_by(new, REPOSITORY) and not owned_by(new, "someone/else")
    assert parse_stamp(new["properties"]["customVersion"]) == ("sha256:aa", "sha256:bb")
    microsoft = {"properties": {"source": {"kind": "Solution", "name": "Microsoft 365",
                                           "sourceId": "azuresentinel.azure-sentinel-solution-office365"}}}
    assert not owned_by(microsoft, REPOSITORY)


def test_status_before_install_and_for_a_rule_whose_template_moved_on(dep, emulator, repo):
    assert workspace_status(dep.client).items == ()
    dep.apply()
    _bump(repo)
    plan = dep.plan()
    package_and_templates = [i for i in plan.items if i.kind in ("Package", "Template") and i.is_change]
    dep.apply(plan.__class__(**{**plan.__dict__, "items": tuple(package_and_templates)}))
    states = {i.key: (i.state, i.template_version, i.active_version)
              for i in status_of(read_live_state(dep.client), dep.target).items}
    assert states[f"AnalyticsRule/{MESH_RULE}"] == (ItemState.UPDATE_AVAILABLE, "1.0.1", "1.0.0")
    assert sum(1 for s, *_ in states.values() if s is ItemState.UP_TO_DATE) == 11


def test_the_cli_plan_exits_1_on_a_conflict_and_status_reports_json(dep, emulator, repo):
    from typer.testing import CliRunner

    from packer.cli import app

    ws = emulator.workspace
    flags = ["--subscription", ws.subscription, "--resource-group", ws.resource_group, "--workspace", ws.name,
             "--tenant", emulator.tenant_id, "--repository", REPOSITORY, "--base-url", emulator.base_url,
             "--ca-cert", emulator.ca_path, "--emulator-tenant", "target"]
    run = lambda *args: CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})  # noqa: E731
    assert run("apply", *flags, "--content", str(repo)).exit_code == 0
    status = run("status", *flags, "--format", "json")
    assert status.exit_code == 0, status.output
    [workspace] = json.loads(status.output)
    assert workspace["package_id"] == SOLUTION_ID and workspace["counts"]["up to date"] == 12

    _portal_edit(emulator, dep.client.sentinel_collection("alertRules") + f"/{MESH_RULE}", severity="Low")
    edit(repo.joinpath(*MESH_YAML), r"^severity: Medium$", "severity: High")
    _bump(repo)
    planned = run("plan", *flags, "--content", str(repo), "--format", "markdown")
    assert planned.exit_code == 1, planned.output
    assert "conflict properties.severity: template was Medium, new template High, workspace Low" in planned.output
    writes = dep.writes()
    refused = run("apply", *flags, "--content", str(repo))
    assert refused.exit_code == 1 and "Nothing was written" in str(refused.exception) and dep.writes() == writes
    assert run("apply", *flags, "--content", str(repo), "--on-conflict", "ours").exit_code == 0
    assert emulator.store.get(dep.client.sentinel_collection("alertRules") + f"/{MESH_RULE}")[
        "properties"]["severity"] == "High"
    bad = run("plan", *flags, "--content", str(repo), "--on-conflict", "mine")
    assert bad.exit_code == 1 and "--on-conflict must be one of fail, ours, theirs" in str(bad.exception)


# --- creates are conditional; templates are told apart by kind and package -----------------------


def test_a_package_and_templates_created_by_someone_else_after_the_plan_are_never_overwritten(dep, emulator):
    """Content Hub creates go with If-None-Match: * like every create (packer/apply/writes.py):
    ARM's conditional create answers 412 when the resource exists (docs/emulator.md)."""
    plan = dep.plan()
    hub = [i for i in plan.items if i.resource_type in ("contentPackages", "contentTemplates")
           and i.action is Action.CREATE]
    assert hub and all(w.create for i in hub for w in i.writes)
    theirs = {}
    for item in hub:  # someone installs at the planned ids between plan and apply
        theirs[item.resource_id] = emulator.store.put(item.resource_id, {"properties": {
            "contentId": f"theirs-{item.name}", "version": "9.9.9", "displayName": "theirs",
            "contentKind": "Solution" if item.resource_type == "contentPackages" else "AnalyticsRule"}})

    report = dep.apply(plan, check_stale=False)

    failed = {r.resource_id: r for r in report.failures}
    assert set(theirs) <= set(failed)
    for resource_id, before in theirs.items():
        assert "created by someone else meanwhile" in failed[resource_id].message
        assert emulator.store.get(resource_id)["etag"] == before["etag"]  # not overwritten


def test_a_template_is_matched_by_kind_and_content_id_within_its_own_package(dep, emulator, repo):
    """A contentId is not unique: another package may ship it, and so may another kind of the
    same package (Microsoft's Windows Firewall: a DataConnector and a Workbook). The rule's merge
    base is its own AnalyticsRule template, not a Workbook of the same contentId nor another
    package's template, even at higher versions."""
    from packer.plan.content_hub import live_template_by_kind_and_id
    from packer.plan.live import read_live_state

    dep.apply()
    templates = dep.client.sentinel_collection("contentTemplates")
    for name, kind, package in (("same-id-workbook", "Workbook", SOLUTION_ID), ("other-package", "AnalyticsRule",
                                                                               "contoso.other-solution")):
        emulator.store.put(f"{templates}/{name}", {"properties": {
            "contentId": MESH_RULE, "contentKind": kind, "version": "9.0.0", "packageId": package,
            "displayName": name, "mainTemplate": {"resources": []}}})
    found = live_template_by_kind_and_id(read_live_state(dep.client), SOLUTION_ID)
    assert found[("AnalyticsRule", MESH_RULE)]["properties"]["version"] == "1.0.0"
    assert found[("Workbook", MESH_RULE)]["name"] == "same-id-workbook"

    rule_id = dep.client.sentinel_collection("alertRules") + f"/{MESH_RULE}"
    _portal_edit(emulator, rule_id, severity="Low")
    edit(repo.joinpath(*MESH_YAML), r"has 'meshcentral'", "has_cs 'MeshCentral'")
    _bump(repo)
    rule = next(i for i in dep.plan().items if i.resource_id == rule_id)
    assert rule.action is Action.UPGRADE and "kept severity" in rule.reason  # merged on its own template
