"""What the real services add to or check in a PUT body beyond its JSON shape.

Each default names its source here and in docs/emulator.md ("Server-side defaults"). Bodies are
never mutated: every function returns a new dict.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packer.emulator import armerrors
from packer.emulator.routes import Kind, Route
from packer.emulator.rulechecks import check_rule

if TYPE_CHECKING:
    from packer.emulator.facts import WorkspaceFacts

RULE_KINDS = ("Scheduled", "NRT", "Fusion", "MicrosoftSecurityIncidentCreation")
QUERY_KINDS = ("Scheduled", "NRT")  # the kinds with a query, schedule and incident settings

# Documentation/observation, not spec: a rule created without these reads back with them
# (what the portal writes and exports show for "create incidents, no grouping").
DEFAULT_INCIDENT_CONFIGURATION = {
    "createIncident": True,
    "groupingConfiguration": {
        "enabled": False, "reopenClosedIncident": False, "lookbackDuration": "PT5H",
        "matchingMethod": "AllEntities", "groupByEntities": [], "groupByAlertDetails": [],
        "groupByCustomDetails": [],
    },
}
DEFAULT_EVENT_GROUPING = {"aggregationKind": "SingleAlert"}

# Enum members the services bind case-insensitively (Json.NET) and return in canonical case.
_RULE_ENUMS = {
    "severity": ("High", "Medium", "Low", "Informational"),
    "triggerOperator": ("GreaterThan", "LessThan", "Equal", "NotEqual"),
}
_TACTICS = ("Reconnaissance", "ResourceDevelopment", "InitialAccess", "Execution", "Persistence",
            "PrivilegeEscalation", "DefenseEvasion", "CredentialAccess", "Discovery", "LateralMovement",
            "Collection", "Exfiltration", "CommandAndControl", "Impact", "PreAttack", "ImpairProcessControl",
            "InhibitResponseFunction")


@dataclass(frozen=True)
class Context:
    existing: dict | None
    principal: str
    now: str
    facts: "WorkspaceFacts | None"
    query: dict[str, str]
    validate: bool = True  # False for emu.store.put: portal-side edits are stored as given


def apply(kind: Kind, route: Route, body: dict, ctx: Context) -> dict:
    handler = _BY_KIND.get(kind.name)
    return handler(route, body, ctx) if handler else dict(body)


def _canonical(value, members: tuple[str, ...]):
    if isinstance(value, str):
        return next((m for m in members if m.lower() == value.lower()), value)
    return value


def canonical_enums(kind: Kind, body: dict) -> dict:
    props = body.get("properties")
    if kind.name != "alertRules" or not isinstance(props, dict):
        return body
    props = dict(props)
    for name, members in _RULE_ENUMS.items():
        if name in props:
            props[name] = _canonical(props[name], members)
    if isinstance(props.get("tactics"), list):
        props["tactics"] = [_canonical(t, _TACTICS) for t in props["tactics"]]
    return {**body, "properties": props}


def _properties(body: dict) -> dict:
    props = body.get("properties")
    if not isinstance(props, dict):
        raise armerrors.bad_request("The request body must have a 'properties' object.", target="properties")
    return dict(props)


def _alert_rule(route: Route, body: dict, ctx: Context) -> dict:
    kind = body.get("kind")
    if kind not in RULE_KINDS and not ctx.validate:
        return dict(body)
    if kind not in RULE_KINDS:
        raise armerrors.bad_request(
            f"The alert rule kind '{kind}' is not supported by the emulator; supported kinds: {', '.join(RULE_KINDS)}.",
            target="kind")
    props = _properties(body)
    if kind not in QUERY_KINDS:  # Fusion, MicrosoftSecurityIncidentCreation: the spec examples add only lastModifiedUtc
        props["lastModifiedUtc"] = ctx.now
        return {"kind": kind, **{k: v for k, v in body.items() if k not in ("kind", "properties")}, "properties": props}
    if ctx.validate:
        check_rule(kind, props)
    props.setdefault("alertRuleTemplateName", None)  # spec example CreateScheduledAlertRule.json (2024-09-01)
    if props.get("incidentConfiguration") is None:
        props["incidentConfiguration"] = DEFAULT_INCIDENT_CONFIGURATION
    if kind == "Scheduled" and props.get("eventGroupingSettings") is None:
        props["eventGroupingSettings"] = DEFAULT_EVENT_GROUPING
    props["lastModifiedUtc"] = ctx.now  # readOnly lastModifiedUtc (AlertRules.json)
    return {"kind": kind, **{k: v for k, v in body.items() if k not in ("kind", "properties")},
            "properties": props}


def _saved_search(route: Route, body: dict, ctx: Context) -> dict:
    props = _properties(body)
    if props.get("version") is None:
        props["version"] = 2  # "The current version is 2 and is the default." (SavedSearches.json)
    return {**body, "properties": props}


def _workbook_version(serialized) -> str:
    """properties.version "should match the workbook in serializedData" (workbooks_API.json 2022-04-01)."""
    try:
        data = json.loads(serialized) if isinstance(serialized, str) else None
    except ValueError:
        raise armerrors.bad_request("properties.serializedData must be a string containing valid JSON.",
                                    target="properties.serializedData") from None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else "Notebook/1.0"


def _workbook(route: Route, body: dict, ctx: Context) -> dict:
    props = _properties(body)
    source_id = props.get("sourceId") or ctx.query.get("sourceId")
    if isinstance(source_id, str):
        props["sourceId"] = source_id.lower()
    if not props.get("version"):
        try:
            props["version"] = _workbook_version(props.get("serializedData"))
        except armerrors.ArmError:
            if ctx.validate:
                raise
            props["version"] = "Notebook/1.0"
    props["userId"] = ctx.principal
    props["timeModified"] = ctx.now
    props.setdefault("storageUri", None)
    props["revision"] = uuid.uuid4().hex
    result = {**body, "properties": props}
    result.setdefault("kind", "shared")
    return result


def _keep(route: Route, body: dict, ctx: Context) -> dict:
    return {**body, "properties": _properties(body)}


def _content_package(route: Route, body: dict, ctx: Context) -> dict:
    from packer.emulator.content import installed_package

    return installed_package(_keep(route, body, ctx))


def _client_info(principal: str) -> dict:
    """ClientInfo / UserInfo (common/2.0/types.json): who wrote it; an application has no email."""
    return {"objectId": principal or None, "email": None, "name": None, "userPrincipalName": None}


def _automation_rule(route: Route, body: dict, ctx: Context) -> dict:
    """Server fields of AutomationRules.json: createdTimeUtc/lastModifiedTimeUtc and createdBy/
    lastModifiedBy (readOnly), kept from the existing rule where they do not change."""
    props = _properties(body)
    if ctx.validate:
        _check_inner_conditions((props.get("triggeringLogic") or {}).get("conditions") or [])
    previous = (ctx.existing or {}).get("properties") or {}
    props["createdTimeUtc"] = previous.get("createdTimeUtc", ctx.now)
    props["lastModifiedTimeUtc"] = ctx.now
    props["createdBy"] = previous.get("createdBy", _client_info(ctx.principal))
    props["lastModifiedBy"] = _client_info(ctx.principal)
    return {**body, "properties": props}


def _check_inner_conditions(conditions: list) -> None:
    """A Boolean condition groups 2 to 10 conditions; the service's answer as reported in
    Azure/Azure-Sentinel#12923 (the spec says minItems 2, maxItems 10)."""
    for condition in conditions:
        props = condition.get("conditionProperties") if isinstance(condition, dict) else None
        if isinstance(condition, dict) and condition.get("conditionType") == "Boolean" and isinstance(props, dict):
            inner = props.get("innerConditions") or []
            if not 2 <= len(inner) <= 10:
                raise armerrors.bad_request("'InnerConditions' must have between 2 and 10 items")
            _check_inner_conditions(inner)


WATCHLIST_WRITE_ONLY = ("rawContent", "contentType", "numberOfLinesToSkip")  # GET never shows them (examples)


def _watchlist(route: Route, body: dict, ctx: Context) -> dict:
    """Server fields as GetWatchlistByAlias.json shows them. The bulk-creation members are
    consumed (the handler makes the items), not stored."""
    props = {k: v for k, v in _properties(body).items() if k not in WATCHLIST_WRITE_ONLY}
    previous = (ctx.existing or {}).get("properties") or {}
    if ctx.validate and previous and props.get("itemsSearchKey") != previous.get("itemsSearchKey"):
        # INFERRED: the portal does not let a watchlist's search key change; the API's answer is undocumented.
        raise armerrors.bad_request("The itemsSearchKey of an existing watchlist cannot be changed.",
                                    target="properties.itemsSearchKey")
    props["watchlistId"] = previous.get("watchlistId", str(uuid.uuid4()))
    props["watchlistAlias"] = route.name
    props["watchlistType"] = "watchlist"
    props.update(_watchlist_stamps(previous, ctx))
    props["provisioningState"] = "Succeeded"
    return {**body, "properties": props}


def _watchlist_stamps(previous: dict, ctx: Context) -> dict:
    """isDeleted and who made or changed it when: watchlists and their items alike (UserInfo)."""
    return {"isDeleted": False, "created": previous.get("created", ctx.now), "updated": ctx.now,
            "createdBy": previous.get("createdBy", _user_info(ctx.principal)),
            "updatedBy": _user_info(ctx.principal)}


def _user_info(principal: str) -> dict:
    """UserInfo (common/2.0/types.json): unlike ClientInfo, its email and name are not nullable,
    so an application's (which has neither) are left out."""
    return {k: v for k, v in _client_info(principal).items() if k in ("objectId", "email", "name") and v is not None}


def _watchlist_item(route: Route, body: dict, ctx: Context) -> dict:
    """Server fields as GetWatchlistItemById.json shows them."""
    props = _properties(body)
    if ctx.validate and (not isinstance(props.get("itemsKeyValue"), dict) or not props["itemsKeyValue"]):
        raise armerrors.bad_request("A watchlist item needs itemsKeyValue: the item's values by column.",
                                    target="properties.itemsKeyValue")
    previous = (ctx.existing or {}).get("properties") or {}
    props["watchlistItemId"] = route.name
    props["watchlistItemType"] = "watchlist-item"
    props.update(_watchlist_stamps(previous, ctx))
    props.setdefault("entityMapping", {})
    return {**body, "properties": props}


_BY_KIND = {
    "automationRules": _automation_rule,
    "watchlists": _watchlist,
    "watchlistItems": _watchlist_item,
    "alertRules": _alert_rule,
    "savedSearches": _saved_search,
    "workbooks": _workbook,
    "metadata": _keep,
    "contentPackages": _content_package,
    "contentTemplates": _keep,
}
