"""packer.bodies.properties: the packager's mapping from the content model to resource properties."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from packer.content.model import (
    AnalyticRule,
    DataConnectorRef,
    HuntingQuery,
    Parser,
    RuleKind,
    SourceInfo,
    Workbook,
)
from packer.bodies.properties import (
    analytic_rule_properties,
    hunting_query_properties,
    packager_duration,
    parser_properties,
    rule_description,
    serialized_workbook,
    split_techniques,
    workbook_properties,
)

SOURCE = SourceInfo(Path("rule.yaml"))
RULE = AnalyticRule(
    id="11111111-1111-1111-1111-111111111111", name="Rule", description="'Quoted\ntext.'\n",
    kind=RuleKind.SCHEDULED, severity="High", query="T | take 1\n", version="1.0.1", source=SOURCE,
    required_data_connectors=(DataConnectorRef("Syslog", ("Syslog",)),),
    query_frequency="1d", query_period="14d", trigger_operator="gt", trigger_threshold=3,
    tactics=("Command And Control",), relevant_techniques=("T1562", "T1562.001", "T1078"),
)


def test_scheduled_rule_maps_like_the_packager() -> None:
    props = analytic_rule_properties(RULE)
    assert list(props)[:4] == ["description", "displayName", "enabled", "query"]
    assert props["description"] == "Quoted\ntext."
    assert props["enabled"] is False
    assert (props["queryFrequency"], props["queryPeriod"]) == ("P1D", "P14D")
    assert (props["triggerOperator"], props["triggerThreshold"]) == ("GreaterThan", 3)
    assert (props["suppressionDuration"], props["suppressionEnabled"]) == ("PT1H", False)
    assert props["status"] == "Available"
    assert props["requiredDataConnectors"] == [{"connectorId": "Syslog", "dataTypes": ["Syslog"]}]
    assert props["tactics"] == ["CommandAndControl"]
    assert props["subTechniques"] == ["T1562.001"]
    assert props["techniques"] == ["T1562", "T1562", "T1078"]  # the packager's duplicate quirk
    assert list(props).index("subTechniques") < list(props).index("techniques")
    assert not any(isinstance(v, str) and v.startswith("[") for v in props.values())


def test_nrt_rule_has_no_schedule_or_trigger() -> None:
    props = analytic_rule_properties(replace(RULE, kind=RuleKind.NRT))
    assert not {"queryFrequency", "queryPeriod", "triggerOperator", "triggerThreshold"} & set(props)


def test_empty_connectors_value_comes_from_the_caller() -> None:
    rule = replace(RULE, required_data_connectors=())
    assert analytic_rule_properties(rule)["requiredDataConnectors"] == []
    packaged = analytic_rule_properties(rule, empty_connectors="[variables('TemplateEmptyArray')]")
    assert packaged["requiredDataConnectors"] == "[variables('TemplateEmptyArray')]"


def test_live_callers_can_enable_the_rule() -> None:
    assert analytic_rule_properties(RULE, enabled=True)["enabled"] is True


def test_descriptions_lose_quotes_as_the_packager_does() -> None:
    assert rule_description('"Say "hi""  \n') == 'Say "hi"'
    assert rule_description("plain 'x'") == "plain 'x'"
    query = HuntingQuery(id="q", name="Q", description="  'only leading\n", query="T", source=SOURCE)
    assert hunting_query_properties(query)["tags"][0] == {"name": "description", "value": "only leading"}


def test_durations() -> None:
    assert [packager_duration(v) for v in ("5m", "1h", "2d", "90m", "01:00:00", "PT5M")] == [
        "PT5M", "PT1H", "P2D", "PT90M", "PT1H", "PT5M"]


def test_split_techniques_deduplicates_full_entries() -> None:
    assert split_techniques(("T1078", "T1078", "T1059.001", "T1059.001")) == (["T1078", "T1059", "T1059"], ["T1059.001"])


def test_hunting_query_tags_are_omitted_when_empty() -> None:
    query = HuntingQuery(id="q", name="Q", description="", query="T", source=SOURCE,
                         tactics=("Discovery", "Impact"), relevant_techniques=("T1087", "T1496.001"))
    props = hunting_query_properties(query)
    assert props["category"] == "Hunting Queries" and props["version"] == 2
    assert props["tags"] == [{"name": "tactics", "value": "Discovery,Impact"},
                             {"name": "techniques", "value": "T1087,T1496.001"}]


def test_parser_properties() -> None:
    parser = Parser(id="p", title="Parser for X", function_name="X", function_alias="XAlias",
                    query="T", version="1.0.0", source=SOURCE)
    props = parser_properties(parser)
    assert props["functionAlias"] == "XAlias" and props["displayName"] == "Parser for X"
    assert props["functionParameters"] == "" and props["tags"] == [{"name": "description", "value": ""}]


def test_workbook_serialized_data_drops_empty_members_and_keeps_key_order() -> None:
    data = {"version": "Notebook/1.0", "items": [{"z": 1, "a": None, "b": [], "c": {}, "d": {"e": []}}],
            "styleSettings": {}, "query": json.dumps({"q": "x", "n": None, "l": []})}
    workbook = Workbook(key="k", title="T", description="D", version="1.0.0", serialized_data=json.dumps(data),
                        source=SOURCE, template_path=Path("k.json"))
    text = serialized_workbook(workbook)
    assert text.endswith("}\n")
    assert json.loads(text) == {"version": "Notebook/1.0", "items": [{"z": 1}], "query": '{"q":"x"}'}
    props = workbook_properties(workbook, "/subscriptions/s/workspaces/w")
    assert props["displayName"] == "T" and props["sourceId"] == "/subscriptions/s/workspaces/w"
    assert props["category"] == "sentinel" and props["version"] == "1.0"
