"""Semantic checks of watchlists (their CSV of items) and automation rules, beyond their schemas.

Watchlists: the items file must be readable CSV within Sentinel's upload limit, the search key
must be a column of its header, and every item needs its own search-key value (the plan matches
items by it: packer.plan.watchlists).
Automation rules (AutomationRules.json 2024-09-01 and Sentinel's documented behaviour): action
orders are unique; alert-triggered rules run playbooks only, on creation; "changed" conditions
need an update trigger; closing an incident needs a classification whose reason fits it; an
expiry is a date-time with a time zone, in the future.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from packer.content.load import watchlist_items, watchlist_items_path
from packer.content.watchlist_csv import search_key_errors
from packer.durations import parse_iso_datetime
from packer.errors import ContentError
from packer.content.document import CiDocument
from packer.validate.problems import ERROR, Problem

# IncidentClassificationReason values per classification (Incidents API, "classificationReason").
REASONS = {
    "TruePositive": {"SuspiciousActivity"},
    "FalsePositive": {"IncorrectAlertLogic", "InaccurateData"},
    "BenignPositive": {"SuspiciousButExpected"},
    "Undetermined": set(),
}


def check_watchlist(doc: CiDocument) -> list[Problem]:
    key = doc.value.get("itemsSearchKey")
    items_file = doc.value.get("itemsFile")
    field_path = ("itemsFile",) if isinstance(items_file, str) else ()
    path = watchlist_items_path(doc.path, doc.value)
    if not path.exists():
        return [doc.problem(field_path, ERROR, "watchlist.items", f"the items file {path.name} is missing beside "
                            f"{doc.path.name} (a CSV with a header row; set itemsFile to name another)")]
    try:
        items = watchlist_items(doc)  # the parse the model is built from
    except ContentError as exc:
        return [Problem(path, exc.line, exc.column, "", ERROR, "watchlist.items", f"watchlist items: {exc.message}")]
    if not isinstance(key, str) or not key.strip():
        return []  # the schema reports it
    return search_key_problems(doc, key.strip(), items.columns, items.rows, path)


def search_key_problems(doc: CiDocument, key: str, columns, rows, path: Path) -> list[Problem]:
    """The search key is a header column and every row has its own value. (Sentinel's limit of 10
    million items per workspace needs no check here: read_items refuses a file over its 3.8 MB
    upload limit, which holds under 2 million rows.)"""
    problems = []
    for line, code, message in search_key_errors(key, columns, rows):
        if key not in columns:  # the one error then: it belongs on the YAML's itemsSearchKey
            problems.append(doc.problem(("itemsSearchKey",), ERROR, code, f"{path.name}: {message}"))
        else:
            problems.append(Problem(path, line, 1, key, ERROR, code, message))
    return problems


def check_automation_rule(doc: CiDocument) -> list[Problem]:
    logic = doc.value.get("triggeringLogic")
    actions = doc.value.get("actions")
    logic = logic if isinstance(logic, dict) else {}
    actions = [a for a in actions if isinstance(a, dict)] if isinstance(actions, list) else []
    return (_expiry(doc, logic) + _action_orders(doc, actions) + _trigger_fits(doc, logic, actions)
            + _closing(doc, actions))


def _expiry(doc: CiDocument, logic: dict) -> list[Problem]:
    text = logic.get("expirationTimeUtc")
    if not isinstance(text, str) or not text.strip():
        return []
    path = ("triggeringLogic", "expirationTimeUtc")
    try:
        when = parse_iso_datetime(text)
    except ValueError:
        return [doc.problem(path, ERROR, "automation.expiry", f"{text!r} is not an ISO 8601 date-time "
                            "(e.g. 2027-01-31T00:00:00Z)")]
    if when.tzinfo is None:
        return [doc.problem(path, ERROR, "automation.expiry", f"{text!r} has no time zone; end it with Z (UTC)")]
    if when <= datetime.now(timezone.utc):
        return [doc.problem(path, ERROR, "automation.expiry", f"{text!r} is in the past: the rule would be "
                            "deployed already expired (disabled); remove the expiry or move it forward")]
    return []


def _action_orders(doc: CiDocument, actions: list[dict]) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for index, action in enumerate(actions):
        order = str(action.get("order", "")).strip()
        if order and order in seen:
            problems.append(doc.problem(("actions", index, "order"), ERROR, "automation.action-order",
                                        f"order {order} is already used by action {seen[order] + 1}; "
                                        "each action runs at its own order"))
        seen.setdefault(order, index)
    return problems


def _trigger_fits(doc: CiDocument, logic: dict, actions: list[dict]) -> list[Problem]:
    problems = []
    if logic.get("triggersOn") == "Alerts":
        if logic.get("triggersWhen") not in (None, "Created"):
            problems.append(doc.problem(("triggeringLogic", "triggersWhen"), ERROR, "automation.trigger",
                                        "a rule triggered by alerts runs when they are Created (alerts are not "
                                        "updated)"))
        for index, action in enumerate(actions):
            if action.get("actionType") not in (None, "RunPlaybook"):
                problems.append(doc.problem(("actions", index, "actionType"), ERROR, "automation.trigger",
                                            f"{action.get('actionType')} acts on incidents; a rule triggered by "
                                            "alerts can only run playbooks"))
    if logic.get("triggersWhen") == "Created":
        for index, condition in enumerate(logic.get("conditions") or []):
            if isinstance(condition, dict) and condition.get("conditionType") in ("PropertyChanged",
                                                                                   "PropertyArrayChanged"):
                problems.append(doc.problem(("triggeringLogic", "conditions", index, "conditionType"), ERROR,
                                            "automation.condition", f"{condition['conditionType']} compares an "
                                            "update with what was before: it needs triggersWhen: Updated"))
    return problems


def _closing(doc: CiDocument, actions: list[dict]) -> list[Problem]:
    problems = []
    for index, action in enumerate(actions):
        config = action.get("actionConfiguration")
        if action.get("actionType") != "ModifyProperties" or not isinstance(config, dict):
            continue
        where = ("actions", index, "actionConfiguration")
        classification, reason = config.get("classification"), config.get("classificationReason")
        if config.get("status") == "Closed" and not classification:
            problems.append(doc.problem(where + ("status",), ERROR, "automation.close",
                                        "closing an incident needs a classification (TruePositive, "
                                        "BenignPositive, FalsePositive or Undetermined)"))
        if classification in REASONS and reason and reason not in REASONS[classification]:
            allowed = ", ".join(sorted(REASONS[classification])) or "none"
            problems.append(doc.problem(where + ("classificationReason",), ERROR, "automation.close",
                                        f"{reason} is not a reason for {classification} (allowed: {allowed})"))
    return problems
