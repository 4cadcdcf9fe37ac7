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
- trigger operators as `gt`/`lt`/`eq`/`ne`;
- an automation rule condition naming an analytic rule of the same workspace by its resource id
  names it by its bare GUID (rendering makes it the target workspace's id again);
- a watchlist's items become its CSV, the file named as the watchlist's `source` (the file name
  Sentinel keeps: the rendered watchlist sends the CSV's name there).
"""
from __future__ import annotations

import json
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any

from packer import resource_ids
from packer.bodies.automation import RULE_ID_PROPERTIES
from packer.bodies.properties import HUNTING_CATEGORY
from packer.content.model import WatchlistRow
from packer.content.watchlist_csv import search_key_errors, to_csv
from packer.durations import parse_iso8601, to_short

PARSER_NAMESPACE = uuid.UUID("0c7f7a9e-5a43-4c52-9f0e-2a8d3c1b7e11")  # parser ids: uuid5 of the function name
RULE_KINDS = ("Scheduled", "NRT")
OPERATORS = {"greaterthan": "gt", "lessthan": "lt", "equal": "eq", "notequal": "ne"}
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
# A CSV name that is safe as a file beside the watchlist's YAML on every OS (and the schema's itemsFile)
_CSV_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.()+-]{0,95}\.csv$")
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)", re.I)


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
    items_csv: str | None = None  # a watchlist's items, as the CSV beside its YAML
    items_file: str | None = None  # the name that CSV should have (the watchlist's source), when safe
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


# --- automation rules -----------------------------------------------------------------------------


def automation_rule_document(body: dict, metadata: dict | None) -> ExportedDoc | NotExportable:
    """The API's properties as they are (the content format is AutomationRules.json's), nulls
    left out (the API treats them as absent), rule ids of this workspace made bare GUIDs."""
    props, name = _props(body), _name_of(body)
    display = str(props.get("displayName") or name)
    if not _GUID.match(name):
        return NotExportable("AutomationRule", body.get("id", ""), display,
                             f"resource name {name!r} is not a GUID, and an automation rule's id "
                             "(its resource name) must be one")
    workspace = _workspace_of(str(body.get("id", "")))
    logic = _without_nulls(props.get("triggeringLogic") or {})
    if logic.get("conditions"):
        logic["conditions"] = [_bare_rule_ids(c, workspace) for c in logic["conditions"]]
    doc: dict[str, Any] = {"id": name, "displayName": display, "order": props.get("order"),
                           "triggeringLogic": logic, "actions": _without_nulls(list(props.get("actions") or [])),
                           "version": _version(_metadata_version(metadata))}
    return ExportedDoc("AutomationRule", str(body.get("id", "")), display, "automation-rules",
                       safe_stem(display, name), doc)


def _workspace_of(resource_id: str) -> str:
    """The workspace id a Sentinel resource id starts with ("" when it has none)."""
    index = resource_id.lower().find("/providers/microsoft.securityinsights/")
    return resource_id[:index] if index > 0 else ""


def _bare_rule_ids(condition: Any, workspace: str) -> Any:
    """The inverse of packer.bodies.automation._condition: a value that is exactly the id this
    workspace's rule would be rendered as becomes the rule's GUID; any other value stays."""
    if not isinstance(condition, dict) or not isinstance(condition.get("conditionProperties"), dict):
        return condition
    props = dict(condition["conditionProperties"])
    if props.get("propertyName") in RULE_ID_PROPERTIES and isinstance(props.get("propertyValues"), list):
        props["propertyValues"] = [_bare_rule_id(v, workspace) for v in props["propertyValues"]]
    for nested in ("innerConditions", "itemConditions"):
        if isinstance(props.get(nested), list):
            props[nested] = [_bare_rule_ids(c, workspace) for c in props[nested]]
    return {**condition, "conditionProperties": props}


def _bare_rule_id(value: Any, workspace: str) -> Any:
    name = resource_ids.name_of(value) if isinstance(value, str) else ""
    if workspace and _GUID.match(name) and value == resource_ids.alert_rule_id(workspace, name):
        return name
    return value


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value if v is not None]
    return value


# --- watchlists -----------------------------------------------------------------------------------


def watchlist_document(body: dict, metadata: dict | None, items: list[dict]) -> ExportedDoc | NotExportable:
    """The watchlist's YAML and its `items` (the live watchlistItems bodies) as CSV, rows in
    search-key order; NotExportable when the items cannot be a local CSV identified by the key."""
    props, alias = _props(body), _name_of(body)
    display = str(props.get("displayName") or alias)
    rid = str(body.get("id", ""))
    if str(props.get("sourceType") or "").lower() == "azurestorage":
        return NotExportable("Watchlist", rid, display, "its items are uploaded from Azure Storage (sourceType "
                             "AzureStorage); the content format holds a watchlist's items as a local CSV file")
    key = str(props.get("itemsSearchKey") or "")
    if not key:
        return NotExportable("Watchlist", rid, display, "it has no itemsSearchKey, which identifies its items")
    values = [_item_values(item) for item in items]
    columns = tuple(dict.fromkeys([c for v in values for c in v] or [key]))
    rows = tuple(WatchlistRow({c: v.get(c, "") for c in columns}, n) for n, v in enumerate(values, 2))
    errors = search_key_errors(key, columns, rows)
    if errors:
        return NotExportable("Watchlist", rid, display, f"its items cannot be identified by the search key "
                             f"({len(errors)} problem(s); first: {errors[0][2]})")
    ordered = tuple(sorted(rows, key=lambda r: r.values[key].lower()))
    doc: dict[str, Any] = {"watchlistAlias": alias, "displayName": display}
    if props.get("description"):
        doc["description"] = str(props["description"])
    doc["itemsSearchKey"] = key
    if props.get("provider"):
        doc["provider"] = str(props["provider"])
    if props.get("labels"):
        doc["labels"] = [str(label) for label in props["labels"]]
    doc["version"] = _version(_metadata_version(metadata))
    source = str(props.get("source") or "")
    return ExportedDoc("Watchlist", rid, display, "watchlists", safe_stem(display, alias), doc,
                       items_csv=to_csv(columns, ordered),
                       items_file=source if _CSV_NAME.match(source) and not _RESERVED.match(source) else None)


def _item_values(item: dict) -> dict[str, str]:
    """An item's values by column, as text (a null is an empty cell)."""
    values = (item.get("properties") or {}).get("itemsKeyValue") or {}
    return {str(c): "" if v is None else str(v) for c, v in values.items()}
