"""The emulator driven by the real Azure SDK clients: create, read, list, update, delete."""
from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from packer.emulator.clients import send
from packer.remote import api_versions


def rule_path(emu, name: str) -> str:
    return f"{emu.workspace.resource_id}/providers/Microsoft.SecurityInsights/alertRules/{name}"


def scheduled_rule(query: str = "SecurityEvent | where EventID == 4625", **overrides) -> dict:
    properties = {
        "displayName": "Failed logons", "enabled": True, "query": query, "queryFrequency": "PT1H",
        "queryPeriod": "PT1H", "severity": "Medium", "triggerOperator": "GreaterThan", "triggerThreshold": 0,
        "suppressionDuration": "PT5H", "suppressionEnabled": False, "tactics": ["CredentialAccess"],
    }
    properties.update(overrides)
    return {"kind": "Scheduled", "properties": properties}


def test_create_then_get_returns_server_fields(emulator, sentinel_client):
    created = send(sentinel_client, "PUT", rule_path(emulator, "r1"), scheduled_rule())
    assert created.status_code == 201
    body = created.json()
    assert body["id"] == rule_path(emulator, "r1")
    assert body["name"] == "r1" and body["type"] == "Microsoft.SecurityInsights/alertRules"
    assert body["etag"].startswith('"') and body["etag"].endswith('"')
    assert body["properties"]["lastModifiedUtc"].endswith("Z")
    assert body["systemData"]["createdAt"]
    fetched = send(sentinel_client, "GET", rule_path(emulator, "r1"))
    assert fetched.status_code == 200 and fetched.json() == body


def test_sdk_model_operations_read_what_raw_requests_wrote(emulator, sentinel_client):
    send(sentinel_client, "PUT", rule_path(emulator, "r1"), scheduled_rule())
    ws = emulator.workspace
    rule = sentinel_client.alert_rules.get(ws.resource_group, ws.name, "r1")
    assert rule.display_name == "Failed logons" and rule.query_frequency.total_seconds() == 3600
    with pytest.raises(ResourceNotFoundError):
        sentinel_client.alert_rules.get(ws.resource_group, ws.name, "absent")


def test_replace_answers_200_with_a_new_etag(emulator, sentinel_client):
    first = send(sentinel_client, "PUT", rule_path(emulator, "r1"), scheduled_rule()).json()
    second = send(sentinel_client, "PUT", rule_path(emulator, "r1"), scheduled_rule(severity="High"))
    assert second.status_code == 200
    assert second.json()["etag"] != first["etag"]
    assert second.json()["properties"]["severity"] == "High"
    assert second.json()["systemData"]["createdAt"] == first["systemData"]["createdAt"]


def test_list_follows_next_links_across_pages(emulator_factory):
    from packer.emulator.clients import sentinel_client

    emu = emulator_factory({"page_size": 3})
    client = sentinel_client(emu)
    for i in range(8):
        assert send(client, "PUT", rule_path(emu, f"r{i}"), scheduled_rule()).status_code == 201
    first_page = send(client, "GET", f"{emu.workspace.resource_id}/providers/Microsoft.SecurityInsights/alertRules")
    assert len(first_page.json()["value"]) == 3 and "nextLink" in first_page.json()
    ws = emu.workspace
    names = [r.name for r in client.alert_rules.list(ws.resource_group, ws.name)]
    assert names == [f"r{i}" for i in range(8)]
    pages = [r for r in emu.requests if r.path.endswith("/alertRules") and r.method == "GET"]
    assert len(pages) == 1 + 3  # the raw first page, then three pages through the SDK pager


def test_stale_etag_in_body_is_a_conflict_and_current_etag_succeeds(emulator, sentinel_client):
    created = send(sentinel_client, "PUT", rule_path(emulator, "r1"), scheduled_rule()).json()
    updated = send(sentinel_client, "PUT", rule_path(emulator, "r1"),
                   {**scheduled_rule(severity="High"), "etag": created["etag"]})
    assert updated.status_code == 200
    stale = send(sentinel_client, "PUT", rule_path(emulator, "r1"),
                 {**scheduled_rule(severity="Low"), "etag": created["etag"]})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "Conflict"
    assert emulator.store.get(rule_path(emulator, "r1"))["properties"]["severity"] == "High"


def test_stale_if_match_header_is_a_failed_precondition(emulator, sentinel_client):
    created = send(sentinel_client, "PUT", rule_path(emulator, "r1"), scheduled_rule()).json()
    emulator.store.put(rule_path(emulator, "r1"), {**created, "properties": {**created["properties"],
                                                                              "displayName": "edited in portal"}})
    stale = send(sentinel_client, "PUT", rule_path(emulator, "r1"), scheduled_rule(),
                 headers={"If-Match": created["etag"]})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "PreconditionFailed"
    current = emulator.store.get(rule_path(emulator, "r1"))["etag"]
    ok = send(sentinel_client, "PUT", rule_path(emulator, "r1"), scheduled_rule(), headers={"If-Match": current})
    assert ok.status_code == 200


def test_delete_under_a_stale_if_match_is_a_failed_precondition_and_keeps_the_resource(emulator, sentinel_client):
    """Issue 24, surviving mutation 3 (emulator side): DELETE checks If-Match like PUT (ARM's
    conditional requests; AlertRules_Delete has no body to carry an etag)."""
    created = send(sentinel_client, "PUT", rule_path(emulator, "r1"), scheduled_rule()).json()
    edited = emulator.store.put(rule_path(emulator, "r1"), {**created, "properties": {
        **created["properties"], "displayName": "edited in portal"}})
    stale = send(sentinel_client, "DELETE", rule_path(emulator, "r1"), headers={"If-Match": created["etag"]})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "PreconditionFailed"
    assert emulator.store.get(rule_path(emulator, "r1"))["etag"] == edited["etag"]
    current = send(sentinel_client, "DELETE", rule_path(emulator, "r1"), headers={"If-Match": edited["etag"]})
    assert current.status_code == 200 and emulator.store.get(rule_path(emulator, "r1")) is None


def test_delete_answers_200_then_204(emulator, sentinel_client):
    send(sentinel_client, "PUT", rule_path(emulator, "r1"), scheduled_rule())
    assert send(sentinel_client, "DELETE", rule_path(emulator, "r1")).status_code == 200
    assert send(sentinel_client, "DELETE", rule_path(emulator, "r1")).status_code == 204
    assert send(sentinel_client, "GET", rule_path(emulator, "r1")).status_code == 404
    assert emulator.counters[emulator.workspace.name]["deletes"] == 2


def test_unknown_api_version_gets_arm_error(emulator, sentinel_client):
    response = send(sentinel_client, "GET", rule_path(emulator, "r1"), api_version="2019-01-01-preview")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "NoRegisteredProviderFound"
    assert api_versions.SECURITY_INSIGHTS in error["message"]


def test_missing_workspace_is_resource_not_found(emulator, sentinel_client):
    path = rule_path(emulator, "r1").replace("/workspaces/ws-sentinel/", "/workspaces/nope/")
    response = send(sentinel_client, "GET", path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ResourceNotFound"


def test_workspace_not_onboarded_gets_sentinel_error(emulator_factory):
    from packer.emulator.clients import sentinel_client

    emu = emulator_factory({"workspaces": [{"resource_group": "rg", "name": "plain", "sentinel_onboarded": False}]})
    client = sentinel_client(emu)
    response = send(client, "GET", rule_path(emu, "r1"))
    assert response.status_code == 400
    assert "is not onboarded to Microsoft Sentinel" in response.json()["error"]["message"]
    onboarding = f"{emu.workspace.resource_id}/providers/Microsoft.SecurityInsights/onboardingStates/default"
    assert send(client, "PUT", onboarding, {"properties": {}}).status_code == 201
    assert send(client, "GET", rule_path(emu, "r1")).status_code == 404


def test_sdk_raises_http_error_with_arm_code(emulator, sentinel_client):
    ws = emulator.workspace
    with pytest.raises(HttpResponseError) as info:
        sentinel_client.alert_rules.get(ws.resource_group, "nope", "r1")
    assert info.value.status_code == 404
    assert info.value.error.code == "ResourceNotFound"


def test_sdk_models_round_trip_and_stale_etag_raises_resource_exists(emulator, sentinel_client):
    from datetime import timedelta

    from azure.core.exceptions import ResourceExistsError
    from azure.mgmt.securityinsight.models import ScheduledAlertRule

    ws = emulator.workspace
    model = ScheduledAlertRule(display_name="x", enabled=True, query="SecurityEvent | take 1",
                               query_frequency=timedelta(hours=1), query_period=timedelta(hours=2), severity="High",
                               trigger_operator="GreaterThan", trigger_threshold=0,
                               suppression_duration=timedelta(hours=5), suppression_enabled=False)
    created = sentinel_client.alert_rules.create_or_update(ws.resource_group, ws.name, "r1", model)
    assert created.etag and created.incident_configuration.create_incident is True
    fetched = sentinel_client.alert_rules.get(ws.resource_group, ws.name, "r1")
    fetched.severity = "Low"
    assert sentinel_client.alert_rules.create_or_update(ws.resource_group, ws.name, "r1", fetched).severity == "Low"
    fetched.severity = "Medium"  # still carries the etag read before the last write
    with pytest.raises(ResourceExistsError):
        sentinel_client.alert_rules.create_or_update(ws.resource_group, ws.name, "r1", fetched)


def test_portal_side_edit_through_the_store_gets_a_new_etag_without_validation(emulator, sentinel_client):
    created = send(sentinel_client, "PUT", rule_path(emulator, "r1"), scheduled_rule()).json()
    edited = emulator.store.put(rule_path(emulator, "r1"), {
        "kind": "Scheduled", "properties": {**created["properties"], "queryFrequency": "PT1M"}})
    assert edited["etag"] != created["etag"]
    assert edited["systemData"]["lastModifiedBy"] != created["systemData"]["lastModifiedBy"]
    assert send(sentinel_client, "GET", rule_path(emulator, "r1")).json()["properties"]["queryFrequency"] == "PT1M"


def test_concurrent_writers_with_the_same_etag_only_one_wins(emulator, sentinel_client):
    from concurrent.futures import ThreadPoolExecutor

    from packer.emulator.clients import sentinel_client as make_client

    etag = send(sentinel_client, "PUT", rule_path(emulator, "r1"), scheduled_rule()).json()["etag"]
    clients = [make_client(emulator, retry_total=0) for _ in range(6)]

    def write(i: int) -> int:
        body = {**scheduled_rule(displayName=f"writer {i}"), "etag": etag}
        return send(clients[i], "PUT", rule_path(emulator, "r1"), body).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(write, range(6)))
    assert statuses == [200, 409, 409, 409, 409, 409]
