"""createUiDefinition.json: the install wizard Content Hub shows (solution-format.md 5)."""
from __future__ import annotations

from packer.content.model import AnalyticRule, HuntingQuery, Parser, Workbook
from packer.package.connectors import log_kind
from packer.package.inputs import CcpConnector, DataConnector, PackageInput
from packer.package.solution import description_with_logo
from packer.package.template import TemplateBuilder
from packer.bodies.properties import hunting_description, rule_description

TEXT_BLOCK = "Microsoft.Common.TextBlock"
SECTION = "Microsoft.Common.Section"
DEFAULT_BLADE_TEXT = {
    "analytics": "This solution installs the following analytic rule templates. After installing the solution, "
    "create and enable analytic rules in Manage solution view.",
    "huntingqueries": "This solution installs the following hunting queries. After installing the solution, run "
    "these hunting queries to hunt for threats in Manage solution view. ",
    "workbooks": "This solution installs workbook(s) to help you gain insights into the telemetry collected in "
    "Microsoft Sentinel. After installing the solution, start using the workbook in Manage solution view.",
}
BLADE_KEYS = {
    "analytics": "AnalyticalRuleBladeDescription",
    "huntingqueries": "HuntingQueryBladeDescription",
    "workbooks": "WorkbookBladeDescription",
}
LINKS = {
    "analytics": "https://docs.microsoft.com/azure/sentinel/tutorial-detect-threats-custom?WT.mc_id=Portal-Microsoft_Azure_CreateUIDef",
    "huntingqueries": "https://docs.microsoft.com/azure/sentinel/hunting",
    "workbooks": "https://docs.microsoft.com/azure/sentinel/tutorial-monitor-your-data",
}
CONNECT_DATA_URI = "https://docs.microsoft.com/azure/sentinel/connect-data-sources"
PARSER_TEXT = (
    "The Solution installs a parser that transforms the ingested data into Microsoft Sentinel normalized format. "
    "The normalized format enables better correlation of different types of data from different data sources to "
    "drive end-to-end outcomes seamlessly in security monitoring, hunting, incident investigation and response "
    "scenarios in Microsoft Sentinel."
)
WORKSPACES_FILTER = (
    "[map(filter(basics('getLAWorkspace').value, (filter) => contains(toLower(filter.id), "
    "toLower(resourceGroup().name))), (item) => parse(concat('{\"label\":\"', item.name, '\",\"value\":\"', "
    "item.name, '\"}')))]"
)
WORKSPACE_LOCATION_OUTPUT = (
    "[first(map(filter(basics('getLAWorkspace').value, (filter) => and(contains(toLower(filter.id), "
    "toLower(resourceGroup().name)),equals(filter.name,basics('workspace')))), (item) => item.location))]"
)


def _text(name: str, text: str) -> dict:
    return {"name": name, "type": TEXT_BLOCK, "options": {"text": text}}


def _link(name: str, label: str, uri: str) -> dict:
    return {"name": name, "type": TEXT_BLOCK, "options": {"link": {"label": label, "uri": uri}}}


def _section(name: str, label: str, text: str | None, always: bool = False) -> dict:
    elements = [_text(f"{name}-text", text or "")] if text or always else []
    return {"name": name, "type": SECTION, "label": label, "elements": elements}


def _blade(package: PackageInput, step: str) -> list[dict]:
    text = package.blade_descriptions.get(BLADE_KEYS[step]) or DEFAULT_BLADE_TEXT[step]
    return [_text(f"{step}-text", text), _link(f"{step}-link", "Learn more", LINKS[step])]


def hunting_text(query: HuntingQuery) -> str:
    """`<description> <connectors sentence>`: the space is written even when no connector follows."""
    text = f"{hunting_description(query.description)} " if query.description else ""
    if query.required_data_connectors:
        connectors = " ".join(c.connector_id for c in query.required_data_connectors)
        data_types = " ".join(t for c in query.required_data_connectors for t in c.data_types)
        text += f"This hunting query depends on {connectors} data connector ({data_types} Parser or Table)"
    return text


def _connector_text(n: int, name: str, data: str) -> dict:
    return _text(
        f"dataconnectors{n}-text",
        f"This Solution installs the data connector for {name}. You can get {name} {data}data in your "
        "Microsoft Sentinel workspace. After installing the solution, configure and enable this data connector "
        "by following guidance in Manage solution view.",
    )


def _connectors_step(package: PackageInput, connectors: list[DataConnector | CcpConnector]) -> dict:
    """GenericUI/StaticUI connectors: a text each, then after the last one the parser text (when
    the solution has parsers) and one link, `dataconnectors-link<number of those connectors>`
    (GetDataConnectorMetadata). Each CCP connector (createCCPConnector.ps1) adds its own text,
    naming the connector, and its own `dataconnectors-link<N>`."""
    name = package.solution.name
    elements, classic = [], 0
    for i, c in enumerate(connectors, start=1):
        if isinstance(c, CcpConnector):
            elements += [_connector_text(i, c.title, ""),
                         _link(f"dataconnectors-link{i}", "Learn more about connecting data sources", CONNECT_DATA_URI)]
        else:
            classic += 1
            elements.append(_connector_text(i, name, f"{log_kind(c)} "))
    # after the connector whose counter equals `$contentToImport."Data Connectors".Count`
    # (GetDataConnectorMetadata): never when the key is spelt `DataConnectors`
    if classic and package.connector_link:
        if package.of_type(Parser):
            elements.append(_text("dataconnectors-parser-text", PARSER_TEXT))
        elements.append(_link(f"dataconnectors-link{classic}", "Learn more about connecting data sources", CONNECT_DATA_URI))
    return {"name": "dataconnectors", "label": "Data Connectors", "bladeTitle": "Data Connectors", "elements": elements}


def _workbooks_step(package: PackageInput, workbooks: list[Workbook]) -> dict:
    elements = _blade(package, "workbooks") + [
        _section(f"workbook{i}", w.title, w.description, always=True) for i, w in enumerate(workbooks, start=1)
    ]
    return {"name": "workbooks", "label": "Workbooks",
            "subLabel": {"preValidation": "Configure the workbooks", "postValidation": "Done"},
            "bladeTitle": "Workbooks", "elements": elements}


def _analytics_step(package: PackageInput, rules: list[AnalyticRule]) -> dict:
    elements = _blade(package, "analytics") + [
        _section(f"analytic{i}", r.name, rule_description(r.description)) for i, r in enumerate(rules, start=1)
    ]
    return {"name": "analytics", "label": "Analytics",
            "subLabel": {"preValidation": "Configure the analytics", "postValidation": "Done"},
            "bladeTitle": "Analytics", "elements": elements}


def _hunting_step(package: PackageInput, queries: list[HuntingQuery]) -> dict:
    elements = _blade(package, "huntingqueries") + [
        _section(f"huntingquery{i}", q.name, hunting_text(q)) for i, q in enumerate(queries, start=1)
    ]
    return {"name": "huntingqueries", "label": "Hunting Queries", "bladeTitle": "Hunting Queries", "elements": elements}


def steps(package: PackageInput) -> list[dict]:
    """Steps in the packager's fixed order; `[{}]` when nothing produces a step (parsers only)."""
    out = []
    if connectors := [e for e in package.entries if isinstance(e, (DataConnector, CcpConnector))]:
        out.append(_connectors_step(package, connectors))
    if workbooks := package.of_type(Workbook):
        out.append(_workbooks_step(package, workbooks))
    if rules := package.of_type(AnalyticRule):
        out.append(_analytics_step(package, rules))
    if queries := package.of_type(HuntingQuery):
        out.append(_hunting_step(package, queries))
    return out or [{}]


def create_ui_definition(b: TemplateBuilder, package: PackageInput) -> dict:
    return {
        "$schema": "https://schema.management.azure.com/schemas/0.1.2-preview/CreateUIDefinition.MultiVm.json#",
        "handler": "Microsoft.Azure.CreateUIDef",
        "version": "0.1.2-preview",
        "parameters": {
            "config": {
                "isWizard": False,
                "basics": {
                    "description": description_with_logo(b, package),
                    "subscription": {"resourceProviders": [
                        "Microsoft.OperationsManagement/solutions",
                        "Microsoft.OperationalInsights/workspaces/providers/alertRules",
                        "Microsoft.Insights/workbooks",
                        "Microsoft.Logic/workflows",
                    ]},
                    "location": {
                        "metadata": {"hidden": "Hiding location, we get it from the log analytics workspace"},
                        "visible": False,
                    },
                    "resourceGroup": {"allowExisting": True},
                },
            },
            "basics": [
                {
                    "name": "getLAWorkspace",
                    "type": "Microsoft.Solutions.ArmApiControl",
                    "toolTip": "This filters by workspaces that exist in the Resource Group selected",
                    "condition": "[greater(length(resourceGroup().name),0)]",
                    "request": {
                        "method": "GET",
                        "path": "[concat(subscription().id,'/providers/Microsoft.OperationalInsights/workspaces?api-version=2020-08-01')]",
                    },
                },
                {
                    "name": "workspace",
                    "type": "Microsoft.Common.DropDown",
                    "label": "Workspace",
                    "placeholder": "Select a workspace",
                    "toolTip": "This dropdown will list only workspace that exists in the Resource Group selected",
                    "constraints": {"allowedValues": WORKSPACES_FILTER, "required": True},
                    "visible": True,
                },
            ],
            "steps": steps(package),
            "outputs": {
                "workspace-location": WORKSPACE_LOCATION_OUTPUT,
                "location": "[location()]",
                "workspace": "[basics('workspace')]",
            },
        },
    }
