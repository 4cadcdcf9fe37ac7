"""One standalone ARM template per item, for `az deployment group create` or a Deploy button.

Each template takes only the `workspace` name and deploys the item itself (not a Content Hub
template): analytic rule -> alertRules, hunting query / parser -> workspace savedSearches,
workbook -> Microsoft.Insights/workbooks, watchlist -> Watchlists (with its items as CSV),
automation rule -> automationRules. Rules, queries and parsers get the names `apply` uses
(rule id, query id, parser function name); a workbook gets its metadata `id` (else a GUID from
its key), while `apply` names workbooks per workspace (packer.bodies.resources.workbook_name),
so the two make different workbook resources. Properties come from packer.bodies.properties.
"""
from __future__ import annotations

import uuid

from packer.bodies.automation import automation_rule_body, watchlist_body, watchlist_create_body, watchlist_items
from packer.content.model import AnalyticRule, AutomationRule, HuntingQuery, Parser, Watchlist, Workbook
from packer.package.template import DEPLOYMENT_SCHEMA
from packer.remote import api_versions
from packer.bodies.resources import alert_rule_body
from packer.bodies.properties import (
    hunting_query_properties,
    parser_properties,
    workbook_properties,
)

WORKSPACE_PARAMETER = {
    "workspace": {
        "type": "string",
        "metadata": {"description": "Name of the Log Analytics workspace where Microsoft Sentinel is enabled"},
    }
}
FOLDERS = {AnalyticRule: "analytic-rules", HuntingQuery: "hunting-queries", Parser: "parsers", Workbook: "workbooks",
           Watchlist: "watchlists", AutomationRule: "automation-rules"}
WORKSPACE_ID = "[resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspace'))]"
WORKBOOK_NAMESPACE = uuid.UUID("6f1f5f4e-3c1a-4f55-9a59-8f2b2f0c7e11")  # fixed: stable workbook names


def _template(resource: dict) -> dict:
    return {
        "$schema": DEPLOYMENT_SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": WORKSPACE_PARAMETER,
        "resources": [resource],
    }


def _in_workspace(name: str, provider: str = "") -> str:
    middle = f"'/{provider}/'" if provider else "'/'"
    return f"[concat(parameters('workspace'),{middle},'{name.replace(chr(39), chr(39) * 2)}')]"


def rule_template(rule: AnalyticRule) -> dict:
    """The same alertRules body `apply` sends (packer.bodies.resources), so both agree."""
    body = alert_rule_body(rule)
    return _template({
        "type": "Microsoft.OperationalInsights/workspaces/providers/alertRules",
        "apiVersion": api_versions.alert_rule_api_version(body["kind"]),  # NRT: a preview-only kind
        "name": _in_workspace(rule.id, "Microsoft.SecurityInsights"),
        "kind": body["kind"],
        "properties": body["properties"],
    })


def _saved_search_template(name: str, properties: dict) -> dict:
    return _template({
        "type": "Microsoft.OperationalInsights/workspaces/savedSearches",
        "apiVersion": api_versions.OPERATIONAL_INSIGHTS,
        "name": _in_workspace(name),
        "properties": properties,
    })


def hunting_template(query: HuntingQuery) -> dict:
    return _saved_search_template(query.id, hunting_query_properties(query))


def parser_template(parser: Parser) -> dict:
    return _saved_search_template(parser.function_name, parser_properties(parser))


def workbook_name(workbook: Workbook) -> str:
    """Workbook resource names are GUIDs: the metadata `id`, else one from the key (not apply's per-workspace name)."""
    return str(workbook.id).lower() if workbook.id else str(uuid.uuid5(WORKBOOK_NAMESPACE, workbook.key))


def workbook_template(workbook: Workbook) -> dict:
    source = "[resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspace'))]"
    return _template({
        "type": "Microsoft.Insights/workbooks",
        "apiVersion": api_versions.WORKBOOKS,
        "name": workbook_name(workbook),
        "location": "[resourceGroup().location]",
        "kind": "shared",
        "properties": workbook_properties(workbook, source),
    })


def watchlist_template(watchlist: Watchlist) -> dict:
    """The watchlist with its items as CSV (rawContent): what apply's first PUT sends."""
    body = watchlist_create_body(watchlist_body(watchlist), watchlist.columns, watchlist_items(watchlist))
    return _template({
        "type": "Microsoft.OperationalInsights/workspaces/providers/Watchlists",
        "apiVersion": api_versions.SECURITY_INSIGHTS,
        "name": _in_workspace(watchlist.alias, "Microsoft.SecurityInsights"),
        "properties": body["properties"],
    })


def automation_rule_template(rule: AutomationRule) -> dict:
    """A bare analytic-rule GUID in a condition becomes that rule's id in the deployed workspace."""
    marker = "\x00WORKSPACE\x00"
    body = automation_rule_body(rule, marker)
    return _template({
        "type": "Microsoft.OperationalInsights/workspaces/providers/automationRules",
        "apiVersion": api_versions.SECURITY_INSIGHTS,
        "name": _in_workspace(rule.id, "Microsoft.SecurityInsights"),
        "properties": _with_workspace_ids(body["properties"], marker),
    })


def _with_workspace_ids(value, marker: str):
    if isinstance(value, dict):
        return {k: _with_workspace_ids(v, marker) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_workspace_ids(v, marker) for v in value]
    if isinstance(value, str) and value.startswith(marker):
        rest = value[len(marker):].replace("'", "''")
        return f"[concat({WORKSPACE_ID[1:-1]}, '{rest}')]"
    return value


RENDERERS = {AnalyticRule: rule_template, HuntingQuery: hunting_template, Parser: parser_template,
             Workbook: workbook_template, Watchlist: watchlist_template, AutomationRule: automation_rule_template}


def standalone_templates(entries) -> dict[str, dict]:
    """`arm/<kind folder>/<file stem>.json` -> template, for every rule, query, parser, workbook,
    watchlist and automation rule."""
    out: dict[str, dict] = {}
    for entry in entries:
        renderer = RENDERERS.get(type(entry))
        if renderer is None:
            continue
        path = f"arm/{FOLDERS[type(entry)]}/{entry.source.path.stem}.json"
        if path in out:
            path = f"arm/{FOLDERS[type(entry)]}/{entry.source.path.stem}-{entry.content_id}.json"
        out[path] = renderer(entry)
    return out
