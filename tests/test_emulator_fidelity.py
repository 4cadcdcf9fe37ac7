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
    ({"alertDetailsOverride": {"alertDisplayNameFormat": "Seen on {{Machine}}"}},
     "properties.alertDetailsOverride.alertDisplayNameFormat",
     "Error in AlertDetailsOverride: The given column 'Machine' does not exist."),
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
             "alertDetailsOverride": {"alertDisplayNameFormat": "Seen on {{Computer}}"}}
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
