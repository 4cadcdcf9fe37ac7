"""Checks of analytic rules beyond the schema: schedule, threshold, legacy entity columns, overrides."""
from __future__ import annotations

import re

from packer.content.field_rules import (  # noqa: F401 (MAX_THRESHOLD, SCHEDULED_ONLY: named here before)
    MAX_THRESHOLD, SCHEDULED_ONLY, schedule_violations, threshold_violations,
)
from packer.durations import DurationError, parse_duration
from packer.content.document import CiDocument
from packer.validate.problems import ERROR, WARNING, Problem

LEGACY_ENTITY_COLUMNS = ("AccountCustomEntity", "HostCustomEntity", "IPCustomEntity", "URLCustomEntity",
                         "ProcessCustomEntity", "FileHashCustomEntity")
PLACEHOLDER = re.compile(r"\{\{([^{}]*)\}\}")
MAX_PLACEHOLDERS = 3


def check_rule(doc: CiDocument) -> list[Problem]:
    kind = doc.value.get("kind")
    problems = check_alert_details_override(doc) + check_incident_grouping(doc)
    if "version" not in doc.value:
        problems.append(doc.problem((), WARNING, "version.missing",
                                    "no version: add `version: 1.0.0` and bump it on every change "
                                    "(Content Hub offers an update only when it increases)"))
    if kind == "NRT":
        problems += check_nrt_fields(doc)
    elif kind == "Scheduled":
        problems += check_schedule(doc) + check_threshold(doc) + check_legacy_columns(doc)
    return problems


def check_nrt_fields(doc: CiDocument) -> list[Problem]:
    problems = [
        doc.problem((name,), ERROR, "kind.forbidden-field",
                    "is for Scheduled rules only (an NRT rule runs about every minute on new data): remove it "
                    "or change kind to Scheduled")
        for name in SCHEDULED_ONLY
        if name in doc.value
    ]
    if "eventGroupingSettings" in doc.value:  # the NRT API has it, but the package template (like Microsoft's) drops it
        problems.append(doc.problem(("eventGroupingSettings",), WARNING, "kind.ignored-field",
                                    "is ignored for NRT rules by the package build, as Microsoft's packager does"))
    return problems


def check_schedule(doc: CiDocument) -> list[Problem]:
    violations = schedule_violations(doc.value.get("queryFrequency"), doc.value.get("queryPeriod"))
    return [doc.problem((v.field,), ERROR, v.code, v.message) for v in violations]


def check_threshold(doc: CiDocument) -> list[Problem]:
    return [doc.problem((v.field,), ERROR, v.code, v.message) for v in threshold_violations(doc.value.get("triggerThreshold"))]


def check_legacy_columns(doc: CiDocument) -> list[Problem]:
    """CI: a query naming a legacy *CustomEntity column must map that column in entityMappings."""
    query = doc.value.get("query")
    if not isinstance(query, str):
        return []
    mappings = doc.value.get("entityMappings")
    mapped = {
        field_mapping.get("columnName")
        for mapping in (mappings if isinstance(mappings, list) else [])
        if isinstance(mapping, dict) and isinstance(mapping.get("fieldMappings"), list)
        for field_mapping in mapping["fieldMappings"]
        if isinstance(field_mapping, dict) and isinstance(field_mapping.get("columnName"), str)
    }
    return [
        doc.problem(("query",), ERROR, "entity.legacy-column",
                    f"the query uses the legacy column {column}; map it in entityMappings (columnName: {column})")
        for column in LEGACY_ENTITY_COLUMNS
        if column in query and column not in mapped
    ]


def check_alert_details_override(doc: CiDocument) -> list[Problem]:
    override = doc.value.get("alertDetailsOverride")
    if not isinstance(override, dict):
        return []
    problems = []
    for name in ("alertDisplayNameFormat", "alertDescriptionFormat"):
        text = override.get(name)
        if isinstance(text, str) and len(PLACEHOLDER.findall(text)) > MAX_PLACEHOLDERS:
            problems.append(doc.problem(("alertDetailsOverride", name), ERROR, "alert-override.placeholders",
                                        f"uses {len(PLACEHOLDER.findall(text))} {{{{column}}}} placeholders; "
                                        f"at most {MAX_PLACEHOLDERS} are allowed"))
    return problems


SEMVER = re.compile(r"^(\d+\.)(\d+\.)(\d+)$")


def check_incident_grouping(doc: CiDocument) -> list[Problem]:
    """CI does not check incidentConfiguration, but the rule body is built from it: check what the body needs."""
    incident_key = _key(doc.value, "incidentConfiguration")
    incident = doc.value.get(incident_key) if incident_key else None
    grouping_key = _key(incident, "groupingConfiguration")
    if grouping_key is None:
        return []
    grouping, base = incident[grouping_key], (incident_key, grouping_key)
    if grouping is None:
        return []
    if not isinstance(grouping, dict):
        return [doc.problem(base, ERROR, "incident.grouping", "must be a mapping (enabled, lookbackDuration, groupByEntities...)")]
    problems = []
    lookback_key = _key(grouping, "lookbackDuration")
    lookback = grouping.get(lookback_key) if lookback_key else None
    if lookback is not None and not (isinstance(lookback, str) and lookback.startswith("P")):
        try:
            parse_duration(lookback if isinstance(lookback, str) else repr(lookback))
        except DurationError as exc:
            problems.append(doc.problem(base + (lookback_key,), ERROR, "incident.lookback", str(exc), at_value=True))
    for name in ("groupByEntities", "groupByAlertDetails", "groupByCustomDetails"):
        key = _key(grouping, name)
        value = grouping.get(key) if key else None
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problems.append(doc.problem(base + (key,), ERROR, "incident.group-by",
                                        "must be a list of names (- Host), one per line", at_value=True))
    return problems


def _key(mapping, name: str) -> str | None:
    """The key as written (CI binds keys case-insensitively)."""
    if not isinstance(mapping, dict):
        return None
    return next((k for k in mapping if k.lower() == name.lower()), None)
