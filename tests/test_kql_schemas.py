"""Table schema files and Sentinel function declarations (no Node.js needed)."""
from __future__ import annotations

import json

import pytest

from conftest import shared_path
from packer.content.load import parser_from
from packer.content.yamlsource import load_yaml
from packer.errors import ConfigError, ContentError
from packer.kql.functions import asim_tables, parser_function, sentinel_functions
from packer.kql.schema import BUILTIN_DIR, load_tables, read_table

KUSTO_TYPES = {"string", "int", "long", "real", "decimal", "bool", "datetime", "timespan", "guid", "dynamic"}
REQUIRED_TABLES = {
    "DeviceProcessEvents", "DeviceNetworkEvents", "DeviceFileEvents", "DeviceEvents", "DeviceLogonEvents",
    "DeviceRegistryEvents", "DeviceInfo", "SecurityEvent", "SigninLogs", "AuditLogs", "AzureActivity",
    "OfficeActivity", "CommonSecurityLog", "Syslog", "SecurityAlert", "SecurityIncident",
    "ThreatIntelligenceIndicator", "Heartbeat", "Event", "W3CIISLog", "AADNonInteractiveUserSignInLogs",
    "DnsEvents", "EmailEvents", "IdentityLogonEvents", "BehaviorAnalytics", "Watchlist",
}


def test_builtin_schema_files_are_well_formed():
    paths = sorted(BUILTIN_DIR.glob("*.json"))
    assert len(paths) >= len(REQUIRED_TABLES)
    for path in paths:
        pairs = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=list)
        data = dict(pairs)
        names = [name for name, _ in data["columns"]]
        assert len({n.lower() for n in names}) == len(names), f"{path.name}: duplicate column"
        table = read_table(path)
        assert table.name == path.stem
        assert set(table.columns.values()) <= KUSTO_TYPES, path.name
        assert data["source"].startswith("https://learn.microsoft.com/"), path.name
        assert table.open or "TimeGenerated" in table.columns, path.name


def test_required_tables_are_covered():
    assert REQUIRED_TABLES <= set(load_tables())


def test_defender_tables_keep_timestamp():
    tables = load_tables()
    for name in ("DeviceProcessEvents", "DeviceNetworkEvents", "DeviceEvents", "EmailEvents", "IdentityLogonEvents"):
        assert tables[name].columns["Timestamp"] == "datetime", name


def test_microsoft_customtables_shape_merges_with_ours():
    custom = shared_path("corpus", "reference", "CustomTables")
    theirs = read_table(custom / "DeviceProcessEvents.json")
    merged = load_tables([custom])["DeviceProcessEvents"]
    assert set(theirs.columns) <= set(merged.columns)
    # the CustomTables file lacks ProcessVersionInfo*: our schema supplies them
    assert "ProcessVersionInfoCompanyName" not in theirs.columns
    assert "ProcessVersionInfoCompanyName" in merged.columns
    assert len(merged.sources) == 2


def test_unusable_schema_files_name_the_file(tmp_path):
    (tmp_path / "Bad_CL.json").write_text(json.dumps({"name": "Bad_CL", "columns": {"A": "varchar"}}))
    with pytest.raises(ContentError, match=r"Bad_CL\.json:1:1: unknown column type 'varchar'"):
        load_tables([tmp_path], builtin=False)
    (tmp_path / "Bad_CL.json").write_text("[1, 2]")
    with pytest.raises(ContentError, match=r"Bad_CL\.json:1:1: not a table schema"):
        load_tables([tmp_path], builtin=False)
    (tmp_path / "Bad_CL.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ContentError, match=r"Bad_CL\.json:1:1: not a readable JSON table schema"):
        load_tables([tmp_path], builtin=False)
    with pytest.raises(ConfigError, match="does not exist"):
        load_tables([tmp_path / "missing"], builtin=False)


def test_sentinel_functions_are_declared():
    names = {f.name for f in sentinel_functions()}
    for name in ("_GetWatchlist", "workspace", "app", "imNetworkSession", "_Im_NetworkSession", "imDns", "_Im_Dns",
                 "imWebSession", "_Im_WebSession", "imAuthentication", "imProcessCreate", "imFileEvent", "imRegistry",
                 "imAuditEvent", "_ASim_NetworkSession", "ASimDns"):
        assert name in names, name
    assert "ASimDnsActivityLogs" in asim_tables()


def test_parser_items_become_functions(tmp_path):
    path = tmp_path / "P.yaml"
    path.write_text("id: 4b1b1c4e-8a43-4a5f-bb55-0c7c1d3e2f10\nFunction:\n  Title: P\n  Version: '1.0.0'\n"
                    "FunctionName: PName\nFunctionAlias: PAlias\nFunctionParams:\n  - Name: since\n    Type: timespan\n"
                    "    Default: 1d\nFunctionQuery: |\n  SigninLogs | where TimeGenerated > ago(since)\n", encoding="utf-8")
    spec = parser_function(parser_from(load_yaml(path)))
    assert spec.name == "PAlias"
    assert spec.parameters == "(since:timespan = 1d)"
    assert "SigninLogs | where TimeGenerated > ago(since)" in spec.body
