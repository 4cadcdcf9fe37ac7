"""The emulator's table finder: enough KQL to imitate Sentinel's missing-table rejection."""
from __future__ import annotations

import pytest

from packer.emulator.kqltables import missing_tables, table_references

TABLES = frozenset({"SecurityEvent", "SigninLogs", "DeviceProcessEvents", "DeviceNetworkEvents", "Syslog"})


@pytest.mark.parametrize("query, expected", [
    ("SecurityEvent | where EventID == 4625", ["SecurityEvent"]),
    ("DeviceProcessEvents | join kind=inner (DeviceNetworkEvents | project DeviceId) on DeviceId",
     ["DeviceProcessEvents", "DeviceNetworkEvents"]),
    ("SigninLogs | lookup kind=leftouter Watch_CL on UserPrincipalName", ["SigninLogs", "Watch_CL"]),
    ("union withsource=x SecurityEvent, (Syslog | take 1)", ["SecurityEvent", "Syslog"]),
    ("SecurityEvent | union hint.concurrency=2 Syslog", ["SecurityEvent", "Syslog"]),
    ("let t = 5m; let base = SigninLogs | where TimeGenerated > ago(t); base | join (Syslog) on Computer",
     ["SigninLogs", "Syslog"]),
    ("let f = (x:string) { SecurityEvent | where Account == x }; f('a')", ["SecurityEvent"]),
    ("let m = materialize(SecurityEvent | take 10); m | extend c = toscalar(Syslog | count)",
     ["SecurityEvent", "Syslog"]),
    ("table('Custom_CL') | take 1", ["Custom_CL"]),
    ("let P = (T:(a:string)) { T | extend b = a }; let Q = () { let inner = Syslog; inner }; Q | invoke P()",
     ["Syslog"]),
    ("// Fake_CL in a comment\nSyslog | where SyslogMessage has 'Fake_CL | join Other_CL'", ["Syslog"]),
    ("datatable(a:string)['x'] | join (SecurityEvent) on $left.a == $right.Account", ["SecurityEvent"]),
    ("_Im_NetworkSession(starttime=ago(1h)) | where x", []),
    ("union Device* | count", []),
])
def test_table_references(query, expected):
    assert [u.name for u in table_references(query)] == expected


def test_missing_tables_are_reported_case_sensitively():
    assert missing_tables("securityevent | take 1", TABLES) == ["securityevent"]
    assert missing_tables("SecurityEvent | join (Gone_CL) on a | join (Gone_CL) on b", TABLES) == ["Gone_CL"]


def test_fuzzy_union_needs_only_one_existing_operand():
    assert missing_tables("union isfuzzy=true Gone_CL, Syslog", TABLES) == []
    assert missing_tables("union isfuzzy=true Gone_CL, AlsoGone_CL", TABLES) == ["Gone_CL", "AlsoGone_CL"]


def test_workspace_functions_and_asim_parsers_are_not_tables():
    assert missing_tables("RmmEvents | take 1", TABLES, frozenset({"RmmEvents"})) == []
    assert missing_tables("imProcessCreate | take 1", TABLES) == []
