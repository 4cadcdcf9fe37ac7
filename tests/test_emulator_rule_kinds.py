"""Alert rule kinds per api-version: NRT exists only in the preview SecurityInsights specs.

The emulator refuses an NRT body at a version whose spec lacks the kind and leaves NRT rules
out of lists at such versions; the tool sends each kind at a version that defines it.
"""
from __future__ import annotations

from dataclasses import replace

from packer.content.model import RuleKind
from packer.emulator.clients import send
from packer.package.standalone import rule_template
from packer.remote.api_versions import SECURITY_INSIGHTS, SECURITY_INSIGHTS_PREVIEW, api_version_for
from packer.validate import load_content
from tests.conftest import CONTENT


def rule_path(emu, name: str) -> str:
    return f"{emu.workspace.resource_id}/providers/Microsoft.SecurityInsights/alertRules/{name}"


def nrt_rule() -> dict:
    return {"kind": "NRT", "properties": {"displayName": "n", "enabled": True, "query": "SigninLogs",
                                         "severity": "High", "suppressionDuration": "PT5H",
                                         "suppressionEnabled": False}}


def scheduled_rule() -> dict:
    return {"kind": "Scheduled", "properties": {
        "displayName": "s", "enabled": True, "query": "SecurityEvent", "queryFrequency": "PT1H",
        "queryPeriod": "PT1H", "severity": "Low", "triggerOperator": "GreaterThan", "triggerThreshold": 0,
        "suppressionDuration": "PT5H", "suppressionEnabled": False}}


def test_nrt_is_refused_at_stable_versions_naming_kind(emulator, sentinel_client):
    for version in (SECURITY_INSIGHTS, "2025-09-01", "2021-10-01"):
        response = send(sentinel_client, "PUT", rule_path(emulator, "n1"), nrt_rule(), api_version=version)
        assert response.status_code == 400, version
        error = response.json()["error"]
        assert error["code"] == "BadRequest" and error["details"][0]["target"] == "kind"
        assert version in error["message"] and SECURITY_INSIGHTS_PREVIEW in error["message"]
    assert emulator.store.get(rule_path(emulator, "n1")) is None


def test_nrt_is_accepted_at_the_preview_version_the_tool_sends(emulator, sentinel_client):
    path = rule_path(emulator, "n1")
    assert api_version_for(path, kind="NRT") == SECURITY_INSIGHTS_PREVIEW
    response = send(sentinel_client, "PUT", path, nrt_rule(), api_version=SECURITY_INSIGHTS_PREVIEW)
    assert response.status_code == 201 and response.json()["kind"] == "NRT"


def test_scheduled_rules_are_written_at_the_stable_version(emulator, sentinel_client):
    path = rule_path(emulator, "s1")
    assert api_version_for(path, kind="Scheduled") == SECURITY_INSIGHTS
    assert send(sentinel_client, "PUT", path, scheduled_rule()).status_code == 201
    assert [r.api_version for r in emulator.requests if r.method == "PUT"] == [SECURITY_INSIGHTS]


def test_a_stable_list_leaves_nrt_rules_out_and_the_preview_list_has_every_kind(emulator, sentinel_client):
    send(sentinel_client, "PUT", rule_path(emulator, "n1"), nrt_rule())
    send(sentinel_client, "PUT", rule_path(emulator, "s1"), scheduled_rule())
    collection = rule_path(emulator, "").rstrip("/")

    def kinds(version: str) -> list[str]:
        response = send(sentinel_client, "GET", collection, api_version=version)
        return sorted(r["kind"] for r in response.json()["value"])

    assert kinds(SECURITY_INSIGHTS) == ["Scheduled"]
    assert kinds(SECURITY_INSIGHTS_PREVIEW) == ["NRT", "Scheduled"]
    assert api_version_for(collection) == SECURITY_INSIGHTS_PREVIEW  # what the tool lists at


def test_standalone_templates_pick_the_version_by_kind():
    scheduled = load_content(CONTENT, kql=False).analytic_rules[0]
    nrt = replace(scheduled, kind=RuleKind.NRT)
    assert rule_template(scheduled)["resources"][0]["apiVersion"] == SECURITY_INSIGHTS
    assert rule_template(nrt)["resources"][0]["apiVersion"] == SECURITY_INSIGHTS_PREVIEW
