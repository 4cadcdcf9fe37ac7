"""The emulator config: defaults, YAML/JSON loading, and errors that name the field."""
from __future__ import annotations

import pytest

from packer.emulator import EmulatorConfig
from packer.emulator.config import STANDARD_TABLES
from packer.errors import ConfigError


def test_empty_config_is_one_onboarded_workspace_with_the_standard_tables():
    config = EmulatorConfig.from_dict({})
    (sub,) = config.subscriptions
    (ws,) = config.workspaces
    assert sub.tenant in config.tenants and ws.subscription == sub.id and ws.sentinel_onboarded
    assert {t.name for t in ws.tables} == set(STANDARD_TABLES)
    assert {"DeviceProcessEvents", "DeviceNetworkEvents", "SecurityEvent", "Syslog", "CommonSecurityLog",
            "SigninLogs", "AuditLogs"} <= {t.name for t in ws.tables}


def test_standard_tables_carry_the_reference_columns_so_the_column_probe_sees_a_real_workspace():
    (ws,) = EmulatorConfig.from_dict({}).workspaces
    columns = {t.name: {name for name, _ in t.columns} for t in ws.tables}
    # the RMM rules read these; a workspace with the MDE connector has them
    assert {"DeviceId", "ReportId", "RemoteUrl", "InitiatingProcessVersionInfoCompanyName"} <= columns["DeviceNetworkEvents"]
    assert {"DeviceId", "ReportId", "ProcessVersionInfoCompanyName"} <= columns["DeviceProcessEvents"]


def test_a_named_table_without_columns_gets_its_reference_columns_or_only_time_generated():
    sub = "aaaaaaaa-0000-4000-8000-000000000001"
    config = EmulatorConfig.from_dict({
        "tenants": {"11111111-1111-4111-8111-111111111111": {"name": "Contoso"}},
        "subscriptions": {sub: {"tenant": "11111111-1111-4111-8111-111111111111"}},
        "workspaces": [{"subscription": sub, "resource_group": "rg", "name": "ws", "tables": ["Syslog", "Contoso_CL"]}],
    })
    (ws,) = config.workspaces
    columns = {t.name: {name for name, _ in t.columns} for t in ws.tables}
    assert {"Computer", "SyslogMessage", "Facility"} <= columns["Syslog"]
    assert columns["Contoso_CL"] == {"TimeGenerated"}


def test_yaml_file_with_lighthouse_and_throttling(tmp_path):
    path = tmp_path / "emu.yaml"
    path.write_text("""
tenants:
  11111111-1111-4111-8111-111111111111: {name: Contoso}
  22222222-2222-4222-8222-222222222222: {name: MSSP}
subscriptions:
  aaaaaaaa-0000-4000-8000-000000000001:
    tenant: 11111111-1111-4111-8111-111111111111
    delegated_to: [22222222-2222-4222-8222-222222222222]
workspaces:
  - {subscription: aaaaaaaa-0000-4000-8000-000000000001, resource_group: rg, name: ws1, location: westeurope,
     tables: [SecurityEvent, {Custom_CL: [TimeGenerated:datetime, Message]}]}
throttling: {scale: 0.1, writes: [20, 2]}
faults: {seed: 3, scripted: [{method: PUT, path: "alertRules/x$", status: 500, times: 2}]}
page_size: 7
""")
    config = EmulatorConfig.load(path)
    assert config.subscriptions[0].delegated_to == ("22222222-2222-4222-8222-222222222222",)
    assert config.workspaces[0].table("custom_cl").columns == (("TimeGenerated", "datetime"), ("Message", "string"))
    assert config.throttling.bucket("writes").size == pytest.approx(2.0)
    assert config.throttling.bucket("reads").refill_per_second == pytest.approx(2.5)
    assert config.faults.scripted[0].times == 2 and config.page_size == 7


@pytest.mark.parametrize("data, fragment", [
    ({"workspaces": [{"resource_group": "rg", "name": "w", "tabels": []}]}, "workspaces.0"),
    ({"subscriptions": {"not-a-guid": {}}}, "subscriptions"),
    ({"throttling": {"reads": [0, 1]}}, "throttling.reads"),
    ({"faults": {"error_rate": 2}}, "faults.error_rate"),
    ({"subscriptions": {"aaaaaaaa-0000-4000-8000-000000000001": {"tenant": "11111111-1111-4111-8111-111111111111"}}},
     "not under tenants"),
])
def test_bad_config_names_the_field(data, fragment):
    with pytest.raises(ConfigError) as info:
        EmulatorConfig.from_dict(data)
    assert fragment in str(info.value)
