"""Watchlists and automation rules -> the management-API bodies for one workspace.

Automation rules (AutomationRules.json 2024-09-01): `properties` = displayName, order,
triggeringLogic, actions, as written. A bare GUID in an IncidentRelatedAnalyticRuleIds or
AlertAnalyticRuleIds condition names an analytic rule of the content; the API wants the rule's
resource id, which differs per workspace, so it is rendered as the target's alert rule id.

Watchlists (Watchlists.json 2024-09-01): the watchlist body (displayName, provider, source,
sourceType, description, itemsSearchKey, labels) and one body per item ({itemsKeyValue}). The
create sends the items with it as CSV (`rawContent`, contentType text/csv: the spec's "bulk
creation", CreateWatchlistAndWatchlistItems.json); later changes go item by item
(packer.plan.watchlists). Items are matched by their search-key value; an item this tool creates
alone is named uuid5(alias + search key), so its name is the same in every workspace.
Ownership and drift cover the watchlist with its items: the hash the metadata records is of
`watchlist_state` (the watchlist's properties above and every item's values by search key).
"""
from __future__ import annotations

import re
import uuid
from typing import Any, Mapping

from packer import resource_ids
from packer.content.model import AutomationRule, Watchlist, WatchlistRow
from packer.content.watchlist_csv import to_csv
from packer.remote.normalise import content_hash

ITEM_NAMESPACE = uuid.UUID("0f9c6d1e-8a7b-4c3d-9e2f-5a6b7c8d9e01")
RULE_ID_PROPERTIES = frozenset({"IncidentRelatedAnalyticRuleIds", "AlertAnalyticRuleIds"})
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
WATCHLIST_PROPERTIES = ("displayName", "provider", "source", "sourceType", "description", "itemsSearchKey", "labels")


# --- automation rules -----------------------------------------------------------------------


def automation_rule_body(rule: AutomationRule, workspace_id: str) -> dict:
    logic = _plain(rule.triggering_logic)
    logic["conditions"] = [_condition(c, workspace_id) for c in logic.get("conditions") or []]
    if not logic["conditions"]:
        del logic["conditions"]
    if logic.get("expirationTimeUtc") in (None, ""):
        logic.pop("expirationTimeUtc", None)
    return {"properties": {"displayName": rule.display_name, "order": rule.order, "triggeringLogic": logic,
                           "actions": [_plain(a) for a in rule.actions]}}


def _condition(condition: Any, workspace_id: str) -> Any:
    if not isinstance(condition, dict):
        return condition
    props = condition.get("conditionProperties")
    if not isinstance(props, dict):
        return condition
    props = dict(props)
    if props.get("propertyName") in RULE_ID_PROPERTIES and isinstance(props.get("propertyValues"), list):
        props["propertyValues"] = [resource_ids.alert_rule_id(workspace_id, v) if isinstance(v, str) and _GUID.match(v)
                                   else v for v in props["propertyValues"]]
    for nested in ("innerConditions", "itemConditions"):
        if isinstance(props.get(nested), list):
            props[nested] = [_condition(c, workspace_id) for c in props[nested]]
    return {**condition, "conditionProperties": props}


def _plain(value: Any) -> Any:
    """Mappings (frozen in the model) as plain dicts and lists, deep: a new body every time."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --- watchlists -----------------------------------------------------------------------------


def watchlist_body(watchlist: Watchlist) -> dict:
    props: dict[str, Any] = {
        "displayName": watchlist.display_name, "provider": watchlist.provider,
        "source": watchlist.items_path.name, "sourceType": "Local",
        "description": watchlist.description, "itemsSearchKey": watchlist.search_key,
    }
    if watchlist.labels:
        props["labels"] = list(watchlist.labels)
    return {"properties": props}


def watchlist_create_body(body: Mapping[str, Any], columns: tuple[str, ...], items: Mapping[str, Mapping]) -> dict:
    """The first PUT: the watchlist `body` with every item as CSV (rawContent), one write."""
    rows = tuple(WatchlistRow(v) for v in items.values())
    props = {**body["properties"], "contentType": "text/csv", "numberOfLinesToSkip": 0,
             "rawContent": to_csv(columns, rows)}
    return {**body, "properties": props}


def watchlist_items(watchlist: Watchlist) -> dict[str, dict[str, str]]:
    """Search-key value -> the item's values (every column), in CSV order."""
    return {row.values[watchlist.search_key]: dict(row.values) for row in watchlist.rows}


def item_name(alias: str, key: str) -> str:
    return str(uuid.uuid5(ITEM_NAMESPACE, f"{alias.lower()}|{key.lower()}"))


def item_body(values: Mapping[str, str]) -> dict:
    return {"properties": {"itemsKeyValue": dict(values)}}


def watchlist_state(body: Mapping[str, Any] | None, items: Mapping[str, Mapping[str, Any]]) -> dict:
    """What ownership and drift compare for a watchlist: its own properties (those we send) and
    each item's values by search key (lower-cased: the service matches keys case-insensitively)."""
    props = (body or {}).get("properties") or {}
    return {"properties": {k: props.get(k) for k in WATCHLIST_PROPERTIES},
            "items": {k.lower(): {str(c): str(v) for c, v in dict(values).items()} for k, values in items.items()}}


def watchlist_hash(body: Mapping[str, Any] | None, items: Mapping[str, Mapping[str, Any]]) -> str:
    return content_hash(watchlist_state(body, items))


def live_items_by_key(search_key: str, live_items: list[dict]) -> dict[str, dict]:
    """Live item bodies by their search-key value (as written); items without one are skipped."""
    out: dict[str, dict] = {}
    for body in live_items:
        values = ((body.get("properties") or {}).get("itemsKeyValue")) or {}
        key = values.get(search_key)
        if key is None:  # the service matches column names case-insensitively
            key = next((v for c, v in values.items() if c.lower() == search_key.lower()), None)
        if key not in (None, ""):
            out[str(key)] = body
    return out
