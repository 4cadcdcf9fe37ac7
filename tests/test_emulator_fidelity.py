"""The emulator refuses what Azure refuses (issue 13's table, one test per row)."""
from __future__ import annotations

import json

import pytest

from packer.emulator import querycheck
from packer.emulator.clients import send, sentinel_client
from packer.kql.analyser import KqlAnalyser, KqlUnavailable, find_node


@pytest.fixture
def node_available():
    try:
        find_node()
    except KqlUnavailable as exc:
        pytest.skip(f"query compilation needs Kusto.Language (Node.js and `npm ci`): {exc}")


def rule(query: str = "SecurityEvent | project Computer, Account", **extra) -> dict:
    return {"kind": "Scheduled", "properties": {
        "displayName": "r", "enabled": True, "query": query, "queryFrequency": "PT1H", "queryPeriod": "PT1H",
        "severity": "Low", "triggerOperator": "GreaterThan", "triggerThreshold": 0,
        "suppressionDuration": "PT5H", "suppressionEnabled": False, **extra}}


def rules_path(emu, name: str = "r1") -> str:
    return f"{emu.workspace.resource_id}/providers/Microsoft.SecurityInsights/alertRules/{name}"


# --- queries compiled at PUT --------------------------------------------------------------------
def test_a_syntax_error_is_refused_as_sentinel_does(node_available, emulator):
    answer = send(sentinel_client(emulator), "PUT", rules_path(emulator), rule("SecurityEvent | where ("))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "BadRequest"
    assert error["message"].startswith("Request is invalid and cannot be processed: Syntax error: SYN0002:")
    assert "on line [1,24]" in error["message"]


def test_an_unknown_column_is_refused_with_sem0100(node_available, emulator):
    answer = send(sentinel_client(emulator), "PUT", rules_path(emulator),
                  rule("SecurityEvent | extend Ip = IpAddresss"))
    assert answer.status_code == 400
    message = answer.json()["error"]["message"]
    assert message.startswith("FailedToResolveScalarExpression; Message: ")
    inner = json.loads(message.split("Message: ", 1)[1])["error"]["innererror"]
    assert inner["code"] == "SemanticError"
    assert inner["innererror"] == {"code": "SEM0100",
                                   "message": "'extend' operator: Failed to resolve scalar expression named 'IpAddresss'"}


def test_a_query_that_compiles_is_stored(node_available, emulator):
    assert send(sentinel_client(emulator), "PUT", rules_path(emulator), rule()).status_code == 201


def test_a_rule_may_call_a_saved_function_of_its_workspace(node_available, emulator):
    client = sentinel_client(emulator)
    search = f"{emulator.workspace.resource_id}/savedSearches/parser1"
    body = {"properties": {"category": "Parsers", "displayName": "p", "functionAlias": "MyHosts",
                           "query": "SecurityEvent | project HostName = Computer"}}
    assert send(client, "PUT", search, body).status_code == 200
    assert send(client, "PUT", rules_path(emulator), rule("MyHosts | where HostName != ''")).status_code == 201
    refused = send(client, "PUT", rules_path(emulator, "r2"), rule("MyHosts | where Computer != ''"))
    assert refused.status_code == 400 and "named 'Computer'" in refused.text()


def test_a_saved_function_with_a_syntax_error_is_refused(node_available, emulator):
    search = f"{emulator.workspace.resource_id}/savedSearches/parser1"
    body = {"properties": {"category": "Parsers", "displayName": "p", "functionAlias": "Broken",
                           "query": "SecurityEvent | where ("}}
    answer = send(sentinel_client(emulator), "PUT", search, body)
    assert answer.status_code == 400 and "Syntax error" in answer.text()


def test_compilation_is_cached_per_query_text(node_available, emulator, monkeypatch):
    client = sentinel_client(emulator)
    query = "SecurityEvent | project Computer, Account, CachedOnce = 1"
    assert send(client, "PUT", rules_path(emulator), rule(query)).status_code == 201
    calls = []
    original = KqlAnalyser.analysis
    monkeypatch.setattr(KqlAnalyser, "analysis", lambda self, text: calls.append(text) or original(self, text))
    assert send(client, "PUT", rules_path(emulator, "r2"), rule(query)).status_code == 201
    assert calls == []
    assert send(client, "PUT", rules_path(emulator, "r3"), rule(query + ", Other = 2")).status_code == 201
    assert len(calls) == 1


# --- mapped columns -------------------------------------------------------------------------
@pytest.mark.parametrize("extra, target, message", [
    ({"entityMappings": [{"entityType": "IP", "fieldMappings": [{"identifier": "Address", "columnName": "IpAddress"}]}]},
     "properties.entityMappings.0.fieldMappings.0.columnName",
     "Error in EntityMappings: The given column 'IpAddress' does not exist."),
    ({"entityMappings": [{"entityType": "Host", "fieldMappings": [{"identifier": "HostName", "columnName": "computer"}]}]},
     "properties.entityMappings.0.fieldMappings.0.columnName",
     "Error in EntityMappings: The given column 'computer' does not exist."),  # case-sensitive
    ({"customDetails": {"Who": "Acount"}}, "properties.customDetails.Who",
     "Error in CustomDetails: The given column 'Acount' does not exist."),
    ({"alertDetailsOverride": {"alertSeverityColumnName": "Sev"}},
     "properties.alertDetailsOverride.alertSeverityColumnName",
     "Error in AlertDetailsOverride: The given column 'Sev' does not exist."),
])
def test_a_mapped_column_the_query_does_not_output_is_refused(node_available, emulator, extra, target, message):
    answer = send(sentinel_client(emulator), "PUT", rules_path(emulator), rule(**extra))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["message"] == message
    assert error["details"][0]["target"] == target


def test_mapped_columns_the_query_outputs_are_accepted(node_available, emulator):
    extra = {"entityMappings": [{"entityType": "Host", "fieldMappings": [{"identifier": "HostName", "columnName": "Computer"}]}],
             "customDetails": {"Who": "Account"},
             "alertDetailsOverride": {"alertDisplayNameFormat": "Seen on {{NoSuchColumn}}",
                                      "alertSeverityColumnName": "Account"}}
    assert send(sentinel_client(emulator), "PUT", rules_path(emulator), rule(**extra)).status_code == 201


def test_without_kusto_language_the_table_check_still_answers(emulator, monkeypatch):
    monkeypatch.setattr(querycheck, "_shared", querycheck.QueryCompiler())
    emulator.service.handlers.compiler = querycheck.shared_compiler()
    emulator.service.handlers.compiler.unavailable = "no node (simulated)"
    client = sentinel_client(emulator)
    assert send(client, "PUT", rules_path(emulator), rule("SecurityEvent | where (")).status_code == 201
    missing = send(client, "PUT", rules_path(emulator, "r2"), rule("NoSuchTable_CL | take 1"))
    assert missing.status_code == 400 and "One of the tables does not exist" in missing.text()


# --- api-versions -----------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["2024-01-01-preview", "2023-12-01-preview", "2022-10-01-preview",
                                     "2021-03-01-preview"])
def test_real_preview_api_versions_are_served(emulator, version):
    client = sentinel_client(emulator)
    assert send(client, "GET", rules_path(emulator).rsplit("/", 1)[0], api_version=version).status_code == 200
    metadata = f"{emulator.workspace.resource_id}/providers/Microsoft.SecurityInsights/metadata"
    assert send(client, "GET", metadata, api_version=version).status_code == 200


def test_metadata_is_not_served_at_a_stable_version_whose_spec_lacks_it(emulator):
    metadata = f"{emulator.workspace.resource_id}/providers/Microsoft.SecurityInsights/metadata"
    answer = send(sentinel_client(emulator), "GET", metadata, api_version="2022-11-01")
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "NoRegisteredProviderFound"


@pytest.mark.parametrize("path", ["/subscriptions/{s}", "/subscriptions/{s}/resourceGroups/{rg}"])
def test_subscription_and_group_reads_check_the_api_version(emulator, path):
    client = sentinel_client(emulator)
    path = path.format(s=emulator.subscription_id, rg=emulator.workspace.resource_group)
    refused = send(client, "GET", path, api_version="1999-01-01")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "InvalidApiVersionParameter"
    assert error["message"].startswith("The api-version '1999-01-01' is invalid. The supported versions are '")
    assert send(client, "GET", path, api_version="2022-12-01").status_code == 200


# --- tokens -----------------------------------------------------------------------------------
def test_a_token_for_another_audience_is_refused(emulator):
    from azure.core.rest import HttpRequest

    from packer.emulator.credential import EmulatorCredential

    class GraphToken(EmulatorCredential):  # what a client configured with the Graph scope would send
        def get_token(self, *scopes, **kwargs):
            return super().get_token("https://graph.microsoft.com/.default", **kwargs)

        def get_token_info(self, *scopes, options=None):
            return super().get_token_info("https://graph.microsoft.com/.default", options=options)

    from azure.mgmt.securityinsight import SecurityInsights

    client = SecurityInsights(GraphToken(emulator.tenant_id), emulator.subscription_id, base_url=emulator.base_url,
                              connection_verify=emulator.ca_path)
    answer = client._send_request(HttpRequest("GET", f"/subscriptions/{emulator.subscription_id}",
                                              params={"api-version": "2022-12-01"}))
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert "wrong audience or resource 'https://graph.microsoft.com'" in error["message"]
    arm = sentinel_client(emulator)  # the ARM scope's token is accepted
    assert send(arm, "GET", f"/subscriptions/{emulator.subscription_id}", api_version="2022-12-01").status_code == 200


# --- rule kinds ---------------------------------------------------------------------------------
def test_fusion_and_incident_creation_rules_are_served(emulator, shared):
    examples = (shared / "specs/specification/securityinsights/resource-manager/Microsoft.SecurityInsights/"
                "stable/2024-09-01/examples/alertRules")
    client = sentinel_client(emulator)
    for name in ("CreateFusionAlertRule.json", "CreateMicrosoftSecurityIncidentCreationAlertRule.json"):
        example = json.loads((examples / name).read_text(encoding="utf-8"))
        body = example["parameters"]["alertRule"]
        answer = send(client, "PUT", rules_path(emulator, name.split(".")[0]), body, api_version="2024-09-01")
        assert answer.status_code == 201, answer.text()
        got = answer.json()
        assert got["kind"] == body["kind"]
        assert {k: got["properties"][k] for k in body["properties"]} == body["properties"]
        assert "lastModifiedUtc" in got["properties"]
    missing = {"kind": "MicrosoftSecurityIncidentCreation", "properties": {"displayName": "x", "enabled": True}}
    refused = send(client, "PUT", rules_path(emulator, "msic"), missing, api_version="2024-09-01")
    assert refused.status_code == 400 and "productFilter" in refused.text()


# --- PATCH and list options ---------------------------------------------------------------------
def _metadata(emu, name: str, kind: str, parent: str) -> tuple[str, dict]:
    si = f"{emu.workspace.resource_id}/providers/Microsoft.SecurityInsights"
    return f"{si}/metadata/{name}", {"properties": {"kind": kind, "parentId": f"{si}/alertRules/{parent}",
                                                    "version": "1.0.0"}}


def test_metadata_patch_changes_only_the_members_sent(emulator):
    client = sentinel_client(emulator)
    path, body = _metadata(emulator, "m1", "AnalyticsRule", "r1")
    created = send(client, "PUT", path, body).json()
    patched = send(client, "PATCH", path, {"properties": {"version": "1.0.1"}})
    assert patched.status_code == 200
    props = patched.json()["properties"]
    assert props["version"] == "1.0.1" and props["parentId"] == body["properties"]["parentId"]
    assert patched.json()["etag"] != created["etag"]
    assert send(client, "PATCH", path.replace("/m1", "/absent"), {"properties": {}}).status_code == 404
    rule = rules_path(emulator)
    assert send(client, "PATCH", rule, {"properties": {}}).status_code == 405  # AlertRules.json has no PATCH


def test_metadata_list_takes_filter_orderby_skip_and_top(emulator):
    client = sentinel_client(emulator)
    for n, kind in enumerate(["AnalyticsRule", "Workbook", "AnalyticsRule", "AnalyticsRule", "Parser"]):
        path, body = _metadata(emulator, f"m{n}", kind, f"r{n}")
        assert send(client, "PUT", path, body).status_code == 201
    listing = f"{emulator.workspace.resource_id}/providers/Microsoft.SecurityInsights/metadata"
    query = {"$filter": "properties/kind eq 'AnalyticsRule'", "$orderby": "properties/parentId desc",
             "$skip": "1", "$top": "1"}
    names = [v["name"] for v in send(client, "GET", listing, **query).json()["value"]]
    assert names == ["m2"]  # AnalyticsRule: r3, r2, r0 by parentId desc; skip 1, top 1
    assert len(send(client, "GET", listing, **{"$filter": "properties/kind ne 'AnalyticsRule'"}).json()["value"]) == 2
    assert send(client, "GET", listing, **{"$filter": "startswith(name, 'm')"}).status_code == 400


def test_workbook_patch_and_list_by_subscription(emulator):
    client = sentinel_client(emulator)
    rg = emulator.workspace.resource_group
    path = (f"/subscriptions/{emulator.subscription_id}/resourceGroups/{rg}/providers/Microsoft.Insights/"
            "workbooks/0b6c7d8e-0000-4000-8000-000000000001")
    body = {"location": "westeurope", "kind": "shared",
            "properties": {"displayName": "w", "category": "sentinel", "serializedData": "{}"}}
    assert send(client, "PUT", path, body).status_code == 201
    patched = send(client, "PATCH", path, {"tags": {"team": "soc"}, "properties": {"displayName": "w2"}})
    assert patched.status_code == 200
    assert patched.json()["properties"]["displayName"] == "w2" and patched.json()["tags"] == {"team": "soc"}
    listing = f"/subscriptions/{emulator.subscription_id}/providers/Microsoft.Insights/workbooks"
    found = send(client, "GET", listing, category="sentinel").json()["value"]
    assert [w["properties"]["displayName"] for w in found] == ["w2"]


# --- unknown members ----------------------------------------------------------------------------
def test_unknown_members_are_dropped_per_the_api_versions_spec(emulator, shared):
    client = sentinel_client(emulator)
    body = rule(madeUp="x", entityMappings=[{"entityType": "Host", "fieldMappings": [
        {"identifier": "HostName", "columnName": "Computer", "extra": 1}]}],
        sentinelEntitiesMappings=[{"columnName": "Computer"}])
    body["unknownTop"] = {"a": 1}
    for version, kept in (("2024-09-01", False), ("2025-10-01-preview", True)):
        put = send(client, "PUT", rules_path(emulator, version), body, api_version=version)
        assert put.status_code == 201, put.text()
        for answer in (put.json(), send(client, "GET", rules_path(emulator, version), api_version=version).json()):
            assert "unknownTop" not in answer and "madeUp" not in answer["properties"]
            assert answer["properties"]["entityMappings"][0]["fieldMappings"][0] == {
                "identifier": "HostName", "columnName": "Computer"}
            # sentinelEntitiesMappings: only the preview spec defines it
            assert ("sentinelEntitiesMappings" in answer["properties"]) is kept
        assert emulator.store.get(rules_path(emulator, version)).get("unknownTop") is None


# --- faults -------------------------------------------------------------------------------------
def test_a_write_that_landed_before_the_connection_dropped_is_stored(emulator):
    from azure.core.exceptions import ServiceResponseError

    client = sentinel_client(emulator, retry_total=0)
    emulator.faults.drop_after_write("PUT", r"/alertRules/r1$")
    with pytest.raises(ServiceResponseError):
        send(client, "PUT", rules_path(emulator), rule())
    stored = emulator.store.get(rules_path(emulator))
    assert stored is not None and stored["properties"]["displayName"] == "r"
    # a client that reads before writing again sees its write and does not need to repeat it
    got = send(client, "GET", rules_path(emulator))
    assert got.status_code == 200 and got.json()["etag"] == stored["etag"]


def test_a_slow_answer_arrives_late_but_whole(emulator):
    import time

    client = sentinel_client(emulator)
    emulator.faults.slow("GET", r"/alertRules$", seconds=0.3)
    started = time.monotonic()
    answer = send(client, "GET", rules_path(emulator).rsplit("/", 1)[0])
    assert answer.status_code == 200 and time.monotonic() - started >= 0.3


# --- Sentinel's own limits ----------------------------------------------------------------------
def nrt_rule(enabled: bool = True) -> dict:
    return {"kind": "NRT", "properties": {
        "displayName": "n", "enabled": enabled, "query": "SecurityEvent | project Computer, Account",
        "severity": "Low", "suppressionDuration": "PT5H", "suppressionEnabled": False}}


def test_an_enabled_nrt_rule_beyond_fifty_is_refused_a_disabled_one_or_an_update_is_not(emulator):
    """50 enabled NRT rules per workspace (Microsoft Sentinel service limits). The refusal's
    wording is inferred (docs/emulator.md); the limit and the status are what is asserted."""
    client = sentinel_client(emulator)
    for i in range(50):
        assert send(client, "PUT", rules_path(emulator, f"nrt{i}"), nrt_rule()).status_code in (200, 201)
    refused = send(client, "PUT", rules_path(emulator, "nrt50"), nrt_rule())
    assert refused.status_code == 400
    assert "allowed limit 50" in refused.json()["error"]["message"]
    assert send(client, "GET", rules_path(emulator, "nrt50")).status_code == 404
    assert send(client, "PUT", rules_path(emulator, "nrt50"), nrt_rule(enabled=False)).status_code in (200, 201)
    assert send(client, "PUT", rules_path(emulator, "nrt7"), nrt_rule()).status_code == 200  # an update
    assert send(client, "PUT", rules_path(emulator, "sched"), rule()).status_code in (200, 201)  # its own limit
