"""One test per validation rule and per kind of bad input (small YAML files written to tmp_path)."""
from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import yaml

from packer.content import safefile
from packer.content.yamlsource import MAX_FILE_BYTES
from packer.errors import ValidationFailed
from packer.validate import Problem, load_content, validate_paths

RULE_ID = "6c3b3b2e-0d5e-4a38-9f43-3f2d3c5f9a10"
BASE_RULE = f"""\
id: {RULE_ID}
name: RMM tool contacted its cloud relay
description: |
  Detects a remote management tool talking to its relay.
severity: Medium
requiredDataConnectors:
  - connectorId: MicrosoftThreatProtection
    dataTypes:
      - DeviceNetworkEvents
queryFrequency: 1h
queryPeriod: 1h
triggerOperator: gt
triggerThreshold: 0
tactics:
  - CommandAndControl
relevantTechniques:
  - T1219
query: |
  DeviceNetworkEvents
  | where RemoteUrl has "relay.example"
entityMappings:
  - entityType: Host
    fieldMappings:
      - identifier: HostName
        columnName: DeviceName
version: 1.0.0
kind: Scheduled
"""
BASE_HUNTING = """\
id: 0f6e1c2a-3b4d-4e5f-8a9b-1c2d3e4f5a6b
name: RMM relay connections
description: |
  'Finds connections to RMM relays.'
requiredDataConnectors:
  - connectorId: MicrosoftThreatProtection
    dataTypes:
      - DeviceNetworkEvents
tactics:
  - CommandAndControl
relevantTechniques:
  - T1219
query: |
  DeviceNetworkEvents | take 10
"""


def rule(**changes) -> str:
    """BASE_RULE with fields replaced (value None removes the field)."""
    data = yaml.safe_load(BASE_RULE)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def nrt(**changes) -> str:
    changes = {"queryFrequency": None, "queryPeriod": None, "triggerOperator": None, "triggerThreshold": None,
               "kind": "NRT", **changes}
    return rule(**changes)


def check(tmp_path: Path, text: str | bytes, folder: str = "analytic-rules", name: str = "rule.yaml"):
    path = tmp_path / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return validate_paths([path], kql=False)


def codes(problems: list[Problem]) -> set[tuple[str, str]]:
    return {(p.code, p.field) for p in problems}


def error_codes(report) -> set[str]:
    return {p.code for p in report.errors}


# --- baseline --------------------------------------------------------------------------------


def test_valid_scheduled_rule_has_no_problems_and_is_loaded(tmp_path):
    report = check(tmp_path, BASE_RULE)
    assert report.problems == []
    assert [r.id for r in report.content.analytic_rules] == [RULE_ID]
    assert report.files_checked == 1


def test_valid_nrt_rule_has_no_problems(tmp_path):
    report = check(tmp_path, nrt())
    assert report.problems == []
    assert report.content.analytic_rules[0].kind == "NRT"


def test_unknown_extra_keys_are_accepted(tmp_path):
    text = BASE_RULE + "status: Available\ntags:\n  Schema: ASimDns\n  SchemaVersion: 0.1.1\nmetadata:\n  source:\n    kind: Community\n"
    assert check(tmp_path, text).problems == []
    text = BASE_RULE + "tags: Schema ASimDns\nReferences: [https://example.com]\nsuppressionEnabled: false\n"
    report = check(tmp_path, text)  # CI accepts it; an unknown key is only a warning (issue 14)
    assert report.errors == [] and {(p.code, p.field) for p in report.problems} == {("key.unknown", "References")}


# --- id ---------------------------------------------------------------------------------------


def test_id_must_be_a_guid(tmp_path):
    report = check(tmp_path, rule(id="not-a-guid"))
    assert ("schema.pattern", "id") in codes(report.errors)


def test_schemas_are_valid_draft_2020_12():
    from jsonschema import Draft202012Validator

    from packer.validate.schemas import SCHEMA_FILES, schema

    for name in SCHEMA_FILES:
        Draft202012Validator.check_schema(schema(name))
        assert schema(name)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_id_in_braces_is_accepted_with_a_warning(tmp_path):
    report = check(tmp_path, rule(id="{" + RULE_ID + "}"))
    assert report.errors == []
    assert ("id.format", "id") in codes(report.warnings)


def test_ids_are_unique_across_all_content_kinds(tmp_path):
    check(tmp_path, BASE_RULE)
    check(tmp_path, BASE_HUNTING.replace("0f6e1c2a-3b4d-4e5f-8a9b-1c2d3e4f5a6b", RULE_ID.upper()), "hunting-queries", "h.yaml")
    report = validate_paths([tmp_path], kql=False)
    duplicates = [p for p in report.errors if p.code == "id.duplicate"]
    assert len(duplicates) == 1 and duplicates[0].path.name == "h.yaml"
    assert "rule.yaml" in duplicates[0].message


# --- kind and the fields it requires or forbids ------------------------------------------------


def test_kind_is_required(tmp_path):
    assert ("schema.required", "kind") in codes(check(tmp_path, rule(kind=None)).errors)


@pytest.mark.parametrize("kind", ["scheduled", "Fusion", "nrt"])
def test_kind_must_be_scheduled_or_nrt_exactly(tmp_path, kind):
    assert ("schema.enum", "kind") in codes(check(tmp_path, rule(kind=kind)).errors)


@pytest.mark.parametrize("field", ["queryFrequency", "queryPeriod", "triggerOperator", "triggerThreshold",
                                   "requiredDataConnectors", "severity", "query", "name", "description"])
def test_scheduled_rule_requires_field(tmp_path, field):
    assert ("schema.required", field) in codes(check(tmp_path, rule(**{field: None})).errors)


def test_nrt_rule_does_not_require_connectors(tmp_path):
    assert check(tmp_path, nrt(requiredDataConnectors=None)).errors == []


@pytest.mark.parametrize("field,value", [("queryFrequency", "1h"), ("queryPeriod", "1h"), ("triggerOperator", "gt"),
                                         ("triggerThreshold", 0)])
def test_nrt_rule_forbids_scheduled_fields(tmp_path, field, value):
    assert ("kind.forbidden-field", field) in codes(check(tmp_path, nrt(**{field: value})).errors)


def test_nrt_event_grouping_is_only_a_warning(tmp_path):
    report = check(tmp_path, nrt(eventGroupingSettings={"aggregationKind": "AlertPerResult"}))
    assert report.errors == [] and ("kind.ignored-field", "eventGroupingSettings") in codes(report.warnings)


# --- severity, trigger -------------------------------------------------------------------------


def test_severity_case_variant_is_a_warning(tmp_path):
    report = check(tmp_path, rule(severity="medium"))
    assert report.errors == [] and ("enum-case", "severity") in codes(report.warnings)
    assert report.content.analytic_rules[0].severity == "Medium"


def test_unknown_severity_is_an_error(tmp_path):
    assert ("schema.enum", "severity") in codes(check(tmp_path, rule(severity="Critical")).errors)


@pytest.mark.parametrize("operator,ok", [("gt", True), ("GreaterThan", True), ("ne", True), ("Gt", False), ("greater", False)])
def test_trigger_operator_is_case_sensitive(tmp_path, operator, ok):
    report = check(tmp_path, rule(triggerOperator=operator))
    assert (report.errors == []) is ok


@pytest.mark.parametrize("written,ok", [("0", True), ("10000", True), ("'5'", True), ("10001", False), ("-1", False),
                                        ("0x10", False), ("1.5", False)])
def test_trigger_threshold_is_a_whole_number_up_to_10000(tmp_path, written, ok):
    report = check(tmp_path, BASE_RULE.replace("triggerThreshold: 0", f"triggerThreshold: {written}"))
    assert (report.errors == []) is ok, report.errors


# --- durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1.5h", "PT1H", "1H", "60s", "1w", "soon"])
def test_duration_format_is_checked(tmp_path, value):
    report = check(tmp_path, rule(queryFrequency=value, queryPeriod="1d"))
    assert ("duration.format", "queryFrequency") in codes(report.errors)


@pytest.mark.parametrize("frequency,period", [("4m", "1h"), ("1h", "15d")])
def test_duration_limits_are_5_minutes_to_14_days(tmp_path, frequency, period):
    assert "duration.range" in error_codes(check(tmp_path, rule(queryFrequency=frequency, queryPeriod=period)))


def test_period_must_not_be_shorter_than_frequency(tmp_path):
    report = check(tmp_path, rule(queryFrequency="2h", queryPeriod="1h"))
    assert ("duration.period-shorter", "queryPeriod") in codes(report.errors)


@pytest.mark.parametrize("frequency,ok", [("30m", False), ("1h", True)])
def test_period_of_two_days_needs_hourly_frequency(tmp_path, frequency, ok):
    report = check(tmp_path, rule(queryFrequency=frequency, queryPeriod="2d"))
    assert (report.errors == []) is ok


def test_durations_are_read_as_written_text_not_yaml_numbers(tmp_path):
    # YAML 1.1 reads 01:00:00 as the number 3600; CI reads the text as one hour
    text = BASE_RULE.replace("queryFrequency: 1h", "queryFrequency: 01:00:00").replace("queryPeriod: 1h", "queryPeriod: 5")
    report = check(tmp_path, text)
    assert report.errors == []  # 5 is five days (TimeSpan), frequency 1h


# --- tactics and techniques --------------------------------------------------------------------


def test_tactic_case_variant_is_a_warning_and_normalised(tmp_path):
    report = check(tmp_path, rule(tactics=["CommandandControl"]))
    assert report.errors == [] and ("enum-case", "tactics[0]") in codes(report.warnings)
    assert report.content.analytic_rules[0].tactics == ("CommandAndControl",)


@pytest.mark.parametrize("tactics", [["Command and Control"], ["Vulnerability"]])
def test_unknown_tactic_is_an_error_in_rules(tmp_path, tactics):
    assert ("schema.enum", "tactics[0]") in codes(check(tmp_path, rule(tactics=tactics)).errors)


def test_rule_tactics_must_be_a_list(tmp_path):
    assert ("schema.type", "tactics") in codes(check(tmp_path, rule(tactics="CommandAndControl")).errors)


@pytest.mark.parametrize("technique", ["t1219", "T12190", "T1219.1", "1219"])
def test_technique_id_format(tmp_path, technique):
    report = check(tmp_path, rule(relevantTechniques=[technique]))
    assert ("schema.pattern", "relevantTechniques[0]") in codes(report.errors)


def test_sub_technique_is_mapped_by_its_parent(tmp_path):
    assert check(tmp_path, rule(tactics=["InitialAccess"], relevantTechniques=["T1078.004"])).problems == []


def test_technique_needs_one_of_its_tactics_in_scheduled_rules(tmp_path):
    report = check(tmp_path, rule(tactics=["Impact"], relevantTechniques=["T1219"]))
    assert ("technique.tactic", "relevantTechniques[0]") in codes(report.errors)


def test_technique_tactic_mismatch_is_only_a_warning_for_nrt(tmp_path):
    report = check(tmp_path, nrt(tactics=["Impact"], relevantTechniques=["T1219"]))
    assert report.errors == [] and ("technique.tactic", "relevantTechniques[0]") in codes(report.warnings)


def test_technique_unknown_to_the_map_is_a_warning(tmp_path):
    report = check(tmp_path, rule(relevantTechniques=["T1999"]))
    assert report.errors == [] and ("technique.unknown", "relevantTechniques[0]") in codes(report.warnings)


# --- entity mappings ---------------------------------------------------------------------------


def mapping(entity_type: str, *pairs: tuple[str, str]) -> dict:
    return {"entityType": entity_type, "fieldMappings": [{"identifier": i, "columnName": c} for i, c in pairs]}


def test_entity_type_must_be_known(tmp_path):
    report = check(tmp_path, rule(entityMappings=[mapping("Device", ("HostName", "DeviceName"))]))
    assert ("schema.enum", "entityMappings[0].entityType") in codes(report.errors)


def test_entity_type_case_variant_is_a_warning(tmp_path):
    report = check(tmp_path, rule(entityMappings=[mapping("Url", ("Url", "RemoteUrl"))]))
    assert report.errors == [] and ("enum-case", "entityMappings[0].entityType") in codes(report.warnings)


def test_identifier_must_belong_to_the_type_case_sensitively(tmp_path):
    report = check(tmp_path, rule(entityMappings=[mapping("Host", ("Hostname", "DeviceName"))]))
    assert ("entity.identifier", "entityMappings[0].fieldMappings[0].identifier") in codes(report.errors)


def test_identifier_must_be_unique_within_a_mapping(tmp_path):
    report = check(tmp_path, rule(entityMappings=[mapping("IP", ("Address", "LocalIP"), ("Address", "RemoteIP"))]))
    assert "entity.identifier-duplicate" in error_codes(report)


def test_required_identifier_set_must_be_covered(tmp_path):
    report = check(tmp_path, rule(entityMappings=[mapping("FileHash", ("Algorithm", "Algo"))]))
    assert ("entity.required", "entityMappings[0].entityType") in codes(report.errors)
    both = check(tmp_path, rule(entityMappings=[mapping("FileHash", ("Algorithm", "Algo"), ("Value", "SHA1"))]))
    assert both.errors == []


def test_between_1_and_10_entity_mappings(tmp_path):
    eleven = [mapping("Host", ("HostName", "DeviceName"))] * 11
    assert "schema.maxItems" in error_codes(check(tmp_path, rule(entityMappings=eleven)))
    assert "schema.minItems" in error_codes(check(tmp_path, rule(entityMappings=[])))


def test_between_1_and_3_field_mappings(tmp_path):
    four = mapping("Account", ("Name", "A"), ("NTDomain", "B"), ("Sid", "C"), ("UPNSuffix", "D"))
    assert "schema.maxItems" in error_codes(check(tmp_path, rule(entityMappings=[four])))
    assert "schema.minItems" in error_codes(check(tmp_path, rule(entityMappings=[mapping("Host")])))


def test_column_name_format(tmp_path):
    report = check(tmp_path, rule(entityMappings=[mapping("Host", ("HostName", "1Device"))]))
    assert ("schema.pattern", "entityMappings[0].fieldMappings[0].columnName") in codes(report.errors)


def test_legacy_custom_entity_column_must_be_mapped(tmp_path):
    query = "DeviceNetworkEvents | extend HostCustomEntity = DeviceName"
    assert ("entity.legacy-column", "query") in codes(check(tmp_path, rule(query=query)).errors)
    mapped = rule(query=query, entityMappings=[mapping("Host", ("HostName", "HostCustomEntity"))])
    assert check(tmp_path, mapped).errors == []


# --- custom details, alert details override, query, version ------------------------------------


def test_custom_details_limits(tmp_path):
    assert check(tmp_path, rule(customDetails={"RemoteUrl": "RemoteUrl", "tool_name": "Tool"})).errors == []
    too_many = {f"detail{i}": "Column" for i in range(21)}
    assert "schema.maxProperties" in error_codes(check(tmp_path, rule(customDetails=too_many)))
    assert "schema.maxLength" in error_codes(check(tmp_path, rule(customDetails={"a" * 21: "Column"})))
    assert "schema.pattern" in error_codes(check(tmp_path, rule(customDetails={"1st": "Column"})))
    assert "schema.pattern" in error_codes(check(tmp_path, rule(customDetails={"Tool": "not a column"})))


def test_alert_details_override_placeholders_and_blank_text(tmp_path):
    ok = {"alertDisplayNameFormat": "{{Tool}} on {{DeviceName}}", "alertDescriptionFormat": "Seen {{Count}} times"}
    assert check(tmp_path, rule(alertDetailsOverride=ok)).errors == []
    four = {"alertDisplayNameFormat": "{{A}} {{B}} {{C}} {{D}}"}
    assert ("alert-override.placeholders", "alertDetailsOverride.alertDisplayNameFormat") in codes(
        check(tmp_path, rule(alertDetailsOverride=four)).errors)
    blank = {"alertDescriptionFormat": "   "}
    assert "schema.pattern" in error_codes(check(tmp_path, rule(alertDetailsOverride=blank)))


def test_incident_grouping_values_the_rule_body_needs_are_checked(tmp_path):
    good = {"createIncident": True, "groupingConfiguration": {
        "enabled": True, "lookbackDuration": "5h", "matchingMethod": "Selected", "groupByEntities": ["Host"]}}
    assert check(tmp_path, rule(incidentConfiguration=good)).errors == []
    iso = {"groupingConfiguration": {"lookbackDuration": "PT5H"}}
    assert check(tmp_path, rule(incidentConfiguration=iso)).errors == []
    bad = {"groupingConfiguration": {"lookbackDuration": "five hours", "groupByEntities": 5, "groupByCustomDetails": [["x"]]}}
    found = codes(check(tmp_path, rule(incidentConfiguration=bad)).errors)
    assert found == {("incident.lookback", "incidentConfiguration.groupingConfiguration.lookbackDuration"),
                     ("incident.group-by", "incidentConfiguration.groupingConfiguration.groupByEntities"),
                     ("incident.group-by", "incidentConfiguration.groupingConfiguration.groupByCustomDetails")}
    assert error_codes(check(tmp_path, rule(incidentConfiguration={"groupingConfiguration": [1]}))) == {"incident.grouping"}


def test_query_length_is_1_to_10000(tmp_path):
    assert ("schema.maxLength", "query") in codes(check(tmp_path, rule(query="x" * 10001)).errors)
    assert ("schema.minLength", "query") in codes(check(tmp_path, rule(query="")).errors)


def test_version_is_checked_as_written_text(tmp_path):
    # YAML reads `1.0` as a float; CI reads "1.0", which is not X.Y.Z
    report = check(tmp_path, BASE_RULE.replace("version: 1.0.0", "version: 1.0"))
    assert ("schema.pattern", "version") in codes(report.errors)
    assert "1.0.0" in next(p.message for p in report.errors if p.field == "version")


def test_missing_rule_version_is_a_warning(tmp_path):
    report = check(tmp_path, rule(version=None))
    assert report.errors == [] and ("version.missing", "") in codes(report.warnings)
    assert report.content.analytic_rules[0].version == "1.0.0"


def test_hunting_query_version_1_0_is_only_a_warning(tmp_path):
    report = check(tmp_path, BASE_HUNTING + "version: 1.0\n", "hunting-queries", "h.yaml")
    assert report.errors == [] and ("version.format", "version") in codes(report.warnings)


# --- data connectors ---------------------------------------------------------------------------


def test_connector_needs_data_types(tmp_path):
    report = check(tmp_path, rule(requiredDataConnectors=[{"connectorId": "MicrosoftThreatProtection"}]))
    assert ("schema.required", "requiredDataConnectors[0].dataTypes") in codes(report.errors)


def test_connector_key_case_variant_is_a_warning(tmp_path):
    text = BASE_RULE.replace("    dataTypes:", "    datatypes:")
    report = check(tmp_path, text)
    assert report.errors == [] and ("key-case", "requiredDataConnectors[0].dataTypes") in codes(report.warnings)
    assert report.content.analytic_rules[0].required_data_connectors[0].data_types == ("DeviceNetworkEvents",)


def test_unknown_connector_id_is_a_warning(tmp_path):
    report = check(tmp_path, rule(requiredDataConnectors=[{"connectorId": "microsoftthreatprotection", "dataTypes": []}]))
    assert report.errors == []
    assert ("connector.unknown", "requiredDataConnectors[0].connectorId") in codes(report.warnings)


def test_connectors_must_be_a_list(tmp_path):
    report = check(tmp_path, rule(requiredDataConnectors={"connectorId": "MicrosoftThreatProtection"}))
    assert ("schema.type", "requiredDataConnectors") in codes(report.errors)


def test_empty_optional_fields_are_accepted(tmp_path):
    text = BASE_RULE.replace("tactics:\n  - CommandAndControl\nrelevantTechniques:\n  - T1219\n", "tactics:\nrelevantTechniques:\n")
    assert check(tmp_path, text).errors == []


# --- YAML-level defects and text -----------------------------------------------------------------


def test_duplicate_keys_are_errors_with_their_position(tmp_path):
    report = check(tmp_path, BASE_RULE + "severity: High\n")
    duplicate = next(p for p in report.errors if p.code == "yaml.duplicate-key")
    assert (duplicate.field, duplicate.line, duplicate.column) == ("severity", BASE_RULE.count("\n") + 1, 1)


@pytest.mark.parametrize("extra", ["Severity: High\n", "SEVERITY: High\n"])
def test_two_spellings_of_one_key_are_an_error(tmp_path, extra):
    report = check(tmp_path, BASE_RULE + extra)
    duplicate = next(p for p in report.errors if p.code == "key-case-duplicate")
    assert (duplicate.field, duplicate.line) == (extra.split(":")[0], BASE_RULE.count("\n") + 1)


def test_non_ascii_text_is_a_warning_with_its_position(tmp_path):
    text = BASE_RULE.replace("talking to its relay", "talking to Krämer's relay")
    report = check(tmp_path, text)
    assert report.errors == []
    warning = next(p for p in report.warnings if p.code == "non-ascii")
    assert (warning.line, warning.column) == (4, text.splitlines()[3].index("ä") + 1)
    assert report.content.analytic_rules[0].description.startswith("Detects a remote management tool talking to Krämer")


def test_bom_and_crlf_are_accepted(tmp_path):
    data = b"\xef\xbb\xbf" + BASE_RULE.replace("\n", "\r\n").encode()
    assert check(tmp_path, data).problems == []


def test_false_positives_are_accepted_and_loaded(tmp_path):
    fps = [{"scenario": "IT staff use the tool", "filter": "| where InitiatingProcessAccountName !in (admins)"}]
    report = check(tmp_path, rule(falsePositives=fps))
    assert report.problems == []
    assert report.content.analytic_rules[0].false_positives[0].scenario == "IT staff use the tool"
    assert ("schema.required", "falsePositives[0].scenario") in codes(
        check(tmp_path, rule(falsePositives=[{"filter": "x"}])).errors)


# --- hunting queries ---------------------------------------------------------------------------


def test_valid_hunting_query(tmp_path):
    report = check(tmp_path, BASE_HUNTING, "hunting-queries", "h.yaml")
    assert report.problems == [] and len(report.content.hunting_queries) == 1


def test_hunting_tactics_as_text_are_a_warning(tmp_path):
    text = BASE_HUNTING.replace("tactics:\n  - CommandAndControl\nrelevantTechniques:\n  - T1219",
                                "tactics: CommandAndControl, Execution\nrelevantTechniques: T1219")
    report = check(tmp_path, text, "hunting-queries", "h.yaml")
    assert report.errors == [] and ("list-as-text", "tactics") in codes(report.warnings)
    assert report.content.hunting_queries[0].tactics == ("CommandAndControl", "Execution")


def test_hunting_tactic_with_spaces_is_a_warning_but_unknown_names_are_errors(tmp_path):
    spaced = BASE_HUNTING.replace("  - CommandAndControl", "  - Command and control")
    report = check(tmp_path, spaced, "hunting-queries", "h.yaml")
    assert report.errors == [] and ("enum-case", "tactics[0]") in codes(report.warnings)
    assert report.content.hunting_queries[0].tactics == ("CommandAndControl",)
    wrong = BASE_HUNTING.replace("  - CommandAndControl", "  - Vulnerability")
    assert ("schema.enum", "tactics[0]") in codes(check(tmp_path, wrong, "hunting-queries", "h.yaml").errors)


def test_hunting_query_length_is_not_limited_like_a_rule(tmp_path):
    long_query = BASE_HUNTING.replace("DeviceNetworkEvents | take 10", "DeviceNetworkEvents | where RemoteIP in (" + '"1.2.3.4",' * 2000 + '"x")')
    assert check(tmp_path, long_query, "hunting-queries", "h.yaml").errors == []


def test_hunting_query_requires_id_and_query(tmp_path):
    text = "\n".join(line for line in BASE_HUNTING.splitlines() if not line.startswith(("id:", "query:", "  Device")))
    report = check(tmp_path, text, "hunting-queries", "h.yaml")
    assert codes(report.errors) == {("schema.required", "id"), ("schema.required", "query")}


def test_loose_file_kind_comes_from_its_fields(tmp_path):
    report = check(tmp_path, rule(queryFrequency="5m", queryPeriod="4m"), folder="loose")
    assert "duration.period-shorter" in error_codes(report)  # a rule check ran: it was read as a rule
    assert len(check(tmp_path, BASE_HUNTING, folder="loose2").content.hunting_queries) == 1


# --- bad input never gives a traceback ---------------------------------------------------------


def test_yaml_syntax_error_has_line_and_column(tmp_path):
    report = check(tmp_path, 'id: x\nname: "unterminated\n')
    problem = report.errors[0]
    assert problem.code == "yaml.syntax" and problem.line >= 2 and problem.column >= 1


def test_list_where_a_mapping_belongs(tmp_path):
    assert error_codes(check(tmp_path, "- id: x\n- name: y\n")) == {"yaml.not-mapping"}


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_empty_file(tmp_path, text):
    assert error_codes(check(tmp_path, text)) == {"file.empty"}


def test_binary_file(tmp_path):
    assert error_codes(check(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00")) == {"file.binary"}


def test_not_utf8(tmp_path):
    assert error_codes(check(tmp_path, b"name: caf\xe9\n")) == {"file.encoding"}


def test_huge_file(tmp_path):
    assert error_codes(check(tmp_path, "# x\n" * (MAX_FILE_BYTES // 4 + 1))) == {"file.too-large"}


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "analytic-rules" / "rule.yaml"
    path.parent.mkdir()
    path.write_text(BASE_RULE)

    def refuse(real):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(safefile, "_open", refuse)
    report = validate_paths([path], kql=False)
    assert error_codes(report) == {"file.unreadable"} and "Permission denied" in report.errors[0].message


@pytest.mark.parametrize("root_has_solution", [False, True])
def test_broken_link_in_a_folder_is_reported_not_skipped(tmp_path, root_has_solution):
    if root_has_solution:
        (tmp_path / "solution.yaml").write_text("name: x\n")
    (tmp_path / "analytic-rules").mkdir()
    (tmp_path / "analytic-rules" / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    report = validate_paths([tmp_path], kql=False)
    assert [(p.path.name, p.code) for p in report.errors if p.path.name == "gone.yaml"] == [("gone.yaml", "file.unreadable")]


@pytest.mark.parametrize("field_path", [("tactics", 0), ("entityMappings", 0, "entityType"),
                                        ("entityMappings", 0, "fieldMappings", 0, "columnName")])
@pytest.mark.parametrize("value", [[1], {"a": 1}])
def test_a_list_or_mapping_where_text_belongs_is_reported_not_a_crash(tmp_path, field_path, value):
    data = yaml.safe_load(BASE_RULE)
    target = data
    for part in field_path[:-1]:
        target = target[part]
    target[field_path[-1]] = value
    report = check(tmp_path, yaml.safe_dump(data))
    assert report.errors and "model.build" not in error_codes(report)


def test_yaml_outside_the_content_folders_of_a_root_is_a_warning_not_skipped(tmp_path):
    (tmp_path / "solution.yaml").write_text("name: x\n")
    (tmp_path / "Analytic Rules").mkdir()
    (tmp_path / "Analytic Rules" / "rule.yaml").write_text(BASE_RULE)
    (tmp_path / "targets.yaml").write_text("tenants: []\n")
    report = validate_paths([tmp_path], kql=False)
    assert [(p.path.name, p.severity) for p in report.problems if p.code == "file.not-content"] == [("rule.yaml", "warning")]


def test_alias_bomb_is_refused_quickly(tmp_path):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 12)]
    assert error_codes(check(tmp_path, "\n".join(lines) + "\n")) == {"yaml.too-many-values"}


@pytest.mark.parametrize("text", ["id: 1\n---\nid: 2\n", "id:\t1\n\tname: x\n", "a: " + "[" * 2000 + "]" * 2000 + "\n"])
def test_other_unreadable_yaml_is_a_syntax_error(tmp_path, text):
    assert error_codes(check(tmp_path, text)) == {"yaml.syntax"}


def test_unknown_yaml_tags_are_read_as_text(tmp_path):
    report = check(tmp_path, BASE_RULE.replace("name: RMM", "name: !custom RMM"))
    assert report.errors == [] and report.content.analytic_rules[0].name.startswith("RMM tool")


def test_tool_folders_are_not_content(tmp_path):
    check(tmp_path, BASE_HUNTING, "hunting-queries", "h.yaml")
    for folder in (".github/workflows", "node_modules/x", ".venv/lib"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "ci.yml").write_text("on: push\njobs: {}\n")
    report = validate_paths([tmp_path], kql=False)
    assert report.files_checked == 1 and report.problems == []


def test_missing_path(tmp_path):
    assert error_codes(validate_paths([tmp_path / "nope.yaml"], kql=False)) == {"file.missing"}


# --- parsers, workbooks, solution ---------------------------------------------------------------

PARSER = """\
id: 7d1e2c3b-4a5f-4e6d-9c8b-7a6f5e4d3c2b
Function:
  Title: RMM tool activity
  Version: 1.0.0
  LastUpdated: 2024-01-01
Category: Microsoft Sentinel Parser
FunctionName: RMMToolActivity
FunctionAlias: RMMToolActivity
FunctionQuery: |
  DeviceNetworkEvents | project TimeGenerated, DeviceName
"""


def test_parser_valid_and_invalid(tmp_path):
    assert check(tmp_path, PARSER, "parsers", "p.yaml").problems == []
    broken = PARSER.replace("FunctionName: RMMToolActivity", "FunctionName: RMM Tool")
    assert ("schema.pattern", "FunctionName") in codes(check(tmp_path, broken, "parsers", "p.yaml").errors)


WORKBOOK = """\
workbookKey: RMMToolActivityWorkbook
title: RMM tool activity
description: Activity of remote management tools over time.
version: 1.0.0
"""


def test_workbook_needs_its_json(tmp_path):
    report = check(tmp_path, WORKBOOK, "workbooks", "RMMToolActivity.yaml")
    assert "workbook.template" in error_codes(report)
    (tmp_path / "workbooks" / "RMMToolActivity.json").write_text('{"version": "Notebook/1.0", "items": []}')
    assert validate_paths([tmp_path / "workbooks"], kql=False).problems == []


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, "{", "[]"])
def test_unusable_workbook_json_is_reported(tmp_path, text):
    check(tmp_path, WORKBOOK, "workbooks", "RMMToolActivity.yaml")
    (tmp_path / "workbooks" / "RMMToolActivity.json").write_text(text)
    assert error_codes(validate_paths([tmp_path / "workbooks"], kql=False)) == {"workbook.template"}


SOLUTION = """\
name: RMM tool abuse
publisherId: contoso
offerId: contoso-rmm-tool-abuse
version: 3.0.0
description: Detect remote management tools.
author:
  name: Contoso SOC
  email: soc@contoso.example
support:
  tier: Partner
  name: Contoso
  email: soc@contoso.example
  link: https://contoso.example/support
firstPublishDate: 2024-05-01
categories:
  domains: [Security - Threat Protection]
"""


def test_content_root_is_validated_as_a_whole(tmp_path):
    (tmp_path / "solution.yaml").write_text(SOLUTION)
    check(tmp_path, BASE_RULE)
    check(tmp_path, BASE_HUNTING, "hunting-queries", "h.yaml")
    content = load_content(tmp_path, kql=False)
    assert content.solution.offer_id == "contoso-rmm-tool-abuse" and content.solution.first_publish_date == "2024-05-01"
    assert len(content.analytic_rules) == 1 and len(content.hunting_queries) == 1


def test_solution_checks(tmp_path):
    (tmp_path / "solution.yaml").write_text(SOLUTION.replace("tier: Partner", "tier: Gold").replace("2024-05-01", "2024-02-30"))
    report = validate_paths([tmp_path], kql=False)
    assert {("schema.enum", "support.tier"), ("date.invalid", "firstPublishDate")} <= codes(report.errors)


def test_load_content_raises_with_the_report(tmp_path):
    (tmp_path / "solution.yaml").write_text(SOLUTION)
    check(tmp_path, rule(severity="Critical"))
    with pytest.raises(ValidationFailed) as caught:
        load_content(tmp_path, kql=False)
    assert caught.value.error_count == 1 and caught.value.report.errors[0].field == "severity"


# --- the KQL hook ------------------------------------------------------------------------------


def test_a_broken_kql_import_is_an_error_not_a_skip(tmp_path, monkeypatch):
    """packer.kql is part of this package: failing to import it is a defect to see (issue 24), not
    "not installed". Only an absent Node.js or npm package is a skip (tests/test_kql.py)."""
    monkeypatch.setitem(sys.modules, "packer.kql", None)  # makes the import fail
    monkeypatch.setitem(sys.modules, "packer.kql.check", None)  # even when an earlier test imported it
    path = tmp_path / "analytic-rules" / "rule.yaml"
    path.parent.mkdir()
    path.write_text(BASE_RULE)
    with pytest.raises(ImportError):
        validate_paths([path])
    assert validate_paths([path], kql=False).kql_status.startswith("skipped: disabled")


def test_kql_problems_are_reported_and_drop_the_item_from_content(tmp_path, monkeypatch):
    seen = []

    def analyse_content(items, require=None):
        seen.extend(items)
        item = items[0]
        problems = [Problem(item.source.path, 18, 3, "query", "error", "kql.syntax", "unexpected token")]
        return types.SimpleNamespace(problems=problems, status="ran", facts={})

    monkeypatch.setitem(sys.modules, "packer.kql", types.SimpleNamespace(analyse_content=analyse_content,
                                                                       prestart_for=lambda anchor: None))
    path = tmp_path / "analytic-rules" / "rule.yaml"
    path.parent.mkdir()
    path.write_text(BASE_RULE)
    report = validate_paths([path])
    assert [i.id for i in seen] == [RULE_ID]
    assert report.kql_status == "ran" and error_codes(report) == {"kql.syntax"}
    assert report.content.analytic_rules == ()
