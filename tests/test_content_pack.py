"""The bundled RMM content pack keeps every seed field exactly and is internally consistent.

The seeds (../shared/seeds/*.txt) are flattened text: prose, a `KQL Query` copy, the YAML fields
with their indentation lost, a Markdown table, then Scenario / Description / Filter/Exclusion
lines. `parse_seed` reads them back so the content files can be compared field by field.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from packer.content.load import load_content_unchecked
from packer.content.yamlsource import load_yaml
from conftest import CONTENT, shared_path

HUNTING = CONTENT / "hunting-queries"
RULES = CONTENT / "analytic-rules"


@dataclass
class SeedFalsePositive:
    scenario: str
    description: str | None = None
    filter: str | None = None


@dataclass
class Seed:
    path: Path
    id: str
    name: str
    description: list[str]
    connectors: list[tuple[str, list[str]]]
    tactics: str
    techniques: str
    query: list[str]
    kql_section: list[str]
    false_positives: list[SeedFalsePositive] = field(default_factory=list)


def _block(lines: list[str], start: int, stop) -> tuple[list[str], int]:
    """Lines from `start` up to (not including) the first line for which stop(line) is true."""
    end = start
    while end < len(lines) and not stop(lines[end]):
        end += 1
    return lines[start:end], end


def _false_positives(lines: list[str]) -> list[SeedFalsePositive]:
    entries: list[SeedFalsePositive] = []
    for line in lines:
        if line.startswith("Scenario: "):
            entries.append(SeedFalsePositive(line.removeprefix("Scenario: ")))
        elif line.startswith("Description: "):
            entries[-1].description = line.removeprefix("Description: ")
        elif line.startswith("Filter/Exclusion: "):
            entries[-1].filter = line.removeprefix("Filter/Exclusion: ")
    return entries


# The bundled pack keeps the seeds' text except where it would fail Microsoft's CI (non-ASCII
# text, issue 15 item 8): typographic quotes become ASCII ones, and the ServerEye filter matches
# "Krämer" through an ASCII regular expression. Seeds are compared after the same replacements.
KRAMER_FILTER = "matches regex @'Kr\\xE4mer IT Solutions GmbH'  // \\xE4: a-umlaut, the text stays ASCII"
AS_BUNDLED = (("has 'Krämer IT Solutions GmbH'", KRAMER_FILTER), ("’", "'"), ("”", '""'),
              ("Krämer", "Kraemer"))


def as_bundled(text: str) -> str:
    for seed_text, bundled in AS_BUNDLED:
        text = text.replace(seed_text, bundled)
    return text


def parse_seed(path: Path) -> Seed:
    lines = as_bundled(path.read_text(encoding="utf-8")).splitlines()
    kql_start = lines.index("KQL Query") + 1
    kql_section, i = _block(lines, kql_start, lambda line: line.startswith("id: "))
    seed_id = lines[i].removeprefix("id: ")
    name = lines[i + 1].removeprefix("name: ")
    assert lines[i + 2] == "description: |"
    description, i = _block(lines, i + 3, lambda line: line == "requiredDataConnectors:")
    connector_lines, i = _block(lines, i + 1, lambda line: line.startswith("tactics: "))
    connectors: list[tuple[str, list[str]]] = []
    for line in connector_lines:
        if line.startswith("- connectorId: "):
            connectors.append((line.removeprefix("- connectorId: "), []))
        elif line.startswith("- "):
            connectors[-1][1].append(line.removeprefix("- "))
    tactics = lines[i].removeprefix("tactics: ")
    techniques = lines[i + 1].removeprefix("relevantTechniques: ")
    assert lines[i + 2] == "query: |"
    query, i = _block(lines, i + 3, lambda line: line.startswith("| Sentinel Table |"))
    return Seed(
        path, seed_id, name, description, connectors, tactics, techniques, query, kql_section,
        _false_positives(lines[i:]),
    )


def stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines()]


def seeds() -> list[Seed]:
    return [parse_seed(p) for p in sorted(shared_path("seeds").glob("*.txt"))]


def hunting_file_for(seed: Seed) -> Path:
    matches = [p for p in HUNTING.glob("*.yaml") if load_yaml(p).value["id"] == seed.id]
    assert len(matches) == 1, f"{seed.path.name}: expected one hunting query with id {seed.id}, found {matches}"
    return matches[0]


def rule_file_for(seed: Seed) -> Path:
    return RULES / hunting_file_for(seed).name


@pytest.fixture(scope="module")
def pack():
    return load_content_unchecked(CONTENT)


# --- (a) every seed field survives exactly ----------------------------------------------------


def test_seed_parser_reads_the_query_twice_the_same():
    # The prose copy under "KQL Query" and the `query:` field are the same text in every seed;
    # if the parser split the seed wrongly these would differ.
    for seed in seeds():
        assert seed.query == seed.kql_section, seed.path.name
        assert len(seed.false_positives) == 5, seed.path.name


@pytest.mark.parametrize("index", range(5))
def test_hunting_query_keeps_every_seed_field(index):
    seed = seeds()[index]
    doc = load_yaml(hunting_file_for(seed)).value
    assert doc["id"] == seed.id
    assert doc["name"] == seed.name
    assert stripped_lines(doc["description"]) == [line.strip() for line in seed.description]
    assert [(c["connectorId"], c["dataTypes"]) for c in doc["requiredDataConnectors"]] == seed.connectors
    assert doc["tactics"] == [seed.tactics]  # upstream writes a scalar; a list validates without a warning
    assert doc["relevantTechniques"] == [seed.techniques]
    assert stripped_lines(doc["query"]) == [line.strip() for line in seed.query]
    assert doc["query"].split() == " ".join(seed.query).split()  # token for token


# --- (b) non-ASCII text ---------------------------------------------------------------------


def test_kramer_is_matched_by_ascii_text(pack):
    raw = (HUNTING / "rmm_ServerEye_createproc.yaml").read_bytes()
    assert raw.isascii()
    pattern = re.search(r"matches regex @'([^']*)'", KRAMER_FILTER)[1]
    assert re.fullmatch(pattern, "Krämer IT Solutions GmbH")  # \xE4 means the same to RE2 (KQL) and Python
    for item in (*pack.hunting_queries, *pack.analytic_rules, *pack.parsers):
        if "ServerEye" in item.query:
            assert KRAMER_FILTER.split("  //")[0] in item.query, item.name


# --- (c) triage notes -------------------------------------------------------------------------


def _entries(path: Path) -> list[SeedFalsePositive]:
    return [
        SeedFalsePositive(fp["scenario"], fp.get("description"), fp.get("filter"))
        for fp in load_yaml(path).value["falsePositives"]
    ]


@pytest.mark.parametrize("index", range(5))
def test_false_positives_are_kept_verbatim_in_hunting_query_and_rule(index):
    seed = seeds()[index]
    assert _entries(hunting_file_for(seed)) == seed.false_positives
    assert _entries(rule_file_for(seed)) == seed.false_positives


def test_false_positives_reach_the_model(pack):
    for item in (*pack.hunting_queries, *pack.analytic_rules):
        assert len(item.false_positives) == 5, item.name
        assert all(fp.scenario for fp in item.false_positives), item.name


# --- (d) the pack as a whole ------------------------------------------------------------------


def test_pack_has_every_content_kind_and_unique_ids(pack):
    assert pack.solution is not None
    assert pack.solution.name == "Remote Monitoring and Management tool abuse"
    assert pack.solution.version.startswith("3.")
    assert len(pack.hunting_queries) == 5
    assert len(pack.analytic_rules) == 5
    assert len(pack.parsers) == 1
    assert len(pack.workbooks) == 1
    assert [w.alias for w in pack.watchlists] == ["RMMAllowlist"] and len(pack.automation_rules) == 1
    ids = [item.id for item in pack.items]
    assert all(ids), ids
    assert len(set(ids)) == len(ids), ids


def test_every_yaml_file_names_its_schema():
    schemas = {
        "analytic-rules": "analytic-rule", "hunting-queries": "hunting-query",
        "parsers": "parser", "workbooks": "workbook-metadata",
        "watchlists": "watchlist", "automation-rules": "automation-rule",
    }
    first = (CONTENT / "solution.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../packer/schemas/solution.schema.json"
    for folder, schema in schemas.items():
        for path in (CONTENT / folder).glob("*.yaml"):
            first = path.read_text(encoding="utf-8").splitlines()[0]
            assert first == f"# yaml-language-server: $schema=../../packer/schemas/{schema}.schema.json", path
            assert (path.parent / first.split("=", 1)[1]).resolve().is_file(), path


# --- (e) analytic rules: same logic, scheduled, columns exist ---------------------------------


def _filter_lines(query: str, window_prefix: str) -> list[str]:
    """The `where` lines between the time-window line and `| summarize`."""
    lines = stripped_lines(query)
    start = next(i for i, line in enumerate(lines) if line.startswith(window_prefix)) + 1
    end = next(i for i, line in enumerate(lines) if line.startswith("| summarize"))
    return lines[start:end]


@pytest.mark.parametrize("index", range(5))
def test_rule_keeps_the_seed_filter_and_schedules_it(index):
    seed = seeds()[index]
    rule = load_yaml(rule_file_for(seed)).value
    hunting_filter = _filter_lines("\n".join(seed.query), "| where Timestamp between")
    assert _filter_lines(rule["query"], "| where TimeGenerated > ago(") == hunting_filter
    assert rule["kind"] == "Scheduled"
    window = re.search(r"let lookback = (\w+);", rule["query"])
    assert window and window.group(1) == rule["queryPeriod"], "the query window must match queryPeriod"
    assert "now(" not in rule["query"] and "Timestamp" not in rule["query"]
    assert rule["tactics"] == ["CommandAndControl"] and rule["relevantTechniques"] == ["T1219"]
    assert rule["requiredDataConnectors"] == [
        {"connectorId": c, "dataTypes": types} for c, types in seed.connectors
    ]


def test_rule_mapped_columns_are_in_the_query_output(pack):
    for rule in pack.analytic_rules:
        # summarize drops every column it does not name, so a mapped column must appear there or later
        output = rule.query[rule.query.rindex("| summarize"):]
        columns = [f.column_name for m in rule.entity_mappings for f in m.field_mappings]
        columns += list(rule.custom_details.values())
        placeholders = re.findall(r"\{\{(\w+)\}\}", rule.alert_details_override.display_name_format
                                  + rule.alert_details_override.description_format)
        for column in columns + placeholders:
            assert re.search(rf"\b{column}\b", output), f"{rule.name}: {column} is not an output column"
        assert {m.entity_type for m in rule.entity_mappings} >= {"Host"}
        if "DeviceNetworkEvents" in rule.query:
            assert {m.entity_type for m in rule.entity_mappings} >= {"IP", "URL"}


def test_rule_output_keeps_device_name_for_later_exclusions(pack):
    # Per-workspace exclusions are appended as a trailing `| where DeviceName ...` at rollout.
    for rule in pack.analytic_rules:
        output = rule.query[rule.query.rindex("| summarize"):]
        assert re.search(r"by DeviceId, DeviceName\b", output), rule.name
        assert "project " not in output.replace("project-away", ""), rule.name


# --- parser and workbook ----------------------------------------------------------------------


def test_workbook_queries_use_the_parser_and_the_time_range(pack):
    import json

    workbook = pack.workbooks[0]
    data = json.loads(workbook.serialized_data)
    assert data["version"] == "Notebook/1.0"
    queries = [item["content"]["query"] for item in data["items"] if item["type"] == 3]
    assert queries, "the workbook has no query items"
    assert all(pack.parsers[0].function_alias in q and "{TimeRange}" in q for q in queries)
    visualizations = {item["content"].get("visualization") for item in data["items"] if item["type"] == 3}
    assert "timechart" in visualizations
    parameters = data["items"][1]["content"]["parameters"]
    assert any(p["name"] == "TimeRange" and p["type"] == 4 for p in parameters)


def test_parser_covers_every_seed_tool(pack):
    parser = pack.parsers[0]
    for seed in seeds():
        tool = seed.name.split(" - ")[1]
        assert f"RMMTool = '{tool}'" in parser.query, tool
        for line in _filter_lines("\n".join(seed.query), "| where Timestamp between"):
            # every literal of the seed's filter is in the parser
            for literal in re.findall(r"'[^']*'", line):
                assert literal in parser.query, (tool, literal)


def _projected_columns(project_clause: str) -> list[str]:
    return [part.split("=")[0].strip() for part in re.split(r",(?![^(]*\))", project_clause)]


def test_parser_branches_project_the_same_columns(pack):
    # the union of process and network rows must have one shape for the workbook queries
    clauses = re.findall(r"\| project (.*?);", pack.parsers[0].query, flags=re.DOTALL)
    assert len(clauses) == 2
    process, network = (_projected_columns(c) for c in clauses)
    assert process == network
    for column in ("TimeGenerated", "DeviceName", "RMMTool", "ActivityType", "RemoteIP", "RemoteUrl"):
        assert column in process


def test_validate_accepts_the_bundled_pack():
    from packer.validate import validate_paths

    report = validate_paths([CONTENT], kql=True)
    assert report.warnings == [], [f"{p.path}:{p.line}: {p.message}" for p in report.warnings]  # issue 15 item 8
    assert report.errors == [], "\n".join(f"{p.path}:{p.line}:{p.column}: {p.field}: {p.message}" for p in report.errors)
    assert len(report.content.items) == 14, f"every item must be built (12 packaged, a watchlist, an automation rule) (KQL: {report.kql_status})"
