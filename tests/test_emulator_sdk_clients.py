"""Real Azure SDK packages, unmodified (only base_url, credential and CA), against the emulator:
create, get, list, update and delete for each resource type they support (test dependencies:
azure-mgmt-securityinsight, azure-mgmt-loganalytics, azure-mgmt-applicationinsights)."""
from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import ResourceNotFoundError

from packer.emulator.clients import loganalytics_client, sentinel_client


def _rule_model(name: str, query: str = "SecurityEvent | project Computer"):
    from azure.mgmt.securityinsight.models import ScheduledAlertRule

    return ScheduledAlertRule(display_name=name, enabled=True, query=query, query_frequency="PT1H",
                              query_period="PT1H", severity="Low", trigger_operator="GreaterThan",
                              trigger_threshold=0, suppression_duration="PT5H", suppression_enabled=False)


def test_securityinsight_alert_rules_create_get_list_update_delete(emulator):
    client = sentinel_client(emulator)
    ws = emulator.workspace
    created = client.alert_rules.create_or_update(ws.resource_group, ws.name, "r1", _rule_model("first"))
    assert created.display_name == "first" and created.etag and created.kind == "Scheduled"
    got = client.alert_rules.get(ws.resource_group, ws.name, "r1")
    assert got.query == "SecurityEvent | project Computer" and got.etag == created.etag
    assert [r.name for r in client.alert_rules.list(ws.resource_group, ws.name)] == ["r1"]
    changed = _rule_model("second")
    changed.etag = got.etag
    updated = client.alert_rules.create_or_update(ws.resource_group, ws.name, "r1", changed)
    assert updated.display_name == "second" and updated.etag != got.etag
    client.alert_rules.delete(ws.resource_group, ws.name, "r1")
    with pytest.raises(ResourceNotFoundError):
        client.alert_rules.get(ws.resource_group, ws.name, "r1")


def test_loganalytics_saved_searches_and_custom_tables(emulator):
    from azure.mgmt.loganalytics.models import Column, SavedSearch, Schema, Table

    client = loganalytics_client(emulator)
    ws = emulator.workspace
    search = SavedSearch(category="Parsers", display_name="p", query="SecurityEvent | take 1",
                         function_alias="MyParser")
    client.saved_searches.create_or_update(ws.resource_group, ws.name, "s1", search)
    assert client.saved_searches.get(ws.resource_group, ws.name, "s1").function_alias == "MyParser"
    search.display_name = "p2"
    client.saved_searches.create_or_update(ws.resource_group, ws.name, "s1", search)
    assert [s.display_name for s in client.saved_searches.list_by_workspace(ws.resource_group, ws.name).value] == ["p2"]
    client.saved_searches.delete(ws.resource_group, ws.name, "s1")
    assert client.saved_searches.list_by_workspace(ws.resource_group, ws.name).value == []

    table = Table(schema=Schema(name="Audit_CL", columns=[Column(name="TimeGenerated", type="dateTime"),
                                                          Column(name="Actor", type="string")]))
    made = client.tables.begin_create_or_update(ws.resource_group, ws.name, "Audit_CL", table).result()
    assert made.name == "Audit_CL" and [c.name for c in made.schema.columns] == ["TimeGenerated", "Actor"]
    assert "Audit_CL" in [t.name for t in client.tables.list_by_workspace(ws.resource_group, ws.name)]
    sentinel = sentinel_client(emulator)  # a rule may now read the new table
    sentinel.alert_rules.create_or_update(ws.resource_group, ws.name, "r1", _rule_model("a", "Audit_CL | project Actor"))
    client.tables.begin_delete(ws.resource_group, ws.name, "Audit_CL").result()
    with pytest.raises(ResourceNotFoundError):
        client.tables.get(ws.resource_group, ws.name, "Audit_CL")


def test_applicationinsights_workbooks_create_get_list_update_delete(emulator):
    from azure.mgmt.applicationinsights import ApplicationInsightsManagementClient
    from azure.mgmt.applicationinsights.v2023_06_01.models import Workbook, WorkbookUpdateParameters

    client = ApplicationInsightsManagementClient(emulator.credential(), emulator.subscription_id,
                                                 base_url=emulator.base_url, connection_verify=emulator.ca_path)
    rg, name = emulator.workspace.resource_group, str(uuid.uuid4())
    book = Workbook(location="westeurope", kind="shared", display_name="w", category="sentinel",
                    serialized_data='{"version":"Notebook/1.0","items":[]}')
    created = client.workbooks.create_or_update(rg, name, book)
    assert created.display_name == "w" and created.version == "Notebook/1.0"
    assert client.workbooks.get(rg, name).category == "sentinel"
    assert [w.name for w in client.workbooks.list_by_resource_group(rg, category="sentinel")] == [name]
    assert [w.name for w in client.workbooks.list_by_subscription(category="sentinel")] == [name]
    updated = client.workbooks.update(rg, name, workbook_update_parameters=WorkbookUpdateParameters(display_name="w2"))
    assert updated.display_name == "w2"
    client.workbooks.delete(rg, name)
    with pytest.raises(ResourceNotFoundError):
        client.workbooks.get(rg, name)
