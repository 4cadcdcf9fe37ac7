"""WorkspaceClient against the emulator: paging, typed errors, etags, no secrets in messages."""
from __future__ import annotations

import pytest

from packer import resource_ids
from packer.remote.client import WorkspaceClient
from packer.errors import ConfigError
from packer.remote.errors import AuthorizationFailed, BadRequest, Conflict, ConnectionFailed, ServerError
from packer.targets.model import Target

OTHER_TENANT = "99999999-9999-4999-8999-999999999999"


def _client(emu, tenant: str | None = None, **kwargs) -> WorkspaceClient:
    ws = emu.workspace
    target = Target(ws.name, emu.tenant_id, ws.subscription, ws.resource_group, ws.name, "a/b")
    kwargs.setdefault("retry_backoff_factor", 0.01)
    return WorkspaceClient(target, emu.credential(tenant), emu.base_url, emu.ca_path, **kwargs)


def _rule(name: str) -> dict:
    return {"kind": "Scheduled", "properties": {
        "displayName": name, "enabled": True, "query": "SecurityEvent | take 1", "queryFrequency": "PT1H",
        "queryPeriod": "PT1H", "severity": "Low", "triggerOperator": "GreaterThan", "triggerThreshold": 0,
        "suppressionDuration": "PT5H", "suppressionEnabled": False}}


def test_lists_follow_next_link_pages(emulator_factory):
    emu = emulator_factory({"page_size": 2})
    with _client(emu) as client:
        for n in range(5):
            emu.store.put(client.sentinel_collection("alertRules") + f"/rule-{n}", _rule(f"rule {n}"))
        rules = client.list_in(resource_ids.ALERT_RULES)
    assert sorted(r["properties"]["displayName"] for r in rules) == [f"rule {n}" for n in range(5)]
    list_calls = [r for r in emu.requests if r.method == "GET" and r.path.lower().endswith("/alertrules")]
    assert len(list_calls) == 3


def test_put_get_delete_with_etags(emulator):
    with _client(emulator) as client:
        rule_id = client.sentinel_collection("alertRules") + "/r1"
        created = client.put(rule_id, _rule("one"))
        assert client.get(rule_id)["etag"] == created["etag"]
        updated = client.put(rule_id, _rule("two"), etag=created["etag"])
        with pytest.raises(Conflict) as stale:
            client.put(rule_id, _rule("three"), etag=created["etag"])
        assert stale.value.code and stale.value.status in (409, 412)
        assert client.get(rule_id)["properties"]["displayName"] == "two"
        assert client.delete(rule_id, etag=updated["etag"]) is True
        assert client.get(rule_id) is None
        assert client.delete(rule_id) is False


def test_a_put_under_a_stale_etag_sends_it_as_if_match(emulator):
    """Issue 24, surviving mutation 2: the etag must travel as If-Match, not only in the body.
    ARM checks the header first and answers 412; the body's etag alone would get Sentinel's 409."""
    with _client(emulator) as client:
        rule_id = client.sentinel_collection("alertRules") + "/r1"
        created = client.put(rule_id, _rule("one"))
        client.put(rule_id, _rule("two"), etag=created["etag"])
        with pytest.raises(Conflict) as stale:
            client.put(rule_id, _rule("three"), etag=created["etag"])
    assert (stale.value.status, stale.value.code) == (412, "PreconditionFailed")
    assert emulator.store.get(rule_id)["properties"]["displayName"] == "two"


def test_a_conditional_put_carries_the_etag_in_the_body_and_as_if_match(emulator):
    """Sentinel's resource provider compares the body's etag (409 on a mismatch) and ARM's
    conditional requests use If-Match: the client sends both. Seen on the wire through
    azure-core's raw_request_hook, not a stub."""
    import json

    sent = []
    with _client(emulator, raw_request_hook=lambda request: sent.append(request.http_request)) as client:
        rule_id = client.sentinel_collection("alertRules") + "/r1"
        created = client.put(rule_id, _rule("one"))
        client.put(rule_id, _rule("two"), etag=created["etag"])
    put = [r for r in sent if r.method == "PUT"][-1]
    assert put.headers["If-Match"] == created["etag"]
    assert json.loads(put.body)["etag"] == created["etag"]


def test_a_delete_under_a_stale_etag_is_refused_and_keeps_the_resource(emulator):
    """Issue 24, surviving mutation 3 (client side): DELETE sends its etag as If-Match."""
    with _client(emulator) as client:
        rule_id = client.sentinel_collection("alertRules") + "/r1"
        created = client.put(rule_id, _rule("one"))
        updated = client.put(rule_id, _rule("edited elsewhere"), etag=created["etag"])
        with pytest.raises(Conflict) as stale:
            client.delete(rule_id, etag=created["etag"])
        assert stale.value.status == 412
        assert emulator.store.get(rule_id)["etag"] == updated["etag"]
        assert client.delete(rule_id, etag=updated["etag"]) is True


def test_a_token_of_another_tenant_is_refused_without_leaking_it(emulator):
    with _client(emulator, tenant=OTHER_TENANT) as client:
        with pytest.raises(AuthorizationFailed) as refused:
            client.list_in(resource_ids.ALERT_RULES)
    token = emulator.credential(OTHER_TENANT).get_token("x").token
    assert refused.value.code and token.split(".")[1] not in str(refused.value)


def test_api_errors_keep_the_apis_code_and_message(emulator):
    with _client(emulator) as client:
        rule = _rule("bad")
        rule["properties"]["query"] = "NoSuchTable | take 1"
        with pytest.raises(BadRequest, match="One of the tables does not exist"):
            client.put(client.sentinel_collection("alertRules") + "/bad", rule)


def test_server_errors_are_retried_by_azure_core_then_surface_typed(emulator):
    with _client(emulator, retry_total=2) as client:
        emulator.faults.script("GET", r"/alertRules$", 503, times=2)
        assert client.list_in(resource_ids.ALERT_RULES) == []  # two 503s, then success
        emulator.faults.script("GET", r"/alertRules$", 500, times=5)
        with pytest.raises(ServerError):
            client.list_in(resource_ids.ALERT_RULES)


def test_tables_and_workspace_reads(emulator):
    with _client(emulator) as client:
        names = {t["name"] for t in client.list_in(resource_ids.TABLES)}
        assert {"SecurityEvent", "DeviceProcessEvents"} <= names
        assert client.get_workspace()["location"] == emulator.workspace.location


def test_a_missing_wrong_or_unreachable_endpoint_is_an_error_not_a_traceback(emulator_factory, tmp_path):
    import trustme

    emu, other = emulator_factory(), emulator_factory()
    ws = emu.workspace
    target = Target(ws.name, emu.tenant_id, ws.subscription, ws.resource_group, ws.name, "a/b")
    with pytest.raises(ConfigError, match="nope.pem does not exist"):
        WorkspaceClient(target, emu.credential(), emu.base_url, str(tmp_path / "nope.pem"))
    wrong_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(wrong_ca))
    with WorkspaceClient(target, emu.credential(), emu.base_url, str(wrong_ca), retry_total=0) as client:
        with pytest.raises(ConnectionFailed, match="CERTIFICATE_VERIFY_FAILED"):
            client.list_in(resource_ids.ALERT_RULES)
    closed = other.base_url
    other.stop()
    with WorkspaceClient(target, emu.credential(), closed, emu.ca_path, retry_total=0) as client:
        with pytest.raises(ConnectionFailed):
            client.list_in(resource_ids.ALERT_RULES)
