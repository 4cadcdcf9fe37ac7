"""What the service adds or rewrites, removed so that desired and live bodies compare equal.

`normalise(body)` gives the comparable form of an API body (desired or live):
- server-populated fields go (id, name, type, etag, systemData, location, lastModifiedUtc, the
  workbook service's timeModified/userId/revision/...);
- absent, null, [] and {} mean the same thing to these APIs, so empty members go;
- a member equal to the default the service fills in goes (SERVICE_DEFAULTS), so "the service
  added suppressionEnabled: false" is not a change;
- values the service rewrites are canonicalised: ISO 8601 durations (PT60M == PT1H), trigger
  operators (gt == GreaterThan), the workbook sourceId's case, serializedData's JSON spacing,
  CRLF line ends.
`content_hash(body)` is the sha256 of that form: recorded in our metadata when we write, and
compared with the live resource's hash to detect portal-side edits (drift).
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from packer.durations import canonical_iso8601

# Never part of what we deploy (ARM envelope and read-only properties).
SERVER_FIELDS = frozenset({"id", "name", "type", "etag", "systemData", "location", "tags", "identity"})
SERVER_PROPERTIES = frozenset({
    "lastModifiedUtc", "createdTimeUtc", "lastModifiedTimeUtc", "timeModified", "userId", "revision",
    "storageUri", "eTag", "createdTime", "provisioningState",
    "installedVersion", "isDeprecated", "dependantTemplates",  # Content Hub: filled by the service
    "createdBy", "lastModifiedBy",  # automation rules (AutomationRules.json: readOnly)
})

# Defaults the services fill in on PUT, by path under the body (paths use "*" for list items).
SERVICE_DEFAULTS: dict[tuple[str, ...], Any] = {
    ("properties", "suppressionEnabled"): False,
    ("properties", "suppressionDuration"): "PT5H",
    ("properties", "eventGroupingSettings", "aggregationKind"): "SingleAlert",
    ("properties", "incidentConfiguration", "createIncident"): True,
    ("properties", "incidentConfiguration", "groupingConfiguration", "enabled"): False,
    ("properties", "incidentConfiguration", "groupingConfiguration", "reopenClosedIncident"): False,
    ("properties", "incidentConfiguration", "groupingConfiguration", "lookbackDuration"): "PT5H",
    ("properties", "incidentConfiguration", "groupingConfiguration", "matchingMethod"): "AllEntities",
    ("properties", "version"): "1.0",  # workbooks (savedSearches' version is an integer: kept)
    ("properties", "functionParameters"): "",
    ("properties", "description"): "",
}
DURATION_KEYS = frozenset({"queryFrequency", "queryPeriod", "suppressionDuration", "lookbackDuration"})
TRIGGER_OPERATORS = {"gt": "GreaterThan", "lt": "LessThan", "eq": "Equal", "ne": "NotEqual"}


def normalise(body: dict) -> dict:
    """The comparable form of an API body (see the module docstring). Pure; input untouched."""
    top = {k: v for k, v in body.items() if k not in SERVER_FIELDS}
    if isinstance(top.get("properties"), dict):
        top["properties"] = {k: v for k, v in top["properties"].items() if k not in SERVER_PROPERTIES}
    return _clean(top, ()) or {}


def content_hash(body: dict) -> str:
    """sha256 of the normalised body, as `sha256:<hex>`."""
    return "sha256:" + hashlib.sha256(canonical_json(normalise(body)).encode("utf-8")).hexdigest()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _clean(value: Any, path: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, member in value.items():
            cleaned = _clean(_canonical_value(key, member), (*path, key))
            if _is_empty(cleaned) or _is_default((*path, key), cleaned):
                continue
            out[key] = cleaned
        return out
    if isinstance(value, list):
        return [_clean(item, (*path, "*")) for item in value if not _is_empty(item)]
    if isinstance(value, str):
        return value.replace("\r\n", "\n")
    return value


def _is_empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


def _is_default(path: tuple[str, ...], value: Any) -> bool:
    if path not in SERVICE_DEFAULTS:
        return False
    default = SERVICE_DEFAULTS[path]
    return value == default and type(value) is type(default)


def _canonical_value(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in DURATION_KEYS:
        return canonical_duration(value)
    if key == "triggerOperator":
        return TRIGGER_OPERATORS.get(value.lower(), value)
    if key == "sourceId" and value.startswith("/subscriptions/"):
        return value.lower()
    if key == "serializedData":
        return _canonical_json_text(value)
    return value


def canonical_duration(text: str) -> str:
    """An ISO 8601 duration in one spelling: P1D == PT24H == PT1440M -> "P1D"."""
    return canonical_iso8601(text)


def _canonical_json_text(text: str) -> str:
    try:
        return canonical_json(json.loads(text))
    except ValueError:
        return text
