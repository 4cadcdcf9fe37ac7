"""Plan building blocks that need no server: bodies, normalisation, tables, the plan value, rendering."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import replace

import pytest

from packer import resource_ids
from packer.content.model import RuleKind
from packer.errors import ConfigError
from packer.plan.diff import field_changes
from packer.plan.live import fingerprint, owned_by
from packer.plan.model import Action, FieldChange, Plan, PlanItem, Write
from packer.views.plan import render_markdown, render_table
from packer.plan.query_needs import missing_tables, tokenized_tables
from packer.remote.errors import BadRequest, Conflict, error_from_response
from packer.remote.normalise import canonical_duration, content_hash, normalise
from packer.bodies.resources import (
    OWNER_PREFIX,
    alert_rule_body,
    desired_resources,
    owner_source_id,
    owner_source_path,
)
from packer.targets.model import Target
from packer.validate import load_content
from tests.conftest import CONTENT

TARGET = Target("prod", "tenant", "sub", "rg", "ws", "contoso/content")


@pytest.fixture(scope="module")
def content():
    return load_content(CONTENT, kql=False)


@pytest.fixture(scope="module")
def desired(content):
    return {d.key: d for d in desired_resources(content, TARGET, "abc123", CONTENT.parent)}


def test_rule_bodies_link_to_their_template_and_drop_template_only_fields(content):
    rule = content.analytic_rules[0]
    body = alert_rule_body(rule)
    props = body["properties"]
    assert body["kind"] == "Scheduled"
    assert (props["alertRuleTemplateName"], props["templateVersion"]) == (rule.id, rule.version)
    assert props["enabled"] is rule.enabled and props["triggerOperator"] == "GreaterThan"
    assert not {"status", "requiredDataConnectors", "subTechniques"} & set(props)


def test_nrt_rules_carry_no_schedule(content):
    nrt = replace(content.analytic_rules[0], kind=RuleKind.NRT)
    props = alert_rule_body(nrt)["properties"]
    assert alert_rule_body(nrt)["kind"] == "NRT"
    assert not {"queryFrequency", "queryPeriod", "triggerOperator", "triggerThreshold"} & set(props)


def test_saved_searches_workbooks_and_metadata(desired):
    hunting = next(d for d in desired.values() if d.kind.value == "HuntingQuery")
    assert hunting.body["properties"]["category"] == "Hunting Queries"
    assert "eTag" not in hunting.body["properties"]
    assert {t["name"] for t in hunting.body["properties"]["tags"]} == {"description", "tactics", "techniques"}
    parser = desired["Parser/RMMToolActivity-Parser"]
    assert parser.resource_id.endswith("/savedSearches/RMMToolActivity")
    assert parser.body["properties"]["functionAlias"] == "RMMToolActivity"
    workbook = next(d for d in desired.values() if d.kind.value == "Workbook")
    assert workbook.body["kind"] == "shared" and workbook.body["properties"]["category"] == "sentinel"
    assert workbook.body["properties"]["sourceId"] == TARGET.workspace_id
    source = parser.metadata_body["properties"]["source"]  # Content Hub's link to the solution
    assert source == {"kind": "Solution", "name": "Remote Monitoring and Management tool abuse",
                      "sourceId": "sentinelpacker.sentinel-packer-solution-rmm-tool-abuse"}
    assert parser.metadata_body["properties"]["customVersion"] == (  # our mark
        f"{OWNER_PREFIX}contoso/content:content/parsers/RMMToolActivity.yaml@abc123 {parser.content_hash}")


def test_resource_names_are_deterministic(content):
    first = [d.resource_id for d in desired_resources(content, TARGET)]
    again = [d.resource_id for d in desired_resources(content, TARGET)]
    other_ws = [d.resource_id for d in desired_resources(content, replace(TARGET, workspace="ws2"))]
    assert first == again
    workbook = [r for r in first if "/workbooks/" in r][0]
    assert workbook.rsplit("/", 1)[1] not in {r.rsplit("/", 1)[1] for r in other_ws}  # per workspace


def test_normalise_ignores_server_fields_defaults_and_spellings():
    desired = {"kind": "Scheduled", "properties": {"queryFrequency": "PT60M", "triggerOperator": "gt",
                                                   "severity": "High", "customDetails": {}}}
    live = {"id": "/x", "name": "x", "type": "t", "etag": '"1"', "systemData": {"createdAt": "now"},
            "kind": "Scheduled", "properties": {
                "queryFrequency": "PT1H", "triggerOperator": "GreaterThan", "severity": "High",
                "lastModifiedUtc": "2026-01-01", "suppressionEnabled": False, "alertRuleTemplateName": None,
                "eventGroupingSettings": {"aggregationKind": "SingleAlert"},
                "incidentConfiguration": {"createIncident": True, "groupingConfiguration": {
                    "enabled": False, "reopenClosedIncident": False, "lookbackDuration": "PT5H",
                    "matchingMethod": "AllEntities", "groupByEntities": []}}}}
    assert normalise(live) == normalise(desired)
    assert content_hash(live) == content_hash(desired)
    changed = json.loads(json.dumps(live))
    changed["properties"]["incidentConfiguration"]["createIncident"] = False
    assert content_hash(changed) != content_hash(desired)


@pytest.mark.parametrize("text,expected", [("PT60M", "PT1H"), ("PT24H", "P1D"), ("P1DT30M", "P1DT30M"),
                                           ("PT90M", "PT1H30M"), ("P14D", "P14D"), ("PT5M", "PT5M")])
def test_durations_have_one_spelling(text, expected):
    assert canonical_duration(text) == expected


def test_field_changes_flatten_and_diff_text():
    live = {"properties": {"severity": "Low", "query": "T\n| where a\n| take 1", "tactics": ["A"]}}
    desired = {"properties": {"severity": "High", "query": "T\n| where b\n| take 1", "tactics": ["A", "B"]}}
    changes = {c.path: c for c in field_changes(live, desired)}
    assert set(changes) == {"properties.severity", "properties.query", "properties.tactics"}
    assert changes["properties.tactics"].after == ["A", "B"] and changes["properties.severity"].text_diff is None
    assert "-| where a" in changes["properties.query"].text_diff
    assert "+| where b" in changes["properties.query"].text_diff


@pytest.mark.parametrize("query,tables", [
    ("SecurityEvent | where EventID == 4625", {"SecurityEvent"}),
    ("let x = 1h;\nSigninLogs\n| where TimeGenerated > ago(x)", {"SigninLogs"}),
    ("let a = DeviceProcessEvents | take 1;\nlet b = DeviceNetworkEvents;\nunion a, b", {"DeviceProcessEvents",
                                                                                          "DeviceNetworkEvents"}),
    ("SigninLogs | join kind=inner (AuditLogs | take 1) on Id", {"SigninLogs", "AuditLogs"}),
    ("// Heartbeat\nRMMToolActivity | where RMMTool == 'Level'", set()),  # a parser, not a table
    ("datatable(a:int)[1] | take 1", set()),
])
def test_tokenized_tables(query, tables):
    assert tokenized_tables(query, frozenset({"RMMToolActivity"})) == tables


def test_missing_tables_compare_case_insensitively():
    assert missing_tables({"SigninLogs", "AuditLogs"}, frozenset({"signinlogs"})) == ["AuditLogs"]


def test_ownership_needs_all_three_marks():
    def meta(kind, name, source_id):
        return {"properties": {"source": {"kind": kind, "name": name, "sourceId": source_id}}}
    assert owned_by(meta("SourceRepository", "a/b", f"{OWNER_PREFIX}a/b:x.yaml@1"), "a/b")
    assert not owned_by(meta("SourceRepository", "a/b", "sourcecontrol-guid"), "a/b")  # Sentinel Repositories
    assert not owned_by(meta("SourceRepository", "a/c", f"{OWNER_PREFIX}a/c:x.yaml@1"), "a/b")
    assert not owned_by(meta("SourceRepository", "a/c", f"{OWNER_PREFIX}a/b:x.yaml@1"), "a/b")  # all three marks
    assert not owned_by(meta("Solution", "a/b", f"{OWNER_PREFIX}a/b:x.yaml@1"), "a/b")
    assert not owned_by(None, "a/b")


@pytest.mark.parametrize("path", ["content/parsers/a.yaml", "content/odd@name:1.yaml"])
@pytest.mark.parametrize("commit", ["c0ffee", None])
def test_the_owner_source_id_gives_back_the_path_it_records(path, commit):
    assert owner_source_path(owner_source_id("contoso/content", path, commit), "contoso/content") == path


def test_fingerprint_depends_on_the_watched_etags_only():
    etags = {"/a": '"1"', "/b": '"2"', "/other": '"3"'}
    base = fingerprint(etags, ["/A", "/b", "/missing"])
    assert base == fingerprint({**etags, "/other": '"9"'}, ["/a", "/b", "/missing"])
    assert base != fingerprint({**etags, "/b": '"9"'}, ["/a", "/b", "/missing"])
    assert base != fingerprint({**etags, "/missing": '"1"'}, ["/a", "/b", "/missing"])


def _plan(*items: PlanItem) -> Plan:
    return Plan(TARGET, "abc123", "2026-01-01T00:00:00+00:00", "sha256:x", ("/a",), items, ("a note",))


def _item(action: Action, name="Rule | one", **kw) -> PlanItem:
    return PlanItem(f"AnalyticsRule/{name}", "AnalyticsRule", name, action, "alertRules", f"/rules/{name}", **kw)


def test_plan_json_round_trips():
    plan = _plan(_item(Action.UPDATE, changes=(FieldChange("properties.query", "a\nb", "a\nc", "-b\n+c"),),
                       writes=(Write("PUT", "/rules/x", {"kind": "Scheduled", "properties": {}}, '"1"'),)),
                 _item(Action.UNCHANGED, name="two"))
    again = Plan.from_json(plan.to_json())
    assert again == plan
    data = json.loads(plan.to_json())
    assert data["counts"]["update"] == 1 and data["has_changes"] is True


def test_a_damaged_or_foreign_plan_file_is_a_config_error():
    with pytest.raises(ConfigError, match="not JSON"):
        Plan.from_json("{")
    with pytest.raises(ConfigError, match="not a sentinel-packer plan"):
        Plan.from_json('{"format": "terraform"}')
    with pytest.raises(ConfigError, match="damaged"):
        Plan.from_json('{"format": "sentinel-packer/plan@1", "target": {}}')


def test_summary_and_exit_semantics():
    assert not _plan(_item(Action.UNCHANGED), _item(Action.FOREIGN, name="f")).has_changes
    plan = _plan(_item(Action.CREATE), _item(Action.DRIFTED, name="d"), _item(Action.BLOCKED, name="b"))
    assert plan.has_changes
    assert plan.summary() == "Plan: 1 to create, 0 to update, 0 to prune; 0 unchanged; 1 drifted, 1 blocked"


def test_markdown_fits_a_comment_and_folds_diffs():
    change = FieldChange("properties.query", "T\n| a", "T\n| b", "--- live\n+++ desired\n-| a\n+| b")
    markdown = render_markdown(_plan(_item(Action.UPDATE, changes=(change,)), _item(Action.UNCHANGED, name="u")))
    assert "**Plan: 0 to create, 1 to update, 0 to prune; 1 unchanged**" in markdown
    assert "| ~ | **update** | AnalyticsRule | Rule \\| one |" in markdown  # pipes escaped
    assert "<details>" in markdown and "```diff" in markdown and "+| b" in markdown
    assert "| u |" not in markdown  # unchanged items are counted, not listed
    many = _plan(*(_item(Action.UPDATE, name=f"r{n}", changes=(FieldChange(
        "properties.query", None, None, "\n".join(["+x" * 60] * 60)),)) for n in range(100)))
    assert len(render_markdown(many)) < 65_536


def test_table_shows_changes_and_the_summary():
    from rich.console import Console

    console = Console(record=True, width=160)
    render_table(_plan(_item(Action.CREATE), _item(Action.UNCHANGED, name="hidden")), console)
    text = console.export_text()
    assert "create" in text and "Rule | one" in text and "hidden" not in text
    assert "Plan: 1 to create" in text and "a note" in text


def test_api_errors_keep_the_apis_own_code_and_message():
    body = json.dumps({"error": {"code": "BadRequest", "message": "Failed to run the analytics rule query.",
                                 "details": [{"code": "TableNotFound", "message": "DeviceNetworkEvents"}]}})
    error = error_from_response(400, body.encode(), "/rules/x", "PUT")
    assert isinstance(error, BadRequest) and error.code == "BadRequest"
    assert "Failed to run the analytics rule query." in str(error) and "TableNotFound: DeviceNetworkEvents" in str(error)
    assert isinstance(error_from_response(412, b"", "/rules/x", "PUT"), Conflict)


class ListOnlyClient:
    """Stands in for WorkspaceClient: serves list calls from a dict of live bodies."""

    def __init__(self, resources: list[dict], metadata: list[dict]):
        self.resources, self.metadata = resources, metadata

    def list_in(self, collection):
        if collection == resource_ids.METADATA:
            return self.metadata
        return [r for r in self.resources if f"/{collection.name}/".lower() in r["id"].lower()]

    def get_workspace(self):
        return {"location": "westeurope"}


def _as_stored(body: dict, resource_id: str, **extra_properties) -> dict:
    """What a service might store: our body plus properties we do not model, and an etag."""
    return {**body, "id": resource_id, "etag": '"1"', "properties": {**body["properties"], **extra_properties}}


def test_a_server_default_we_do_not_model_is_neither_a_change_nor_drift(content, desired):
    from packer.plan.compute import compute_plan
    from packer.bodies.resources import stamped_metadata

    # a watchlist's stamp covers its items too (tests/test_automation_watchlists.py)
    content = dataclasses.replace(content, watchlists=())
    resources, metadata = [], []
    for d in (d for d in desired.values() if d.kind.value != "Watchlist"):
        stored = _as_stored(dict(d.body), d.resource_id, someNewServerDefault="x")
        resources.append(stored)
        metadata.append({**stamped_metadata(d.metadata_body, content_hash(stored)), "id": d.metadata_id, "etag": '"m"'})
    client = ListOnlyClient(resources, metadata)

    plan = compute_plan(content, TARGET, client, "abc123", root=CONTENT.parent, install=False)
    assert {i.action for i in plan.items} == {Action.UNCHANGED}

    resources[1]["properties"]["severity"] = "Informational"  # then someone edits it in the portal
    drifted = compute_plan(content, TARGET, client, "abc123", root=CONTENT.parent, install=False)
    assert [(i.resource_id, i.action) for i in drifted.items if i.is_change] == [(resources[1]["id"], Action.DRIFTED)]
