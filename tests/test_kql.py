"""KQL analysis with Kusto.Language: real queries analyse clean, broken ones point at the mistake."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import CONTENT, PROJECT_ROOT, kql_or_skip, shared_path
from packer.cli import app as cli_app
from packer.content.load import hunting_query_from, load_content_unchecked, parser_from
from packer.content.model import SourceInfo, Workbook
from packer.content.yamlsource import load_yaml
from packer.kql import KqlAnalyser, KqlFailed, KqlUnavailable, check_content, columns_used, tables_used
from packer.kql.analyser import NODE_MODULES_ENV, find_node
from packer.kql.check import errors_first_to_report, queries_of

CORPUS_TSV = PROJECT_ROOT / "tests" / "data" / "kql_corpus.tsv"


@pytest.fixture(scope="module")
def node_available():
    kql_or_skip()


@pytest.fixture(scope="module")
def analyser(node_available):
    with KqlAnalyser() as kql:
        yield kql


def seed_queries() -> dict[str, str]:
    """The query of each seed: the lines between 'KQL Query' and the YAML's `id:` line."""
    queries = {}
    for path in sorted(shared_path("seeds").glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        start = lines.index("KQL Query") + 1
        end = next(i for i in range(start, len(lines)) if lines[i].startswith("id:"))
        queries[path.name] = "\n".join(lines[start:end])
    return queries


def hunting_file(tmp_path: Path, query: str, name: str = "hunt.yaml", newline: str = "\n") -> Path:
    body = "".join(f"  {line}\n" for line in query.splitlines())
    text = ("id: 0b9a7b5e-1f8d-4c55-9a51-2b43e3cf0f11\nname: Test hunting query\n"
            "description: |\n  A test.\nrequiredDataConnectors: []\ntactics:\n  - Persistence\n"
            f"query: |\n{body}")
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def hunting_item(path: Path):
    return hunting_query_from(load_yaml(path))


def token_position(path: Path, token: str, occurrence: int = 0) -> tuple[int, int]:
    text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    index = -1
    for _ in range(occurrence + 1):
        index = text.index(token, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


# --- without Node or the package -------------------------------------------------------------

def test_missing_package_skips_with_an_install_hint(tmp_path, monkeypatch):
    monkeypatch.setenv(NODE_MODULES_ENV, str(tmp_path / "node_modules"))
    item = hunting_item(hunting_file(tmp_path, "DeviceProcessEvents | summarise count()"))
    problems, status = check_content([item])
    assert problems == []
    assert status.startswith("skipped: ")
    assert "npm ci" in status and "Node.js 20" in status


def test_missing_node_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(KqlUnavailable, match="npm ci"):
        find_node()


# --- real queries analyse clean ----------------------------------------------------------------

def test_seed_queries_analyse_clean(analyser):
    queries = seed_queries()
    assert len(queries) == 5
    for name, query in queries.items():
        assert analyser.analyse(query) == [], name


def test_content_pack_analyses_clean(node_available):
    content = load_content_unchecked(CONTENT)
    items = content.items
    assert any(True for item in items for _ in queries_of(item)), "the content pack has queries to analyse"
    problems, status = check_content(items)
    assert [p for p in problems if p.is_error] == []
    assert [p for p in problems if p.code == "kql.KS204"] == [], "every table the pack reads has a schema"
    assert status.startswith("checked ")


# --- broken variants point at the mistake ------------------------------------------------------

SEED_SYNCRO = """let Time_start = now(-5d);
let Time_end = now();
//
DeviceProcessEvents
| where Timestamp between (Time_start..Time_end)
| where ProcessVersionInfoCompanyName has 'Servably, Inc.'
and ProcessVersionInfoProductName has 'Syncro'
| summarize FirstSeen=min(Timestamp), LastSeen=max(Timestamp),
Report=make_set(ReportId), Count=count() by DeviceId, DeviceName"""

# name -> (replace, with, kusto code, severity, token the problem must point at, column offset after it)
BROKEN = {
    "misspelled operator": ("| summarize", "| summarise", "KS176", "error", "summarise", 0),
    "missing operand": ("has 'Syncro'", "has ", "KS006", "error", "has \n", len("has")),
    "unknown column": ("ProcessVersionInfoProductName", "ProcessVersionInfoProductNam", "KS142", "error",
                       "ProcessVersionInfoProductNam ", 0),
    "unknown table": ("DeviceProcessEvents", "DeviceProcessEvent", "KS204", "warning", "DeviceProcessEvent\n", 0),
    "wrong argument count": ("make_set(ReportId)", "make_set()", "KS119", "error", "make_set()", 0),
    "unterminated string": ("has 'Syncro'", "has 'Syncro", "KS001", "error", "'Syncro\n", len("'Syncro")),
}


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_variant_points_at_the_mistake(node_available, tmp_path, case, newline):
    old, new, code, severity, token, shift = BROKEN[case]
    assert old in SEED_SYNCRO
    path = hunting_file(tmp_path, SEED_SYNCRO.replace(old, new, 1), newline=newline)
    problems, _ = check_content([hunting_item(path)])
    assert [p.severity for p in problems] == [severity], problems
    problem = problems[0]
    line, column = token_position(path, token)
    assert (problem.line, problem.column) == (line, column + shift)
    assert problem.code == f"kql.{code}" and problem.message.startswith(f"{code}: ")
    assert problem.path == path and problem.field == "query"


def test_columns_count_characters_after_an_emoji(node_available, tmp_path):
    """Kusto.Language (JavaScript) counts UTF-16 units: an emoji is two of them, one character in the file."""
    query = "DeviceProcessEvents\n| where FileName == '\U0001F600\U0001F600 Kr\u00e4mer' | summarise count()"
    path = hunting_file(tmp_path, query)
    problems, _ = check_content([hunting_item(path)])
    assert [p.code for p in problems] == ["kql.KS176"]
    assert (problems[0].line, problems[0].column) == token_position(path, "summarise")


def test_first_error_is_reported_and_the_rest_counted(node_available, tmp_path):
    query = SEED_SYNCRO.replace("| where Timestamp", "|\n| where Timestamp", 1)  # an empty pipe
    path = hunting_file(tmp_path, query)
    problems, _ = check_content([hunting_item(path)])
    assert len(problems) == 1 and problems[0].is_error
    assert problems[0].code == "kql.KS176"
    assert "more errors)" in problems[0].message
    line, column = token_position(path, "  |\n")  # the empty pipe, indented in the block scalar
    assert (problems[0].line, problems[0].column) == (line, column + len("  |"))


def test_bom_file_positions(node_available, tmp_path):
    path = hunting_file(tmp_path, SEED_SYNCRO.replace("make_set(ReportId)", "make_set()"))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    problems, _ = check_content([hunting_item(path)])
    assert (problems[0].line, problems[0].column) == token_position(path, "make_set()")


# --- Sentinel functions, parsers and user schemas ----------------------------------------------

@pytest.mark.parametrize("query", [
    "_GetWatchlist('HighValueAssets') | project SearchKey, WatchlistItem, Hostname = tostring(WatchlistItem.Hostname)",
    "_Im_NetworkSession(starttime=ago(1d), dstipaddr_has_any_prefix=dynamic(['10.'])) | where DstPortNumber == 445"
    " | summarize count() by SrcIpAddr",
    "imDns(domain_has_any=dynamic(['evil.com'])) | project DnsQuery, SrcIpAddr",
    "_Im_WebSession(url_has_any=dynamic(['x'])) | project Url, HttpUserAgent",
    "imAuthentication | where EventResult == 'Failure' | summarize count() by TargetUsername",
    "imProcessCreate | where CommandLine has 'whoami' | project TargetProcessName, DvcHostname",
    "imFileEvent | project TargetFilePath",
    "imRegistry | project RegistryKey",
    "imAuditEvent | project Operation",
    "ASimDnsActivityLogs | project DnsQuery",
    "workspace('other').SecurityEvent | where EventID == 4625 | project Account",
    "union SigninLogs, AADNonInteractiveUserSignInLogs | where ResultType != '0' | project UserPrincipalName",
    "SecurityAlert | where AlertSeverity == 'High' | join kind=inner (SecurityIncident) on $left.SystemAlertId == $right.IncidentName",
])
def test_sentinel_constructs_analyse_clean(analyser, query):
    assert analyser.analyse(query) == []


@pytest.mark.parametrize("query,code", [
    ("_Im_NetworkSession(nosuchparam=1)", "KS196"),
    ("workspace('other').SecurityEvent | project NoSuchColumn", "KS142"),
    ("_GetWatchlist()", "KS119"),
    ("SigninLogs | project NoSuchColumn", "KS142"),
    ("// nothing but a comment\n", "KQL002"),
    (".show tables", "KQL001"),
])
def test_sentinel_constructs_are_checked(analyser, query, code):
    assert code in [d.code for d in analyser.analyse(query) if d.is_error]


def parser_file(tmp_path: Path) -> Path:
    path = tmp_path / "MyParser.yaml"
    path.write_text(
        "id: 4b1b1c4e-8a43-4a5f-bb55-0c7c1d3e2f10\nFunction:\n  Title: My parser\n  Version: '1.0.0'\n"
        "  LastUpdated: '2026-11-26'\nCategory: Microsoft Sentinel Parser\nFunctionName: MyParser\n"
        "FunctionAlias: MyParser\nFunctionQuery: |\n  DeviceNetworkEvents\n  | project Timestamp, DeviceName, RemoteUrl\n",
        encoding="utf-8")
    return path


def test_content_parsers_are_declared_as_functions(node_available, tmp_path):
    parser = parser_from(load_yaml(parser_file(tmp_path)))
    good = hunting_item(hunting_file(tmp_path, "MyParser | where RemoteUrl has 'x'", "good.yaml"))
    bad = hunting_item(hunting_file(tmp_path, "MyParser | where RemoteIP has 'x'", "bad.yaml"))
    problems, _ = check_content([parser, good, bad])
    assert [(p.path.name, p.code) for p in problems] == [("bad.yaml", "kql.KS142")]
    # without the parser the name is an unknown table: a warning, nothing checked
    problems, _ = check_content([bad])
    assert [(p.severity, p.code) for p in problems] == [("warning", "kql.KS204")]


def test_parser_query_problems_point_into_function_query(node_available, tmp_path):
    path = parser_file(tmp_path)
    path.write_text(path.read_text().replace("RemoteUrl", "RemoteUrlz"), encoding="utf-8")
    problems, _ = check_content([parser_from(load_yaml(path))])
    assert [(p.code, p.field) for p in problems] == [("kql.KS142", "FunctionQuery")]
    assert (problems[0].line, problems[0].column) == token_position(path, "RemoteUrlz")


def test_user_schema_directories_in_both_shapes(node_available, tmp_path):
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "Contoso_CL.json").write_text(json.dumps(
        {"name": "Contoso_CL", "columns": {"TimeGenerated": "datetime", "User_s": "string"}}))
    (schemas / "Fabrikam_CL.json").write_text(json.dumps(
        {"Name": "Fabrikam_CL", "Properties": [{"Name": "Host_s", "Type": "String"}, {"Name": "Count_d", "Type": "Double"}]}))
    with KqlAnalyser(schema_dirs=[schemas]) as kql:
        assert kql.analyse("Contoso_CL | project User_s, TimeGenerated | join (Fabrikam_CL | where Count_d > 1) on $left.User_s == $right.Host_s") == []
        assert [d.code for d in kql.analyse("Fabrikam_CL | project Nope")] == ["KS142"]


def test_content_root_kql_schemas_folder(node_available, tmp_path):
    folder = tmp_path / "content" / "hunting-queries"
    folder.mkdir(parents=True)
    schemas = tmp_path / "content" / "kql-schemas"
    schemas.mkdir()
    (schemas / "Contoso_CL.json").write_text(json.dumps({"name": "Contoso_CL", "columns": {"User_s": "string"}}))
    item = hunting_item(hunting_file(folder, "Contoso_CL | project User_s, Host_s"))
    problems, _ = check_content([item])
    assert [(p.code, p.message.split(":")[0]) for p in problems] == [("kql.KS142", "KS142")]
    (schemas / "Contoso_CL.json").write_text(json.dumps({"name": "Contoso_CL", "columns": {"User_s": "text"}}))
    problems, status = check_content([item])
    assert [(p.path, p.code, p.is_error) for p in problems] == [(schemas / "Contoso_CL.json", "kql.schema", True)]
    assert status.startswith("failed")


def test_workbook_kql_items_are_analysed(node_available, tmp_path):
    data = {"version": "Notebook/1.0", "items": [
        {"type": 1, "content": {"json": "## Title"}},
        {"type": 3, "content": {"query": "SigninLogs\n| summarise count()", "queryType": 0}},
        {"type": 3, "content": {"query": "SigninLogs | where {TimeRange} | count", "queryType": 0}},
        {"type": 3, "content": {"query": "Resources | summarise count()", "queryType": 1}},
    ]}
    path = tmp_path / "wb.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    workbook = Workbook(key="wb", title="WB", description="", version="1.0.0", serialized_data=path.read_text(),
                        source=SourceInfo(tmp_path / "wb.yaml"), template_path=path)
    problems, status = check_content([workbook])
    assert [(p.code, p.path) for p in problems] == [("kql.KS176", path)]
    assert status == "checked 1 query (1 with errors); 1 workbook query with {parameters} not analysed"
    assert (problems[0].line, problems[0].column) == token_position(path, "summarise")


# --- per-workspace probes ----------------------------------------------------------------------

def test_tables_and_columns_used(node_available, tmp_path):
    parser = parser_from(load_yaml(parser_file(tmp_path)))
    query = "MyParser | where RemoteUrl has 'x' | join (DeviceProcessEvents | project DeviceName, FileName) on DeviceName"
    assert tables_used(query, parsers=[parser]) == {"DeviceNetworkEvents", "DeviceProcessEvents"}
    columns = columns_used(query, parsers=[parser])
    assert {"RemoteUrl", "DeviceName"} <= columns["DeviceNetworkEvents"]
    assert columns["DeviceProcessEvents"] == {"DeviceName", "FileName"}
    assert tables_used("union Contoso_CL, (workspace('x').SigninLogs)") == {"Contoso_CL", "SigninLogs"}
    # the corpus's pattern: a let function reading table(name), called with each table's name
    query = "let f = (t:string) { table(t) | where ResultType == '0' }; union f('SigninLogs'), f('AADNonInteractiveUserSignInLogs')"
    assert tables_used(query) == {"SigninLogs", "AADNonInteractiveUserSignInLogs"}


def test_seed_tables_used(node_available):
    used = {name: tables_used(query) for name, query in seed_queries().items()}
    assert set().union(*used.values()) == {"DeviceProcessEvents", "DeviceNetworkEvents"}
    assert all(len(tables) == 1 for tables in used.values())


# --- conformance on real Microsoft content -----------------------------------------------------

def expected_corpus_errors() -> dict[str, tuple[str, int, int, str, str]]:
    rows = [line for line in CORPUS_TSV.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    return {r[0]: (r[1], int(r[2]), int(r[3]), r[4], r[5]) for r in csv.reader(rows, delimiter="\t")}


@pytest.fixture(scope="module")
def corpus_problems(node_available):
    """check_content (validate's KQL step) over every corpus rule and hunting query: {folder/file: problems}."""
    from packer.content.load import analytic_rule_from

    root = shared_path("corpus", "rules")
    items = [build(load_yaml(path)) for folder, build in (("analytic", analytic_rule_from), ("hunting", hunting_query_from))
             for path in sorted((root / folder).glob("*.yaml"))]
    assert len(items) == 283
    problems, status = check_content(items, schema_dirs=[shared_path("corpus", "reference", "CustomTables")])
    assert status.startswith("checked 283 queries"), status
    found: dict[str, list] = {}
    for problem in problems:
        found.setdefault(f"{problem.path.parent.name}/{problem.path.name}", []).append(problem)
    return found


def test_corpus_kql_errors_are_exactly_the_six_malformed_queries_at_their_line_and_column(corpus_problems):
    """Issue 23: the six genuine defects fail, each where its first error stands; no other real
    query has a KQL error (the todynamic() and columnifexists() false positives are gone)."""
    expected = expected_corpus_errors()
    assert len(expected) == 6
    found = {name: [(p.code.removeprefix("kql."), p.line, p.column) for p in problems if p.is_error]
             for name, problems in corpus_problems.items()}
    found = {name: errors for name, errors in found.items() if errors}
    assert found == {name: [(code, line, column)] for name, (code, line, column, _, _) in expected.items()}
    for name, (_, _, _, category, reason) in expected.items():
        assert category in ("query", "schema") and len(reason) > 20, name


TODYNAMIC_OF_DYNAMIC = ("analytic/DomainEntity_imWebSession.yaml", "analytic/ExchangeServerVulnerabilitiesMarch2021IoCs.yaml",
                        "analytic/NOBELIUM_IOCsMay2021.yaml", "analytic/imDns_IPEntity_DnsEvents.yaml")


def test_todynamic_of_a_dynamic_value_is_not_an_error_in_the_four_corpus_rules(corpus_problems):
    for name in TODYNAMIC_OF_DYNAMIC:
        assert [p for p in corpus_problems.get(name, ()) if p.is_error] == [], name


def test_a_member_of_a_columnifexists_value_is_a_warning_in_the_corpus_rule(corpus_problems):
    problems = corpus_problems["analytic/ServicePrincipalAssignedPrivilegedRole.yaml"]
    assert [p for p in problems if p.is_error] == []
    relaxed = [p for p in problems if "columnifexists()" in p.message]
    assert [(p.code, p.line) for p in relaxed] == [("kql.KS142", 34), ("kql.KS142", 35)]


def test_todynamic_and_toobject_take_string_or_dynamic_but_nothing_else(analyser):
    query = ('let l = dynamic(["a"]); let s = toscalar(print x = pack_array(1)); '
             'print a = todynamic(l), b = toobject(l), c = todynamic(s), d = todynamic("[1]"), e = todynamic(1)')
    errors = [d for d in analyser.analyse(query) if d.is_error]
    assert [(d.code, query[d.start:d.start + d.length]) for d in errors] == [("KS107", "1")]


def test_members_of_columnifexists_are_warnings_and_other_unknown_names_stay_errors(analyser):
    query = ('print x = 1 | extend c = columnifexists("Props", "") '
             '| extend a = c.displayName, b = columnifexists("Other", "").name, z = NoSuchColumn')
    found = [(d.code, d.severity, query[d.start:d.start + d.length]) for d in analyser.analyse(query)
             if d.code == "KS142"]
    assert found == [("KS142", "Warning", "displayName"), ("KS142", "Warning", "name"),
                     ("KS142", "Error", "NoSuchColumn")]


def test_corpus_rmm_dwservice_error_is_on_the_sha1_line(node_available, tmp_path):
    path = shared_path("corpus", "rules", "invalid", "rmm_DWService_createproc.yaml")
    problems, _ = check_content([hunting_query_from(load_yaml(path))])
    errors = [p for p in problems if p.is_error]
    assert len(errors) == 1
    line = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n").splitlines()[errors[0].line - 1]
    assert line.strip().startswith("| Sha1 in")


def test_shared_worker_is_safe_across_threads(node_available):
    from concurrent.futures import ThreadPoolExecutor

    queries = ["DeviceProcessEvents | take 1", "SigninLogs | take 1", "union Heartbeat, Syslog | take 1"] * 8
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(tables_used, queries))
    expected = [{"DeviceProcessEvents"}, {"SigninLogs"}, {"Heartbeat", "Syslog"}] * 8
    assert results == expected


def test_parser_parameters_are_checked(node_available, tmp_path):
    path = tmp_path / "P.yaml"
    path.write_text("id: 4b1b1c4e-8a43-4a5f-bb55-0c7c1d3e2f10\nFunction:\n  Title: P\n  Version: '1.0.0'\n"
                    "FunctionName: PName\nFunctionAlias: PAlias\nFunctionParams:\n  - Name: since\n    Type: timespan\n"
                    "    Default: 1d\nFunctionQuery: |\n  SigninLogs | where TimeGenerated > ago(since)\n", encoding="utf-8")
    parser = parser_from(load_yaml(path))
    good = hunting_item(hunting_file(tmp_path, "PAlias(2d) | project UserPrincipalName", "good.yaml"))
    bad = hunting_item(hunting_file(tmp_path, "PAlias(2d, 1d) | project UserPrincipalName", "bad.yaml"))
    problems, _ = check_content([parser, good, bad])
    assert [(p.path.name, p.code) for p in problems if p.is_error] == [("bad.yaml", "kql.KS119")]
    # the parser's own query sees its parameter; a mistake in it points into FunctionQuery
    path.write_text(path.read_text().replace("ago(since)", "ago(since) | project Nope"), encoding="utf-8")
    problems, _ = check_content([parser_from(load_yaml(path))])
    assert [(p.code, p.field) for p in problems] == [("kql.KS142", "FunctionQuery")]
    assert (problems[0].line, problems[0].column) == token_position(path, "Nope")


def test_several_workers_give_the_same_problems_in_the_same_order(node_available, tmp_path):
    items = [hunting_item(hunting_file(tmp_path, SEED_SYNCRO.replace(old, new, 1), f"{i}.yaml"))
             for i, (old, new, *_rest) in enumerate(BROKEN.values())]
    one, _ = check_content(items, workers=1)
    three, status = check_content(items, workers=3)
    assert three == one and len(one) == len(BROKEN)
    assert status.startswith(f"checked {len(BROKEN)} queries")


def test_a_silent_worker_is_stopped_not_waited_for(node_available, monkeypatch):
    import os
    import signal

    from packer.kql import analyser as analyser_module

    with KqlAnalyser() as kql:
        monkeypatch.setattr(analyser_module, "REPLY_TIMEOUT", 1)
        os.kill(kql._process.pid, signal.SIGSTOP)  # a worker that never answers
        with pytest.raises(KqlFailed, match="no answer within 1 s"):
            kql.analyse("print 1")


def test_a_worker_that_dies_reports_its_last_error_line(node_available, tmp_path, monkeypatch):
    from packer.kql import analyser as analyser_module

    broken = tmp_path / "worker.js"
    broken.write_text("console.error('first line'); console.error('Error: cannot load Kusto'); process.exit(3);\n")
    monkeypatch.setattr(analyser_module, "WORKER", broken)
    with pytest.raises(KqlFailed, match="worker stopped: Error: cannot load Kusto"):
        KqlAnalyser(builtin_schemas=False).start()


def test_a_worker_that_dies_fails_validation_instead_of_skipping_it(node_available, tmp_path, monkeypatch):
    """Issue 24: a crash is an error in validate (and so in plan, which validates first)."""
    from packer.kql import analyser as analyser_module
    from packer.validate import validate_paths

    broken = tmp_path / "worker.js"
    broken.write_text("console.error('Error: Kusto.Language crashed'); process.exit(3);\n")
    monkeypatch.setattr(analyser_module, "WORKER", broken)
    analyser_module.close_shared()  # the warm workers of earlier tests would answer instead
    try:
        with pytest.raises(KqlFailed, match="Kusto.Language crashed") as failed:
            validate_paths([CONTENT / "analytic-rules" / "rmm_Kaseya_netconn.yaml"])
        assert "Nothing was checked" in str(failed.value)
        result = CliRunner().invoke(cli_app, ["validate", str(CONTENT / "analytic-rules" / "rmm_Kaseya_netconn.yaml")])
        assert result.exit_code == 1 and "KQL analysis failed" in str(result.exception or "") + result.output
    finally:
        analyser_module.close_shared()


def test_absent_node_modules_is_a_skip_unless_kql_is_required(tmp_path, monkeypatch):
    """Only an absent Node.js or package skips, and --require-kql / SENTINEL_PACKER_REQUIRE_KQL
    makes even that an error, in validate and in plan's table check."""
    from packer.plan import query_needs as plan_tables
    from packer.validate import validate_paths

    monkeypatch.setenv(NODE_MODULES_ENV, str(tmp_path))  # no package there
    monkeypatch.delenv("SENTINEL_PACKER_REQUIRE_KQL", raising=False)
    monkeypatch.setattr(plan_tables, "_KQL_STATE", {})
    rule = CONTENT / "analytic-rules" / "rmm_Kaseya_netconn.yaml"
    assert validate_paths([rule]).kql_status.startswith("skipped: the npm package")
    assert plan_tables.default_query_needs("DeviceNetworkEvents | take 1").tables == {"DeviceNetworkEvents"}
    with pytest.raises(KqlUnavailable, match="required"):
        validate_paths([rule], require_kql=True)
    with pytest.raises(KqlUnavailable, match="required"):
        plan_tables.default_query_needs("DeviceNetworkEvents | take 1", require_kql=True)
    monkeypatch.setenv("SENTINEL_PACKER_REQUIRE_KQL", "1")
    with pytest.raises(KqlUnavailable, match="required"):
        validate_paths([rule])
    result = CliRunner().invoke(cli_app, ["validate", str(rule)])
    assert result.exit_code == 1


# --- per-rule suppressions (issue 23) -----------------------------------------------------------

KASEYA_RULE_FILE = CONTENT / "analytic-rules" / "rmm_Kaseya_netconn.yaml"
KASEYA_ID = "2bfc9d99-5051-4aee-ae25-05b62a1e052d"


def _rule_with(tmp_path: Path, comment: str = "", broken: bool = True) -> Path:
    """The Kaseya rule in a content root under tmp_path, its query reading a column that does not
    exist (KS142) when `broken`, with `comment` after `query: |`."""
    text = KASEYA_RULE_FILE.read_text(encoding="utf-8")
    text = text.replace("query: |\n", f"query: |{comment}\n", 1)
    if broken:
        text = text.replace("  | project-away DomainIndex\n", "  | project-away DomainIndex\n  | extend Oops = NoSuchColumn\n", 1)
    path = tmp_path / "content" / "analytic-rules" / KASEYA_RULE_FILE.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _check(path: Path):
    from packer.content.load import analytic_rule_from

    return check_content([analytic_rule_from(load_yaml(path))])


def test_a_suppression_comment_with_a_reason_silences_that_code_on_that_rule_only(node_available, tmp_path):
    unsuppressed, _ = _check(_rule_with(tmp_path / "a"))
    assert [p.code for p in unsuppressed if p.is_error] == ["kql.KS142"]
    path = _rule_with(tmp_path / "b", "  # sentinel-packer: ignore KS142 -- the column arrives with the v2 connector")
    problems, status = _check(path)
    assert [p for p in problems if p.is_error or p.code.startswith("kql.suppression")] == []
    assert "1 diagnostic suppressed" in status


def test_a_suppression_without_a_reason_is_an_error_and_suppresses_nothing(node_available, tmp_path):
    path = _rule_with(tmp_path, "  # sentinel-packer: ignore KS142")
    problems, _ = _check(path)
    errors = {p.code: p.line for p in problems if p.is_error}
    assert set(errors) == {"kql.KS142", "kql.suppression"} and errors["kql.suppression"] == 21


def test_a_suppression_that_matches_nothing_is_reported(node_available, tmp_path):
    path = _rule_with(tmp_path, "  # sentinel-packer: ignore KS107 -- was needed before the query was fixed", broken=False)
    problems, _ = _check(path)
    assert [(p.code, p.severity, p.line) for p in problems if p.code.startswith("kql.suppression")] == [
        ("kql.suppression-unused", "warning", 21)]


def test_a_project_suppression_file_names_rule_code_and_reason(node_available, tmp_path):
    path = _rule_with(tmp_path)
    listing = path.parent.parent / "kql-suppressions.yaml"
    listing.write_text(f"- id: {KASEYA_ID}\n  code: KS142\n  reason: the column arrives with the v2 connector\n"
                       "- id: 00000000-0000-4000-8000-000000000000\n  code: KS107\n  reason: a rule deleted since\n"
                       f"- id: {KASEYA_ID}\n  code: KS999\n", encoding="utf-8")
    problems, _ = _check(path)
    assert not [p for p in problems if p.code == "kql.KS142"]
    assert sorted((p.code, p.severity, p.line) for p in problems if p.code.startswith("kql.suppression")) == [
        ("kql.suppression", "error", 7), ("kql.suppression-unused", "warning", 4)]
    assert all(p.path == listing for p in problems if p.code.startswith("kql.suppression"))
