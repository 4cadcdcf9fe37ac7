"""The per-workspace column check (issue 8): a rule reading a column its workspace's table lacks
is planned as blocked there, and doctor names the column; computed columns are not table columns."""
from __future__ import annotations


import pytest

from packer.content.load import load_content_unchecked
from packer.plan.compute import compute_plan
from packer.plan.model import Action
from packer.plan.query_needs import QueryNeeds, WorkspaceTables, default_query_needs
from packer.bodies.resources import ResourceType
from packer.rollout.doctor import doctor
from packer.rollout.fleet_plan import plan_fleet
from tests.conftest import CONTENT, kql_or_skip, worker_requests
from tests.fleetkit import KASEYA_RULE_ID, fleet_without_remote_url
from tests.plankit import deployment, edit, full_tables

KASEYA = "RMM tool abuse - Kaseya - Network Connection"
LEVEL = "RMM tool abuse - Level - Network Connection"
LACKING = "InitiatingProcessVersionInfoCompanyName"  # read by the Kaseya rule, not by Level's


@pytest.fixture(scope="module")
def node_available():
    kql_or_skip("the column check")


def table_body(name: str, columns=(), standard=()) -> dict:
    schema = {"name": name, "columns": [{"name": c, "type": "string"} for c in columns],
              "standardColumns": [{"name": c, "type": "string"} for c in standard]}
    return {"name": name, "properties": {"schema": schema}}


def test_missing_columns_read_schema_columns_and_standard_columns_case_insensitively():
    tables = WorkspaceTables.from_bodies([
        table_body("Contoso_CL", columns=["TimeGenerated", "Url"], standard=["TenantId"]),
        table_body("DeviceNetworkEvents", standard=["DeviceName", "RemoteIP"]),
        table_body("Unlisted"),  # a schema without a column list: its columns are not checked
    ])
    needs = QueryNeeds(frozenset({"Contoso_CL", "DeviceNetworkEvents", "Unlisted"}), {
        "Contoso_CL": frozenset({"url", "Host"}),
        "DeviceNetworkEvents": frozenset({"DeviceName", "RemoteUrl", "RemotePort", "Type", "_ResourceId"}),
        "Unlisted": frozenset({"Anything"}),
    })
    assert tables.missing_columns(needs.columns) == {"Contoso_CL": ["Host"], "DeviceNetworkEvents": ["RemotePort", "RemoteUrl"]}
    assert tables.blocked_reason(needs) == "Contoso_CL lacks column Host; DeviceNetworkEvents lacks columns RemotePort, RemoteUrl"


def test_a_missing_table_is_reported_once_not_again_for_its_columns():
    tables = WorkspaceTables.from_bodies([table_body("SigninLogs", standard=["UserPrincipalName"])])
    needs = QueryNeeds(frozenset({"AuditLogs", "SigninLogs"}),
                       {"AuditLogs": frozenset({"OperationName"}), "SigninLogs": frozenset({"UserPrincipalName"})})
    assert tables.blocked_reason(needs) == "table(s) missing in this workspace: AuditLogs"
    assert tables.blocked_reason(QueryNeeds(frozenset({"SigninLogs"}), needs.columns)) is None


@pytest.mark.parametrize("query,read", [
    ("DeviceNetworkEvents | extend Host = tostring(parse_url(RemoteUrl).Host) | where Host != ''", {"RemoteUrl"}),
    ("DeviceNetworkEvents | summarize Hits = count() by DeviceName | where Hits > 1", {"DeviceName"}),
    ("DeviceNetworkEvents | project Url = RemoteUrl | where Url has 'x'", {"RemoteUrl"}),
    ("DeviceNetworkEvents | project-rename Url = RemoteUrl | where Url has 'x'", {"RemoteUrl"}),
    # a column the query makes under the name of a table column it never reads
    (f"DeviceNetworkEvents | summarize by DeviceName | extend {LACKING} = 'x' | where {LACKING} == 'x'", {"DeviceName"}),
    ("DeviceNetworkEvents | where column_ifexists('RemoteUrl', '') has 'x'", set()),
])
def test_only_columns_read_from_the_table_count(node_available, query, read):
    needs = default_query_needs(query)
    assert needs.tables == {"DeviceNetworkEvents"}
    assert set(needs.columns.get("DeviceNetworkEvents", ())) == read


def test_a_parsers_output_columns_are_not_table_columns_its_inputs_are(node_available):
    content = load_content_unchecked(CONTENT)
    needs = default_query_needs("RMMToolActivity | where RMMTool == 'Kaseya' and ActivityType has 'Network'",
                                content.parsers)
    read = set().union(*needs.columns.values())
    assert not read & {"RMMTool", "ActivityType"}
    assert LACKING in needs.columns["DeviceNetworkEvents"]  # the parser's own filter reads it


def test_plan_blocks_the_rule_reading_a_column_the_workspace_lacks(node_available, emulator_factory, repo):
    # Level's rule makes a column of that name itself: not a column of the table, not blocked
    edit(repo / "analytic-rules" / "rmm_Level_netconn.yaml", r"^  \| project-away DomainIndex$",
         f"  | project-away DomainIndex\n  | extend {LACKING} = 'Level'\n  | where isnotempty({LACKING})")
    tables = full_tables("DeviceProcessEvents", "DeviceNetworkEvents", "Heartbeat", without={"DeviceNetworkEvents": [LACKING]})
    emu = emulator_factory({"workspaces": [{"name": "ws-cols", "resource_group": "rg-soc", "tables": tables}]})
    dep = deployment(emu, repo)
    try:
        plan = dep.plan(tables_needed=None)  # the default analysis: Kusto.Language
        rules = {i.name: i for i in plan.items if i.resource_type == ResourceType.ALERT_RULE}
        assert rules[KASEYA].action is Action.BLOCKED
        assert rules[KASEYA].reason == f"DeviceNetworkEvents lacks column {LACKING}"
        assert {i.action for n, i in rules.items() if n != KASEYA} == {Action.CREATE}
        assert LEVEL in rules

        report = dep.apply(plan)
        assert report.ok and dep.successful("PUT", rules[KASEYA].resource_id) == 0
    finally:
        dep.client.close()


def test_doctor_names_the_missing_column(node_available, tmp_path, emulator_factory):
    content, inventory, connection = fleet_without_remote_url(tmp_path, emulator_factory, workspaces=2)

    results = {r.target: {c.name: c for c in r.checks} for r in doctor(content, inventory, inventory.select(), connection)}

    assert results["ws00"]["tables"].ok is True
    detail = results["ws01"]["tables"].detail
    assert results["ws01"]["tables"].ok is False
    assert "'RMM Kaseya outbound': DeviceNetworkEvents lacks column RemoteUrl" in detail
    assert "'Kaseya hunting': DeviceNetworkEvents lacks column RemoteUrl" in detail
    assert "PsExec" not in detail and "logon" not in detail


def test_fleet_plan_blocks_per_workspace_from_one_analysis_per_query(node_available, tmp_path, emulator_factory,
                                                                     monkeypatch):
    content, inventory, connection = fleet_without_remote_url(tmp_path, emulator_factory, workspaces=3)
    analysed = worker_requests(monkeypatch)

    fleet = plan_fleet(content, inventory, inventory.select(), connection, commit="c1", parallel=1)

    kaseya = {p.target.name: next(i for i in p.plan.items if i.key == f"AnalyticsRule/{KASEYA_RULE_ID}")
              for p in fleet.workspaces}
    assert kaseya["ws01"].action is Action.BLOCKED and kaseya["ws01"].reason == "DeviceNetworkEvents lacks column RemoteUrl"
    assert {kaseya[n].action for n in ("ws00", "ws02")} == {Action.CREATE}
    assert analysed and len(analysed) == len(set(analysed))  # each query text analysed once for the fleet


def test_validate_and_plan_share_one_kql_worker_with_the_users_table_schemas(node_available, emulator_factory, repo,
                                                                            monkeypatch):
    """Plan's CLI validates (KQL) then plans (KQL): with a <content>/kql-schemas folder both must ask
    the same warm worker; the plan used to start a second one without the user's tables."""
    import packer.kql.analyser as analyser_module
    from packer.validate import load_content

    (repo / "kql-schemas").mkdir()
    (repo / "kql-schemas" / "Contoso_CL.json").write_text('{"name": "Contoso_CL", "columns": {"User_s": "string"}}')
    workers: dict = {}
    monkeypatch.setattr(analyser_module, "_shared", workers)
    emu = emulator_factory({"workspaces": [{"name": "ws-one-worker", "resource_group": "rg-soc"}]})
    dep = deployment(emu, repo)
    try:
        content = load_content(repo)  # validate with KQL, as the plan command does
        assert len(workers) == 1
        plan = compute_plan(content, dep.target, dep.client, "c0ffee", root=repo.parent)
        assert any(i.action is Action.CREATE for i in plan.items)
        assert len(workers) == 1, [key[1] for key in workers]
        (key,) = workers
        assert (repo / "kql-schemas").resolve() in key[1]
    finally:
        dep.client.close()
        for worker in workers.values():
            worker.close()
