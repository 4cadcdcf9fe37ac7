"""Resource `properties` objects exactly as Microsoft's V3 packager writes them.

Pure functions from the content model to the `properties` of the real resource inside a
`contentTemplates` resource (solution-format.md 4.4-4.7). They emit literals only: where the
packager writes an ARM expression (an empty-array variable, a workbook name parameter, the
workspace resource id) the caller passes the value in. The packager (packer.package) passes
expressions; the live API body builder passes real values and adds what the API needs.
"""
from __future__ import annotations

import json
import re
from typing import Any

from packer.content.model import (
    AlertDetailsOverride,
    AnalyticRule,
    DataConnectorRef,
    EntityMapping,
    HuntingQuery,
    IncidentConfiguration,
    Parser,
    RuleKind,
    Workbook,
)
from packer.durations import to_iso8601
from packer.vocabulary import TRIGGER_OPERATORS

_SHORT_DURATION = re.compile(r"^\d+[mhdMHD]$")

HUNTING_CATEGORY = "Hunting Queries"
SAVED_SEARCH_VERSION = 2  # what the packager writes for YAML hunting queries and parsers
WORKBOOK_CATEGORY = "sentinel"
WORKBOOK_VERSION = "1.0"


# --- text helpers (Microsoft's quirks, solution-format.md 4.4, 4.5, 6) -----------------------


def rule_description(text: str) -> str:
    """Trailing whitespace removed; a leading quote drops the first AND last character."""
    text = text.rstrip()
    if text[:1] in ("'", '"'):
        text = text[1:-1]
    return text


def hunting_description(text: str) -> str:
    """Trimmed; one leading `'` and one trailing `'` removed, each on its own."""
    text = text.strip()
    if text.startswith("'"):
        text = text[1:]
    if text.endswith("'"):
        text = text[:-1]
    return text


def packager_duration(value: str) -> str:
    """`1d` -> `P1D`, `5h` -> `PT5H`, `90m` -> `PT90M` (the packager's rule); other forms via ISO."""
    value = value.strip()
    if value.upper().startswith("P"):
        return value.upper()
    if _SHORT_DURATION.match(value):
        upper = value.upper()
        return ("P" if "D" in upper else "PT") + upper
    return to_iso8601(value)


def split_techniques(relevant: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(techniques, subTechniques) as the packager splits `relevantTechniques`.

    The packager's duplicate check compares the technique with the full entry, so
    `[T1562, T1562.001]` gives techniques `[T1562, T1562]` (kept on purpose).
    """
    techniques: list[str] = []
    sub_techniques: list[str] = []
    for entry in relevant:
        entry = entry.replace(" ", "")
        if "." in entry and entry not in sub_techniques:
            sub_techniques.append(entry)
        technique = entry.split(".")[0]
        if entry not in techniques:
            techniques.append(technique)
    return techniques, sub_techniques


# --- analytic rule --------------------------------------------------------------------------


def connectors_json(connectors: tuple[DataConnectorRef, ...]) -> list[dict]:
    return [{"connectorId": c.connector_id, "dataTypes": list(c.data_types)} for c in connectors]


def entity_mappings_json(mappings: tuple[EntityMapping, ...]) -> list[dict]:
    return [
        {
            "entityType": m.entity_type,
            "fieldMappings": [{"identifier": f.identifier, "columnName": f.column_name} for f in m.field_mappings],
        }
        for m in mappings
    ]


def alert_details_override_json(override: AlertDetailsOverride) -> dict:
    out: dict[str, Any] = {}
    for key, value in (
        ("alertDisplayNameFormat", override.display_name_format),
        ("alertDescriptionFormat", override.description_format),
        ("alertTacticsColumnName", override.tactics_column_name),
        ("alertSeverityColumnName", override.severity_column_name),
    ):
        if value is not None:
            out[key] = value
    if override.dynamic_properties:
        out["alertDynamicProperties"] = [
            {"alertProperty": prop, "value": value} for prop, value in override.dynamic_properties
        ]
    return out


def incident_configuration_json(config: IncidentConfiguration) -> dict:
    out: dict[str, Any] = {"createIncident": config.create_incident}
    grouping = config.grouping
    if grouping is not None:
        out["groupingConfiguration"] = {
            "enabled": grouping.enabled,
            "reopenClosedIncident": grouping.reopen_closed_incident,
            "lookbackDuration": grouping.lookback_duration,
            "matchingMethod": grouping.matching_method,
            "groupByEntities": list(grouping.group_by_entities),
            "groupByAlertDetails": list(grouping.group_by_alert_details),
            "groupByCustomDetails": list(grouping.group_by_custom_details),
        }
    return out


def analytic_rule_properties(rule: AnalyticRule, *, enabled: bool = False, empty_connectors: Any = None) -> dict:
    """The AlertRuleTemplate `properties` (key order as the packager writes it).

    `enabled`: templates are always disabled; the live API passes the rule's own value.
    `empty_connectors`: the value written when the rule lists no data connector (the packager
    passes "[variables('TemplateEmptyArray')]"); default an empty list.
    """
    scheduled = rule.kind is RuleKind.SCHEDULED
    props: dict[str, Any] = {
        "description": rule_description(rule.description),
        "displayName": rule.name,
        "enabled": enabled,
        "query": rule.query,
    }
    if scheduled:
        props["queryFrequency"] = packager_duration(rule.query_frequency or "5h")
        props["queryPeriod"] = packager_duration(rule.query_period or "5h")
    props["severity"] = rule.severity or "Medium"
    props["suppressionDuration"] = packager_duration(rule.suppression_duration or "1h")
    props["suppressionEnabled"] = rule.suppression_enabled
    if scheduled:
        props["triggerOperator"] = TRIGGER_OPERATORS.get(rule.trigger_operator or "gt", rule.trigger_operator)
        props["triggerThreshold"] = rule.trigger_threshold or 0
    props["status"] = rule.status or "Available"
    connectors = connectors_json(rule.required_data_connectors)
    props["requiredDataConnectors"] = connectors or ([] if empty_connectors is None else empty_connectors)
    _add_attack(props, rule.tactics, rule.relevant_techniques)
    if rule.entity_mappings:
        props["entityMappings"] = entity_mappings_json(rule.entity_mappings)
    if rule.event_grouping_aggregation:
        props["eventGroupingSettings"] = {"aggregationKind": rule.event_grouping_aggregation}
    if rule.custom_details:
        props["customDetails"] = dict(rule.custom_details)
    if rule.alert_details_override is not None:
        props["alertDetailsOverride"] = alert_details_override_json(rule.alert_details_override)
    if rule.incident_configuration is not None:
        props["incidentConfiguration"] = incident_configuration_json(rule.incident_configuration)
    if rule.sentinel_entities_mappings:
        props["sentinelEntitiesMappings"] = [{"columnName": c} for c in rule.sentinel_entities_mappings]
    return props


def _add_attack(props: dict, tactics: tuple[str, ...], relevant: tuple[str, ...]) -> None:
    if tactics:
        props["tactics"] = [t.replace(" ", "") for t in tactics]
    techniques, sub_techniques = split_techniques(relevant)
    if sub_techniques:
        props["subTechniques"] = sub_techniques
    if techniques:
        props["techniques"] = techniques


# --- hunting query --------------------------------------------------------------------------


def hunting_query_tags(query: HuntingQuery) -> list[dict]:
    tags = []
    if query.description:
        tags.append({"name": "description", "value": hunting_description(query.description)})
    if query.tactics:
        tags.append({"name": "tactics", "value": ",".join(t.replace(" ", "") for t in query.tactics)})
    if query.relevant_techniques:
        tags.append({"name": "techniques", "value": ",".join(t.replace(" ", "") for t in query.relevant_techniques)})
    return tags


def hunting_query_properties(query: HuntingQuery) -> dict:
    """The savedSearch `properties` of a hunting query (category "Hunting Queries")."""
    return {
        "eTag": "*",
        "displayName": query.name,
        "category": HUNTING_CATEGORY,
        "query": query.query,
        "version": SAVED_SEARCH_VERSION,
        "tags": hunting_query_tags(query),
    }


# --- parser ---------------------------------------------------------------------------------


def parser_properties(parser: Parser, *, description: str = "") -> dict:
    """The savedSearch `properties` of a parser function (the YAML `Description`, if any, as a tag)."""
    return {
        "eTag": "*",
        "displayName": parser.title,
        "category": parser.category,
        "functionAlias": parser.function_alias,
        "query": parser.query,
        "functionParameters": parser.function_parameters or "",
        "version": SAVED_SEARCH_VERSION,
        "tags": [{"name": "description", "value": description}],
    }


# --- workbook -------------------------------------------------------------------------------


def _without_empty(value: Any) -> Any:
    """Drop, recursively, every member whose value is null, [] or {} (as the packager does)."""
    if isinstance(value, dict):
        out = {}
        for key, member in value.items():
            member = _without_empty(member)
            if member is None or member == [] or member == {}:
                continue
            if key == "query" and isinstance(member, str):
                member = _clean_json_query(member)
            out[key] = member
        return out
    if isinstance(value, list):
        return [_without_empty(v) for v in value if v is not None and v != [] and v != {}]
    return value


def _clean_json_query(text: str) -> str:
    """A `query` string holding a JSON object loses its null/[] members (ARG/API queries)."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return text
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return text
    if not isinstance(parsed, dict):
        return text
    cleaned = {k: v for k, v in parsed.items() if v is not None and v != []}
    if cleaned == parsed:
        return text
    return json.dumps(cleaned, ensure_ascii=False, separators=(",", ":"))


def serialized_workbook(workbook: Workbook, newline: str = "\n") -> str:
    """The workbook JSON, cleaned and compact, ending with `newline` as a Linux-built package."""
    cleaned = _without_empty(json.loads(workbook.serialized_data))
    return json.dumps(cleaned, ensure_ascii=False, separators=(",", ":")) + newline


def workbook_properties(workbook: Workbook, source_id_expr: str, *, display_name: str | None = None) -> dict:
    """The Microsoft.Insights/workbooks `properties`.

    `source_id_expr`: the workspace resource id (the packager passes
    "[variables('workspaceResourceId')]"); `display_name`: defaults to the workbook title
    (the packager passes "[parameters('workbookN-name')]").
    """
    return {
        "displayName": workbook.title if display_name is None else display_name,
        "serializedData": serialized_workbook(workbook),
        "version": WORKBOOK_VERSION,
        "sourceId": source_id_expr,
        "category": WORKBOOK_CATEGORY,
    }
