"""`--specs DIR`: request bodies checked against swagger files; responses conform to them.

The swagger tree here is a small stand-in with the same structure as the Sentinel spec
(discriminator base in one file, ResourceWithEtag in another, body parameter by $ref). The
conformance test at the end runs against ../shared/specs when that folder exists.
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import shared_path
from packer.emulator.clients import send, sentinel_client
from packer.emulator.routes import KINDS
from packer.emulator.swagger import SwaggerSchemas

PATH = ("/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
        "Microsoft.OperationalInsights/workspaces/{workspaceName}/providers/Microsoft.SecurityInsights/"
        "alertRules/{ruleId}")


def write_specs(root: Path) -> Path:
    common = root / "common" / "2.0" / "types.json"
    common.parent.mkdir(parents=True)
    common.write_text(json.dumps({"swagger": "2.0", "info": {"version": "common"}, "paths": {}, "definitions": {
        "ResourceWithEtag": {"type": "object", "properties": {
            "id": {"type": "string", "readOnly": True}, "etag": {"type": "string"}}}}}))
    spec = root / "stable" / "2024-09-01" / "AlertRules.json"
    spec.parent.mkdir(parents=True)
    spec.write_text(json.dumps({
        "swagger": "2.0", "info": {"version": "2024-09-01"},
        "paths": {PATH: {"put": {
            "parameters": [{"$ref": "#/parameters/AlertRule"}],
            "responses": {"200": {"schema": {"$ref": "#/definitions/AlertRule"}},
                          "201": {"schema": {"$ref": "#/definitions/AlertRule"}}}}}},
        "parameters": {"AlertRule": {"in": "body", "name": "alertRule", "schema": {"$ref": "#/definitions/AlertRule"}}},
        "definitions": {
            "AlertRule": {"allOf": [{"$ref": "../../common/2.0/types.json#/definitions/ResourceWithEtag"}],
                          "discriminator": "kind", "required": ["kind"],
                          "properties": {"kind": {"type": "string", "enum": ["Scheduled", "NRT"],
                                                  "x-ms-enum": {"modelAsString": True}}}},
            "ScheduledAlertRule": {"allOf": [{"$ref": "#/definitions/AlertRule"}],
                                   "x-ms-discriminator-value": "Scheduled",
                                   "properties": {"properties": {"$ref": "#/definitions/Props"}}},
            "Props": {"type": "object", "required": ["displayName", "customSpecField"], "properties": {
                "displayName": {"type": "string"},
                "customSpecField": {"type": "string", "x-nullable": True},
                "triggerOperator": {"type": "string", "enum": ["GreaterThan", "LessThan"],
                                    "x-ms-enum": {"modelAsString": False}}}},
        }}))
    return root


def test_swagger_schema_follows_refs_discriminators_and_nullables(tmp_path):
    schemas = SwaggerSchemas(write_specs(tmp_path))
    validator = schemas.validator(KINDS["alertrules"], "2024-09-01")
    good = {"kind": "Scheduled", "etag": "x", "properties": {"displayName": "d", "customSpecField": None}}
    assert list(validator.iter_errors(good)) == []
    missing = {"kind": "Scheduled", "properties": {"displayName": "d"}}
    assert any("customSpecField" in e.message for e in validator.iter_errors(missing))
    closed_enum = {"kind": "Scheduled", "properties": {"displayName": "d", "customSpecField": "",
                                                       "triggerOperator": "Sometimes"}}
    assert list(validator.iter_errors(closed_enum))
    assert schemas.validator(KINDS["alertrules"], "2021-10-01") is None  # no file for that version


def test_specs_dir_adds_its_checks_to_the_packaged_schemas(emulator_factory, tmp_path):
    emu = emulator_factory({}, specs_dir=write_specs(tmp_path))
    client = sentinel_client(emu)
    path = f"{emu.workspace.resource_id}/providers/Microsoft.SecurityInsights/alertRules/r1"
    body = {"kind": "Scheduled", "properties": {
        "displayName": "r", "enabled": True, "query": "SecurityEvent", "queryFrequency": "PT1H",
        "queryPeriod": "PT1H", "severity": "Low", "triggerOperator": "GreaterThan", "triggerThreshold": 0,
        "suppressionDuration": "PT5H", "suppressionEnabled": False}}
    rejected = send(client, "PUT", path, body)
    assert rejected.status_code == 400
    assert rejected.json()["error"]["details"][0]["target"] == "properties.customSpecField"
    body["properties"]["customSpecField"] = "present"
    assert send(client, "PUT", path, body).status_code == 201


def _bodies(emu) -> list[tuple[str, str, dict]]:
    ws = emu.workspace
    si = f"{ws.resource_id}/providers/Microsoft.SecurityInsights"
    rule = {"kind": "Scheduled", "properties": {
        "displayName": "r", "enabled": True, "query": "SecurityEvent", "queryFrequency": "PT1H",
        "queryPeriod": "PT1H", "severity": "Low", "triggerOperator": "GreaterThan", "triggerThreshold": 0,
        "suppressionDuration": "PT5H", "suppressionEnabled": False}}
    return [
        ("alertrules", f"{si}/alertRules/r1", rule),
        ("metadata", f"{si}/metadata/m1", {"properties": {"kind": "AnalyticsRule", "parentId": f"{si}/alertRules/r1"}}),
        ("savedsearches", f"{ws.resource_id}/savedSearches/h1",
         {"properties": {"category": "Hunting Queries", "displayName": "h", "query": "Syslog"}}),
        ("workbooks", f"/subscriptions/{emu.subscription_id}/resourceGroups/{ws.resource_group}/providers/"
                      "Microsoft.Insights/workbooks/0b6c7d8e-0000-4000-8000-000000000001",
         {"location": "westeurope", "kind": "shared", "properties": {
             "displayName": "w", "category": "sentinel", "serializedData": "{}"}}),
    ]


def test_responses_conform_to_the_shared_specs(emulator_factory):
    """PUT and GET bodies of every writable route against ../shared/specs (skipped where absent)."""
    specs = shared_path("specs")
    emu = emulator_factory({}, specs_dir=specs)
    schemas = SwaggerSchemas(specs)
    client = sentinel_client(emu)
    checked = 0
    for kind_key, path, body in _bodies(emu):
        kind = KINDS[kind_key]
        put = send(client, "PUT", path, body)
        assert put.status_code in (200, 201), put.text()
        got = send(client, "GET", path)
        for method, response in (("put", put), ("get", got)):
            version = response.request.url.split("api-version=")[1].split("&")[0]
            validator = schemas.response_validator(kind, version, method, response.status_code)
            if validator is not None:
                assert [e.message for e in validator.iter_errors(response.json())] == []
                checked += 1
    assert checked, "no response schema found in the shared specs"


def test_a_member_may_be_null_only_where_the_specs_examples_return_it_null():
    """Decision: the examples are recorded service responses. GetScheduledAlertRule.json returns
    `alertRuleTemplateName: null` although the schema types it as a non-nullable string, so a
    response may carry null there; `displayName`, never null in an example, may not."""
    specs = shared_path("specs")
    validator = SwaggerSchemas(specs).response_validator(KINDS["alertrules"], "2024-09-01", "get", 200)
    assert validator is not None
    rule = {"kind": "Scheduled", "etag": "\"1\"", "properties": {
        "displayName": "r", "enabled": True, "query": "SecurityEvent", "queryFrequency": "PT1H",
        "queryPeriod": "PT1H", "severity": "Low", "triggerOperator": "GreaterThan", "triggerThreshold": 0,
        "suppressionDuration": "PT5H", "suppressionEnabled": False, "alertRuleTemplateName": None}}
    assert list(validator.iter_errors(rule)) == []
    rule["properties"]["displayName"] = None
    assert [e.message for e in validator.iter_errors(rule)] == ["None is not of type 'string'"]


def test_a_watchlist_upload_answers_as_the_specs_define_it(emulator_factory):
    """Watchlists_CreateOrUpdate's 201 (Watchlist, with Azure-AsyncOperation), the upload's status
    answers (common-types v5 OperationStatusResult) and the refused DELETE (ErrorResponse)."""
    specs = shared_path("specs")
    emu = emulator_factory({}, specs_dir=specs)
    schemas = SwaggerSchemas(specs)
    client = sentinel_client(emu)
    path = f"{emu.workspace.resource_id}/providers/Microsoft.SecurityInsights/watchlists/assets"
    put = send(client, "PUT", path, {"properties": {
        "displayName": "Assets", "provider": "Microsoft", "source": "assets.csv", "itemsSearchKey": "Host",
        "rawContent": "Host,Owner\nh1,o1\n", "contentType": "text/csv"}})
    assert put.status_code == 201 and put.headers["Azure-AsyncOperation"], put.text()
    version = put.request.url.split("api-version=")[1].split("&")[0]
    watchlist = schemas.response_validator(KINDS["watchlists"], version, "put", 201)
    status = schemas.definition_validator("specification/common-types/resource-management/v5/types.json",
                                          "OperationStatusResult")
    error = schemas.definition_validator("specification/common-types/resource-management/v5/types.json",
                                         "ErrorResponse")
    assert watchlist and status and error
    assert [e.message for e in watchlist.iter_errors(put.json())] == []
    refused = send(client, "DELETE", path)
    assert refused.status_code == 409
    assert [e.message for e in error.iter_errors(refused.json())] == []
    operation = urlsplit(put.headers["Azure-AsyncOperation"])
    answers = [send(client, "GET", operation.path, api_version=version).json() for _ in range(2)]
    assert [a["status"] for a in answers] == ["InProgress", "Succeeded"]
    for answer in answers:
        assert [e.message for e in status.iter_errors(answer)] == []
    done = send(client, "GET", path)
    assert [e.message for e in schemas.response_validator(KINDS["watchlists"], version, "get", 200)
            .iter_errors(done.json())] == []


def test_a_watchlist_delete_answers_as_the_specs_define_it(emulator_factory):
    """Watchlists_Delete: a status code the operation lists (202), every header its 202 lists
    (Azure-AsyncOperation, Location), and status answers that are OperationStatusResults."""
    specs = shared_path("specs")
    emu = emulator_factory({"watchlist_upload_polls": 1}, specs_dir=specs)
    schemas = SwaggerSchemas(specs)
    client = sentinel_client(emu)
    path = f"{emu.workspace.resource_id}/providers/Microsoft.SecurityInsights/watchlists/assets"
    put = send(client, "PUT", path, {"properties": {
        "displayName": "Assets", "provider": "Microsoft", "source": "assets.csv", "itemsSearchKey": "Host"}})
    assert put.status_code == 201, put.text()
    version = put.request.url.split("api-version=")[1].split("&")[0]
    found = schemas.operation(KINDS["watchlists"], version, "delete")
    assert found is not None, "Watchlists_Delete not found in the shared specs"
    responses = found[1]["responses"]
    deleted = send(client, "DELETE", path)
    assert str(deleted.status_code) in responses and deleted.status_code == 202
    assert set(responses["202"]["headers"]) == {"Azure-AsyncOperation", "Location"}
    assert all(deleted.headers.get(h) for h in responses["202"]["headers"])
    status = schemas.definition_validator("specification/common-types/resource-management/v5/types.json",
                                          "OperationStatusResult")
    operation = urlsplit(deleted.headers["Azure-AsyncOperation"])
    answers = [send(client, "GET", operation.path, api_version=version).json() for _ in range(2)]
    assert [a["status"] for a in answers] == ["InProgress", "Succeeded"]
    for answer in answers:
        assert [e.message for e in status.iter_errors(answer)] == []
    gone = send(client, "DELETE", path)
    assert gone.status_code == 204 and str(gone.status_code) in responses
