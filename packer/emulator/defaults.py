"""What the real services add to or check in a PUT body beyond its JSON shape.

Each default names its source in docs/emulator.md ("Server-side defaults"). Bodies are never
mutated: every function returns a new dict.
"""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from packer.emulator import armerrors
from packer.emulator.kqltables import missing_tables
from packer.emulator.routes import Kind, Route

if TYPE_CHECKING:
    from packer.emulator.resources import WorkspaceFacts

RULE_KINDS = ("Scheduled", "NRT")

# Filled when a Scheduled/NRT rule omits them (what a GET returns for a rule created without them).
DEFAULT_INCIDENT_CONFIGURATION = {
    "createIncident": True,
    "groupingConfiguration": {
        "enabled": False, "reopenClosedIncident": False, "lookbackDuration": "PT5H",
        "matchingMethod": "AllEntities", "groupByEntities": [], "groupByAlertDetails": [],
        "groupByCustomDetails": [],
    },
}
DEFAULT_EVENT_GROUPING = {"aggregationKind": "SingleAlert"}


def apply(kind: Kind, route: Route, body: dict, existing: dict | None, principal: str, now: str,
          facts: "WorkspaceFacts | None") -> dict:
    handler = _BY_KIND.get(kind.name)
    return handler(route, body, existing, principal, now, facts) if handler else dict(body)


def _properties(body: dict) -> dict:
    props = body.get("properties")
    if not isinstance(props, dict):
        raise armerrors.bad_request("The request body must have a 'properties' object.", target="properties")
    return dict(props)


def _alert_rule(route, body, existing, principal, now, facts) -> dict:
    kind = body.get("kind")
    if kind not in RULE_KINDS:
        raise armerrors.bad_request(
            f"The alert rule kind '{kind}' is not supported here; supported kinds: {', '.join(RULE_KINDS)}.",
            target="kind")
    props = _properties(body)
    query = props.get("query")
    if facts is not None and isinstance(query, str):
        missing = missing_tables(query, facts.tables, facts.functions)
        if missing:
            raise armerrors.bad_request(
                "Failed to run the analytics rule query. One of the tables does not exist. "
                f"(table(s) not found in workspace '{route.workspace}': {', '.join(missing)})",
                target="properties.query")
    props.setdefault("suppressionDuration", "PT5H")
    props.setdefault("suppressionEnabled", False)
    if props.get("incidentConfiguration") is None:
        props["incidentConfiguration"] = DEFAULT_INCIDENT_CONFIGURATION
    if kind == "Scheduled" and props.get("eventGroupingSettings") is None:
        props["eventGroupingSettings"] = DEFAULT_EVENT_GROUPING
    props["lastModifiedUtc"] = now
    return {"kind": kind, **{k: v for k, v in body.items() if k not in ("kind", "properties")},
            "properties": props}


def _saved_search(route, body, existing, principal, now, facts) -> dict:
    props = _properties(body)
    props.setdefault("version", 2)
    return {**body, "properties": props}


def _workbook(route, body, existing, principal, now, facts) -> dict:
    props = _properties(body)
    if "sourceId" in props and isinstance(props["sourceId"], str):
        props["sourceId"] = props["sourceId"].lower()
    props["timeModified"] = now
    props["userId"] = principal
    props["revision"] = uuid.uuid4().hex
    props.setdefault("version", "1.0")
    result = {**body, "properties": props}
    result.setdefault("kind", "shared")
    result.setdefault("tags", {})
    return result


def _metadata(route, body, existing, principal, now, facts) -> dict:
    props = _properties(body)
    return {**body, "properties": props}


def _content_item(route, body, existing, principal, now, facts) -> dict:
    props = _properties(body)
    return {**body, "properties": props}


_BY_KIND = {
    "alertRules": _alert_rule,
    "savedSearches": _saved_search,
    "workbooks": _workbook,
    "metadata": _metadata,
    "contentPackages": _content_item,
    "contentTemplates": _content_item,
}
