"""Emulator behaviours clients depend on: validation, tables, tenants, throttling, faults, state."""
from __future__ import annotations

import itertools
import ssl
import urllib.error
import urllib.request

import pytest
from azure.core.exceptions import HttpResponseError

from packer.emulator import Emulator, EmulatorConfig
from packer.emulator.clients import loganalytics_client, send, sentinel_client

CUSTOMER = "11111111-1111-4111-8111-111111111111"
MSSP = "22222222-2222-4222-8222-222222222222"
STRANGER = "33333333-3333-4333-8333-333333333333"
SUB = "aaaaaaaa-0000-4000-8000-000000000001"


def rule_path(emu, name: str) -> str:
    return f"{emu.workspace.resource_id}/providers/Microsoft.SecurityInsights/alertRules/{name}"


def rule(query: str = "SecurityEvent | take 1", **overrides) -> dict:
    properties = {"displayName": "r", "enabled": True, "query": query, "queryFrequency": "PT1H",
                  "queryPeriod": "PT1H", "severity": "Low", "triggerOperator": "GreaterThan", "triggerThreshold": 0,
                  "suppressionDuration": "PT5H", "suppressionEnabled": False}
    properties.update(overrides)
    return {"kind": "Scheduled", "properties": {k: v for k, v in properties.items() if v is not None}}


# --- spec validation and server-side defaults ---------------------------------------------------
def test_missing_required_property_is_named_in_the_400(emulator, sentinel_client):
    response = send(sentinel_client, "PUT", rule_path(emulator, "r1"), rule(severity=None))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BadRequest" and "'severity'" in error["message"]
    assert error["details"][0]["target"] == "properties.severity"
    assert emulator.store.get(rule_path(emulator, "r1")) is None


def test_wrong_enum_value_is_rejected_but_case_is_canonicalised(emulator, sentinel_client):
    bad = send(sentinel_client, "PUT", rule_path(emulator, "r1"), rule(severity="Critical"))
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["target"] == "properties.severity"
    ok = send(sentinel_client, "PUT", rule_path(emulator, "r1"), rule(severity="high", tactics=["commandandcontrol"]))
    assert ok.status_code == 201
    assert ok.json()["properties"]["severity"] == "High"
    assert ok.json()["properties"]["tactics"] == ["CommandAndControl"]


def test_nrt_rules_need_no_schedule_but_do_need_suppression(emulator, sentinel_client):
    nrt = {"kind": "NRT", "properties": {"displayName": "n", "enabled": True, "query": "SigninLogs",
                                         "severity": "High", "suppressionDuration": "PT5H",
                                         "suppressionEnabled": False}}
    assert send(sentinel_client, "PUT", rule_path(emulator, "n1"), nrt).status_code == 201
    del nrt["properties"]["suppressionEnabled"]
    response = send(sentinel_client, "PUT", rule_path(emulator, "n2"), nrt)
    assert response.status_code == 400 and "suppressionEnabled" in response.json()["error"]["message"]


def test_defaults_the_service_adds_are_visible_to_a_naive_diff(emulator, sentinel_client):
    sent = rule()
    stored = send(sentinel_client, "PUT", rule_path(emulator, "r1"), sent).json()["properties"]
    added = set(stored) - set(sent["properties"])
    assert added == {"alertRuleTemplateName", "incidentConfiguration", "eventGroupingSettings", "lastModifiedUtc"}
    assert stored["incidentConfiguration"]["createIncident"] is True
    assert stored["eventGroupingSettings"] == {"aggregationKind": "SingleAlert"}


def test_query_on_a_missing_table_is_rejected_like_azure(emulator, sentinel_client):
    response = send(sentinel_client, "PUT", rule_path(emulator, "r1"),
                    rule("SecurityEvent | join (NoSuchTable_CL | project Account) on Account"))
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("Failed to run the analytics rule query. One of the tables does not exist.")
    assert "NoSuchTable_CL" in message


def test_a_parser_saved_in_the_workspace_counts_as_a_table(emulator, sentinel_client):
    ws = emulator.workspace
    parser = f"{ws.resource_id}/savedSearches/rmm-parser"
    query = "MyRmmEvents | where FileName has 'agent'"
    assert send(sentinel_client, "PUT", rule_path(emulator, "r1"), rule(query)).status_code == 400
    body = {"properties": {"category": "Parsers", "displayName": "RMM", "functionAlias": "MyRmmEvents",
                           "query": "DeviceProcessEvents | where FileName has 'x'"}}
    assert send(sentinel_client, "PUT", parser, body).status_code == 200
    assert send(sentinel_client, "PUT", rule_path(emulator, "r1"), rule(query)).status_code == 201


def test_tables_come_from_config(emulator_factory):
    emu = emulator_factory({"workspaces": [{"resource_group": "rg", "name": "w",
                                            "tables": ["SecurityEvent", {"Custom_CL": ["TimeGenerated:datetime",
                                                                                      "Message"]}]}]})
    client = loganalytics_client(emu)
    tables = {t.name: t for t in client.tables.list_by_workspace("rg", "w")}
    assert set(tables) == {"SecurityEvent", "Custom_CL"}
    assert [(c.name, c.type) for c in tables["Custom_CL"].schema.columns] == [("TimeGenerated", "dateTime"),
                                                                              ("Message", "string")]
    with pytest.raises(HttpResponseError) as info:
        client.tables.get("rg", "w", "DeviceProcessEvents")
    assert info.value.status_code == 404


# --- saved searches and workbooks ---------------------------------------------------------------
def test_saved_searches_through_the_loganalytics_sdk(emulator, loganalytics_client):
    from azure.mgmt.loganalytics.models import SavedSearch, Tag

    ws = emulator.workspace
    search = SavedSearch(category="Hunting Queries", display_name="RMM tools", query="DeviceNetworkEvents",
                         tags=[Tag(name="tactics", value="CommandAndControl")])
    created = loganalytics_client.saved_searches.create_or_update(ws.resource_group, ws.name, "h1", search)
    assert created.version == 2 and created.etag.startswith('W/"datetime')
    listed = loganalytics_client.saved_searches.list_by_workspace(ws.resource_group, ws.name)
    assert [s.display_name for s in listed.value] == ["RMM tools"]
    raw = send(loganalytics_client, "GET", f"{ws.resource_id}/savedSearches")
    assert set(raw.json()) == {"value"}  # not paged: no nextLink, per the OperationalInsights spec
    stale = send(loganalytics_client, "PUT", f"{ws.resource_id}/savedSearches/h1",
                 {"etag": 'W/"datetime\'2017-10-02T23%3A15%3A41.0709875Z\'"', "properties": {
                     "category": "Hunting Queries", "displayName": "x", "query": "Syslog"}})
    assert stale.status_code == 409
    forced = send(loganalytics_client, "PUT", f"{ws.resource_id}/savedSearches/h1",
                  {"etag": "*", "properties": {"category": "Hunting Queries", "displayName": "x", "query": "Syslog"}})
    assert forced.status_code == 200
    loganalytics_client.saved_searches.delete(ws.resource_group, ws.name, "h1")
    assert send(loganalytics_client, "DELETE", f"{ws.resource_id}/savedSearches/h1").status_code == 200


def test_workbooks_lower_case_source_id_and_filter_lists(emulator, sentinel_client):
    ws = emulator.workspace
    path = (f"/subscriptions/{emulator.subscription_id}/resourceGroups/{ws.resource_group}"
            "/providers/Microsoft.Insights/workbooks/1f1b2c3d-0000-4000-8000-000000000001")
    body = {"location": "westeurope", "kind": "shared", "properties": {
        "displayName": "RMM", "category": "sentinel", "sourceId": ws.resource_id,
        "serializedData": '{"version":"Notebook/1.0","items":[]}'}}
    created = send(sentinel_client, "PUT", path, body)
    assert created.status_code == 201
    props = created.json()["properties"]
    assert props["sourceId"] == ws.resource_id.lower()
    assert props["version"] == "Notebook/1.0" and props["revision"] and props["timeModified"]
    listed = send(sentinel_client, "GET", path.rsplit("/", 1)[0], category="sentinel", sourceId=ws.resource_id)
    items = listed.json()["value"]
    assert [i["name"] for i in items] == [path.rsplit("/", 1)[1]]
    assert "serializedData" not in items[0]["properties"]
    full = send(sentinel_client, "GET", path.rsplit("/", 1)[0], category="sentinel", canFetchContent="true")
    assert "serializedData" in full.json()["value"][0]["properties"]
    other = send(sentinel_client, "GET", path.rsplit("/", 1)[0], category="workbook")
    assert other.json()["value"] == []


def test_metadata_requires_parent_and_kind(emulator, sentinel_client):
    path = f"{emulator.workspace.resource_id}/providers/Microsoft.SecurityInsights/metadata/analyticsrule-r1"
    bad = send(sentinel_client, "PUT", path, {"properties": {"kind": "AnalyticsRule"}})
    assert bad.status_code == 400 and "parentId" in bad.json()["error"]["message"]
    good = send(sentinel_client, "PUT", path, {"properties": {
        "kind": "AnalyticsRule", "parentId": rule_path(emulator, "r1"), "version": "1.0.0",
        "source": {"kind": "SourceRepository", "name": "repo"}}})
    assert good.status_code == 201 and good.json()["type"] == "Microsoft.SecurityInsights/metadata"


# --- tenants and Lighthouse ---------------------------------------------------------------------
TENANTS = {
    "tenants": {CUSTOMER: {"name": "Contoso"}, MSSP: {"name": "MSSP"}, STRANGER: {"name": "Other"}},
    "subscriptions": {SUB: {"tenant": CUSTOMER, "delegated_to": [MSSP]}},
    "workspaces": [{"subscription": SUB, "resource_group": "rg", "name": "ws"}],
}


def test_other_tenant_gets_401_and_delegated_tenant_is_let_in(emulator_factory):
    emu = emulator_factory(TENANTS)
    path = rule_path(emu, "r1")
    for tenant in (CUSTOMER, MSSP):
        assert send(sentinel_client(emu, tenant), "GET", path).status_code == 404
    denied = send(sentinel_client(emu, STRANGER), "GET", path)
    assert denied.status_code == 401
    assert denied.json()["error"]["code"] == "InvalidAuthenticationTokenTenant"
    assert CUSTOMER in denied.json()["error"]["message"]
    assert [r.tenant for r in emu.requests] == [CUSTOMER, MSSP, STRANGER]


def test_no_token_is_401(emulator):
    context = ssl.create_default_context(cafile=emulator.ca_path)
    url = f"{emulator.base_url}{rule_path(emulator, 'r1')}?api-version=2024-09-01"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(url, context=context)
    assert info.value.code == 401
    assert b"AuthenticationFailed" in info.value.read()


def test_unknown_subscription_is_404(emulator):
    client = sentinel_client(emulator, subscription_id="99999999-9999-4999-8999-999999999999")
    response = send(client, "GET", f"/subscriptions/99999999-9999-4999-8999-999999999999"
                                   "/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w")
    assert response.status_code == 404 and response.json()["error"]["code"] == "SubscriptionNotFound"


# --- throttling ---------------------------------------------------------------------------------
def test_429_with_retry_after_then_the_sdk_retry_succeeds(emulator_factory):
    # the buckets' clock moves 0.4 s per request, however fast the machine runs: two reads
    # from the full bucket of 2, the third finds 0.8 of a token (429, Retry-After 1), azure-core
    # waits and its retry finds 1.2
    ticks = itertools.count(0, 0.4)
    emu = emulator_factory({"throttling": {"reads": [2, 1]}}, clock=lambda: next(ticks))
    client = sentinel_client(emu)
    first = send(client, "GET", rule_path(emu, "r1"))
    assert first.headers["x-ms-ratelimit-remaining-subscription-reads"] == "1"
    send(client, "GET", rule_path(emu, "r1"))
    third = send(client, "GET", rule_path(emu, "r1"))  # bucket empty: 429, azure-core waits Retry-After
    assert third.status_code == 404
    statuses = [r.status for r in emu.requests]
    assert statuses == [404, 404, 429, 404]
    assert emu.counters[emu.workspace.name]["throttled"] == 1


def test_429_body_and_headers(emulator_factory):
    emu = emulator_factory({"throttling": {"writes": [1, 0.5]}}, clock=lambda: 0.0)  # no refill between the two
    client = sentinel_client(emu, retry_total=0)
    assert send(client, "PUT", rule_path(emu, "r1"), rule()).status_code == 201
    throttled = send(client, "PUT", rule_path(emu, "r1"), rule())
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2"
    assert throttled.headers["x-ms-ratelimit-remaining-subscription-writes"] == "0"
    assert throttled.json()["error"]["code"] == "TooManyRequests"


# --- faults -------------------------------------------------------------------------------------
def _statuses_with_faults(emulator_factory, seed: int) -> list[int]:
    emu = emulator_factory({"faults": {"seed": seed, "error_rate": 0.5, "error_statuses": [500, 503]},
                            "throttling": {"enabled": False}})
    client = sentinel_client(emu, retry_total=0)
    return [send(client, "GET", rule_path(emu, f"r{i % 3}")).status_code for i in range(24)]


def test_random_faults_are_reproducible_from_the_seed(emulator_factory):
    first = _statuses_with_faults(emulator_factory, seed=7)
    again = _statuses_with_faults(emulator_factory, seed=7)
    other = _statuses_with_faults(emulator_factory, seed=8)
    assert first == again
    assert first != other
    assert {500, 503} & set(first) and 404 in first


def test_scripted_failures_then_success(emulator):
    emulator.faults.script("PUT", r"/alertRules/r1$", 503, times=2, retry_after=0)
    client = sentinel_client(emulator, retry_total=0)
    statuses = [send(client, "PUT", rule_path(emulator, "r1"), rule()).status_code for _ in range(3)]
    assert statuses == [503, 503, 201]
    assert emulator.counters[emulator.workspace.name]["errors"] == 2


def test_dropped_connection_is_retried_by_the_sdk(emulator, sentinel_client):
    emulator.faults.drop_connection("GET", r"/alertRules/r1$", times=1)
    assert send(sentinel_client, "GET", rule_path(emulator, "r1")).status_code == 404
    assert [r.status for r in emulator.requests] == [0, 404]


# --- state ----------------------------------------------------------------------------------------
def test_state_survives_a_restart(tmp_path):
    state = tmp_path / "state.json"
    with Emulator(EmulatorConfig.from_dict({}), state_file=state) as emu:
        created = send(sentinel_client(emu), "PUT", rule_path(emu, "r1"), rule()).json()
    assert state.exists()
    with Emulator(EmulatorConfig.from_dict({}), state_file=state) as emu:
        fetched = send(sentinel_client(emu), "GET", rule_path(emu, "r1"))
        assert fetched.json() == created
        assert emu.counters[emu.workspace.name]["writes"] == 1
        assert emu.counters[emu.workspace.name]["reads"] == 1


# --- checks beyond the JSON shape ---------------------------------------------------------------
@pytest.mark.parametrize("overrides, target", [
    ({"queryFrequency": "PT1M"}, "properties.queryFrequency"),
    ({"queryPeriod": "P15D"}, "properties.queryPeriod"),
    ({"suppressionEnabled": True, "suppressionDuration": "P2D"}, "properties.suppressionDuration"),
    ({"incidentConfiguration": {"createIncident": True, "groupingConfiguration": {
        "enabled": True, "reopenClosedIncident": False, "lookbackDuration": "PT5H", "matchingMethod": "Selected"}}},
     "properties.incidentConfiguration.groupingConfiguration.matchingMethod"),
    ({"incidentConfiguration": {"createIncident": True, "groupingConfiguration": {
        "enabled": True, "reopenClosedIncident": False, "lookbackDuration": "PT5H", "matchingMethod": "Selected",
        "groupByEntities": ["Host"]}}},
     "properties.incidentConfiguration.groupingConfiguration.groupByEntities"),
])
def test_rule_checks_beyond_the_schema(emulator, sentinel_client, overrides, target):
    response = send(sentinel_client, "PUT", rule_path(emulator, "r1"), rule(**overrides))
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["target"] == target


def test_suppression_range_is_not_checked_while_disabled(emulator, sentinel_client):
    response = send(sentinel_client, "PUT", rule_path(emulator, "r1"), rule(suppressionDuration="PT1M"))
    assert response.status_code == 201


def test_second_workbook_with_the_same_display_name_is_a_conflict(emulator, sentinel_client):
    ws = emulator.workspace
    base = (f"/subscriptions/{emulator.subscription_id}/resourceGroups/{ws.resource_group}"
            "/providers/Microsoft.Insights/workbooks/")
    body = {"location": "westeurope", "kind": "shared", "properties": {
        "displayName": "RMM", "category": "sentinel", "sourceId": ws.resource_id, "serializedData": "{}"}}
    assert send(sentinel_client, "PUT", base + "0a0a0a0a-0000-4000-8000-000000000001", body).status_code == 201
    assert send(sentinel_client, "PUT", base + "0a0a0a0a-0000-4000-8000-000000000001", body).status_code == 200
    clash = send(sentinel_client, "PUT", base + "0a0a0a0a-0000-4000-8000-000000000002", body)
    assert clash.status_code == 409
    assert clash.json()["error"]["message"] == "A Workbook with the same name already exists within this subscription."


def test_onboarding_can_install_the_builtin_fusion_rule(emulator_factory):
    emu = emulator_factory({"workspaces": [{"resource_group": "rg", "name": "ws", "builtin_fusion_rule": True}]})
    client = sentinel_client(emu)
    rules = list(client.alert_rules.list("rg", "ws"))
    assert [(r.name, r.kind) for r in rules] == [("BuiltInFusion", "Fusion")]
    fusion_put = send(client, "PUT", rule_path(emu, "BuiltInFusion"),
                      {"kind": "Fusion", "properties": {"alertRuleTemplateName": "x", "enabled": False}})
    assert fusion_put.status_code == 200  # Fusion rules are served (AlertRules.json 2024-09-01): disabled here
    assert fusion_put.json()["properties"]["enabled"] is False


def test_non_json_body_is_415(emulator, sentinel_client):
    response = send(sentinel_client, "PUT", rule_path(emulator, "r1"), None, headers={"Content-Type": "text/plain"})
    assert response.status_code == 415 and response.json()["error"]["code"] == "UnsupportedMediaType"


# --- optional RBAC ----------------------------------------------------------------------------------
def test_rbac_lighthouse_roles_allow_content_writes_and_reader_roles_get_403(emulator_factory):
    config = {**TENANTS, "rbac": True,
              "subscriptions": {SUB: {"tenant": CUSTOMER, "delegated_to": [MSSP, STRANGER],
                                      "roles": {STRANGER: ["Microsoft Sentinel Reader"]}}}}
    emu = emulator_factory(config)
    mssp, reader = sentinel_client(emu, MSSP), sentinel_client(emu, STRANGER)
    assert send(mssp, "PUT", rule_path(emu, "r1"), rule()).status_code == 201
    assert send(reader, "GET", rule_path(emu, "r1")).status_code == 200
    denied = send(reader, "PUT", rule_path(emu, "r1"), rule())
    assert denied.status_code == 403
    error = denied.json()["error"]
    assert error["code"] == "AuthorizationFailed" and "Microsoft.SecurityInsights/alertRules/write" in error["message"]
    permissions = send(reader, "GET", f"{emu.workspace.resource_id}/providers/Microsoft.Authorization/permissions",
                       api_version="2022-04-01").json()["value"]
    assert permissions[0]["actions"] and "Microsoft.SecurityInsights/*/read" in permissions[0]["actions"]


def test_permissions_api_is_absent_while_rbac_is_off(emulator, sentinel_client):
    response = send(sentinel_client, "GET", f"{emulator.workspace.resource_id}/providers/Microsoft.Authorization/permissions",
                    api_version="2022-04-01")
    assert response.status_code == 404
