"""Live API bodies -> content documents in this project's format (the inverse of packer.bodies).

Pure functions: one live resource in, an `ExportedDoc` out (the YAML document as an ordered
dict, the content folder and file stem, and the workbook JSON when there is one), or
`NotExportable` saying why the item has no place in the content format. Whether the document
really gives back the live body is not decided here: `packer.export.workspace` loads what was
written through validation and renders it again (the round trip is the proof, not this code).

The inverses of the packager's text quirks (packer.bodies.properties):
- a rule description starting with a quote loses its first and last character when rendered,
  so such a description is written wrapped in one more pair of quotes;
- a hunting query description loses one leading and one trailing `'`: one more is added there;
- a technique listed more than once (the packager repeats it per sub-technique) is written as
  `techniques`, the list as it is, beside `relevantTechniques`;
- durations are written in the short form (`1h`, `2d`, `90m`) the content format uses;
- trigger operators as `gt`/`lt`/`eq`/`ne`.
"""
from __future__ import annotations

import json
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any

from packer import resource_ids
from packer.bodies.properties import HUNTING_CATEGORY
from packer.durations import parse_iso8601, to_short

PARSER_NAMESPACE = uuid.UUID("0c7f7a9e-5a43-4c52-9f0e-2a8d3c1b7e11")  # parser ids: uuid5 of the function name
RULE_KINDS = ("Scheduled", "NRT")
OPERATORS = {"greaterthan": "gt", "lessthan": "lt", "equal": "eq", "notequal": "ne"}
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


@dataclass(frozen=True)
class ExportedDoc:
    """One content file to write: `document` as YAML under `folder`, named from `stem`."""

    kind: str  # ContentKind value
    resource_id: str
    name: str  # the display name
    folder: str  # analytic-rules | hunting-queries | parsers | workbooks
    stem: str  # a safe file name without suffix
    document: dict
    workbook_json: Any = None  # the gallery JSON of a workbook
    template: tuple[str, str] | None = None  # (alertRuleTemplateName, templateVersion) of a linked rule
    notes: tuple[str, ...] = field(default=())  # what the conversion itself had to settle


@dataclass(frozen=True)
class NotExportable:
    """A live item the content format cannot hold at all, and why."""

    kind: str
    resource_id: str
    name: str
    reason: str


def safe_stem(display_name: str, resource_name: str) -> str:
    """A file name from a display name: ASCII letters, digits and `_` only (no separators, dots or
    reserved names), at most 60 characters, then the first 8 characters of the resource name, so
    two items of one name never share a file and the name is the same at every export."""
    ascii_text = unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", ascii_text)
    slug = "_".join(words)[:60].strip("_") or "item"
    suffix = re.sub(r"[^A-Za-z0-9]", "", resource_name)[:8].lower() or "x"
    return f"{slug}-{suffix}"


def short_duration(value: Any) -> Any:
    """PT1H -> 1h, P2D -> 2d, PT90M -> 90m; anything else (seconds, not ISO) as it is."""
    delta = parse_iso8601(value) if isinstance(value, str) else None
    return (to_short(delta) if delta is not None else None) or value


def _props(body: dict) -> dict:
    return dict(body.get("properties") or {})


def _name_of(body: dict) -> str:
    return str(body.get("name") or resource_ids.name_of(str(body.get("id", ""))))


def _version(*candidates: Any) -> str:
    return next((str(c) for c in candidates if isinstance(c, str) and _SEMVER.match(c)), "1.0.0")


def _metadata_version(metadata: dict | None) -> Any:
    return ((metadata or {}).get("properties") or {}).get("version")


def _rule_description(text: str) -> str:
    """Rendering drops trailing whitespace, and the first and last character after a leading quote."""
    return f"'{text}'" if text[:1] in ("'", '"') or text != text.rstrip() else text


def _hunting_description(text: str) -> str:
    """Rendering trims, then drops one leading and one trailing `'`."""
    return f"'{text}'" if text != text.strip() or text[:1] == "'" or text[-1:] == "'" else text


# --- analytic rules ---------------------------------------------------------------------------


def rule_document(body: dict, metadata: dict | None) -> ExportedDoc | NotExportable:
    props, name, kind = _props(body), _name_of(body), str(body.get("kind") or "")
    display = str(props.get("displayName") or name)
    if kind not in RULE_KINDS:
        return NotExportable("AnalyticsRule", body.get("id", ""), display,
                             f"rule kind {kind or '(none)'}: the content format holds Scheduled and NRT rules only")
    if not _GUID.match(name):
        return NotExportable("AnalyticsRule", body.get("id", ""), display,
                             f"resource name {name!r} is not a GUID, and a rule's id (its resource name) must be one")
    template = props.get("alertRuleTemplateName")
    version = _version(props.get("templateVersion"), _metadata_version(metadata))
    doc: dict[str, Any] = {"id": name, "name": display,
                           "description": _rule_description(str(props.get("description") or "")),
                           "severity": props.get("severity") or "Medium",
                           "requiredDataConnectors": []}  # template-only: no live rule has them
    if kind == "Scheduled":
        doc["queryFrequency"] = short_duration(props.get("queryFrequency"))
        doc["queryPeriod"] = short_duration(props.get("queryPeriod"))
        operator = str(props.get("triggerOperator") or "GreaterThan")
        doc["triggerOperator"] = OPERATORS.get(operator.lower(), operator)
        doc["triggerThreshold"] = props.get("triggerThreshold", 0)
    if props.get("tactics"):
        doc["tactics"] = list(props["tactics"])
    if props.get("techniques"):
        techniques = [str(t) for t in props["techniques"]]
        doc["relevantTechniques"] = list(dict.fromkeys(techniques))
        if len(set(techniques)) != len(techniques):  # the packager's repeats (one per sub-technique)
            doc["techniques"] = techniques
    doc["query"] = str(props.get("query") or "")
    for key in ("entityMappings", "customDetails", "alertDetailsOverride", "eventGroupingSettings",
                "incidentConfiguration"):
        if props.get(key):
            doc[key] = props[key]
    if "suppressionDuration" in props:
        doc["suppressionDuration"] = props["suppressionDuration"]
    doc["suppressionEnabled"] = bool(props.get("suppressionEnabled"))
    doc["enabled"] = bool(props.get("enabled"))
    if not template:
        doc["alertRuleTemplateName"] = ""  # made from scratch: no template link
    elif str(template).lower() != name.lower():
        doc["alertRuleTemplateName"] = str(template)
    doc["version"] = version
    doc["kind"] = kind
    link = (str(template), str(props.get("templateVersion") or "")) if template else None
    return ExportedDoc("AnalyticsRule", str(body.get("id", "")), display, "analytic-rules",
                       safe_stem(display, name), doc, template=link)


# --- saved searches: hunting queries and parsers ------------------------------------------------


def saved_search_document(body: dict, metadata: dict | None) -> ExportedDoc | NotExportable | None:
    """A hunting query or a parser; None for other saved searches (log queries of other categories)."""
    props = _props(body)
    if props.get("functionAlias"):
        return parser_document(body, metadata)
    if str(props.get("category", "")).lower() == HUNTING_CATEGORY.lower():
        return hunting_document(body, metadata)
    return None


def _tags(props: dict) -> dict[str, str]:
    return {str(t.get("name")): str(t.get("value") or "") for t in props.get("tags") or [] if isinstance(t, dict)}


def hunting_document(body: dict, metadata: dict | None) -> ExportedDoc | NotExportable:
    props, name = _props(body), _name_of(body)
    display = str(props.get("displayName") or name)
    if not _GUID.match(name):
        return NotExportable("HuntingQuery", body.get("id", ""), display,
                             f"resource name {name!r} is not a GUID, and a hunting query's id (its resource name) must be one")
    tags = _tags(props)
    doc: dict[str, Any] = {"id": name, "name": display,
                           "description": _hunting_description(tags.get("description", "")),
                           "requiredDataConnectors": []}
    if tags.get("tactics"):
        doc["tactics"] = [t for t in tags["tactics"].split(",") if t]
    if tags.get("techniques"):
        doc["relevantTechniques"] = [t for t in tags["techniques"].split(",") if t]
    doc["query"] = str(props.get("query") or "")
    doc["version"] = _version(_metadata_version(metadata))
    return ExportedDoc("HuntingQuery", str(body.get("id", "")), display, "hunting-queries",
                       safe_stem(display, name), doc)


def parser_document(body: dict, metadata: dict | None) -> ExportedDoc:
    props, name = _props(body), _name_of(body)
    display = str(props.get("displayName") or name)
    doc: dict[str, Any] = {
        "id": str(uuid.uuid5(PARSER_NAMESPACE, name.lower())),
        "Function": {"Title": display,
                     "Version": _version(_metadata_version(metadata))},
        "Category": str(props.get("category") or ""),
        "FunctionName": name,
        "FunctionAlias": str(props["functionAlias"]),
        "FunctionQuery": str(props.get("query") or ""),
    }
    if props.get("functionParameters"):
        doc["FunctionParams"] = str(props["functionParameters"])
    return ExportedDoc("Parser", str(body.get("id", "")), display, "parsers", safe_stem(display, name), doc)


# --- workbooks ----------------------------------------------------------------------------------


def workbook_document(body: dict, metadata: dict | None) -> ExportedDoc | NotExportable:
    props, name = _props(body), _name_of(body)
    display = str(props.get("displayName") or name)
    try:
        gallery = json.loads(str(props.get("serializedData") or ""))
    except ValueError:
        return NotExportable("Workbook", body.get("id", ""), display,
                             "serializedData is not JSON (listed without its content?)")
    if not _GUID.match(name):
        return NotExportable("Workbook", body.get("id", ""), display, f"resource name {name!r} is not a GUID")
    stem = safe_stem(display, name)
    doc = {"workbookKey": name, "title": display,
           "description": str(props.get("description") or display),  # required, metadata only: never sent
           "version": _version(_metadata_version(metadata)),
           "resourceName": name, "templateRelativePath": f"{stem}.json"}
    return ExportedDoc("Workbook", str(body.get("id", "")), display, "workbooks", stem, doc, workbook_json=gallery)
