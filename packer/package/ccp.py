"""Codeless (CCP) data connectors, packaged as the V3 tool does (common/createCCPConnector.ps1).

Each connector gives two content templates: `ConnectorDefinition` (the dataConnectorDefinitions
resource, its metadata, the DCRs and custom tables) and `Connections` (its metadata and the
pollers, with the `{{placeholder}}` values turned into parameters of that template); between
them, top-level copies of the definition and its metadata. Placeholders become `[[...]`
expressions: they are evaluated when the Connections template is deployed, not the package.
"""
from __future__ import annotations

import copy
import re
from typing import Any

from packer.package.inputs import CcpConnector
from packer.package.template import (
    CONTENT_API,
    CONTENT_TEMPLATES_TYPE,
    DEPLOYMENT_SCHEMA,
    METADATA_API,
    METADATA_TYPE,
    PACKAGE_DEPENDENCY,
    WORKSPACE_LOCATION,
    WORKSPACE_RESOURCE_ID,
    TemplateBuilder,
    support_json,
)

DEFINITION_API = "2022-09-01-preview"
POLLER_API = "2023-02-01-preview"
DCR_API = "2022-06-01"
TABLE_API = "2022-10-01"
TABLE_TYPE_ARM = "Microsoft.OperationalInsights/workspaces/tables"
PLACEHOLDER = re.compile(r"\{\{([a-zA-Z0-9]+)\}\}")
INDEXED_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}(\[\d*\])")
CCP_VERSION = "[variables('dataConnectorCCPVersion')]"
DCE_ID = ("[concat('/subscriptions/',parameters('subscription'),'/resourceGroups/',parameters('resourceGroupName'),"
          "'/providers/Microsoft.Insights/dataCollectionEndpoints/',parameters('workspace'))]")
MAIN_PARAMETERS = {
    "resourceGroupName": {"type": "string", "defaultValue": "[resourceGroup().name]",
                          "metadata": {"description": "resource group name where Microsoft Sentinel is setup"}},
    "subscription": {"type": "string", "defaultValue": "[last(split(subscription().id, '/'))]",
                     "metadata": {"description": "subscription id where Microsoft Sentinel is setup"}},
}
DCR_CONFIG_DEFAULT = {"dataCollectionEndpoint": "data collection Endpoint",
                      "dataCollectionRuleImmutableId": "data collection rule immutableId"}


def add_ccp_connector(b: TemplateBuilder, connector: CcpConnector) -> None:
    n = b.next_number("DataConnector")
    b.need_variable("workspaceResourceId", WORKSPACE_RESOURCE_ID)
    b.need_variable("dataConnectorCCPVersion", b.version)
    for kind, content_id in (("ConnectorDefinition", connector.id), ("Connections", connector.id + "Connections")):
        b.variables[f"_dataConnectorContentId{kind}{n}"] = content_id
        b.variables[f"dataConnectorTemplateName{kind}{n}"] = (
            f"[concat(parameters('workspace'),'-dc-',uniquestring(variables('_dataConnectorContentId{kind}{n}')))]"
        )
    definition = {
        "name": f"[concat(parameters('workspace'),'/Microsoft.SecurityInsights/',variables('_dataConnectorContentIdConnectorDefinition{n}'))]",
        "apiVersion": DEFINITION_API,
        "type": "Microsoft.OperationalInsights/workspaces/providers/dataConnectorDefinitions",
        "location": WORKSPACE_LOCATION,
        "kind": connector.definition.get("kind"),
        "properties": copy.deepcopy(connector.definition.get("properties")),
    }
    definition_metadata = _metadata(b, n, "ConnectorDefinition")
    connections = _connections_template(b, n, connector)
    resources = [definition, definition_metadata]
    resources += [_dcr(b, n, dcr) for dcr in connector.dcrs]
    resources += [_arm(t.get("name"), TABLE_TYPE_ARM, TABLE_API, t.get("kind"), t.get("properties")) for t in connector.tables]
    b.resources.append(_content_template(b, n, "ConnectorDefinition", "DataConnector", "dc", connector.title, resources))
    b.resources += [copy.deepcopy(definition), _metadata(b, n, "ConnectorDefinition")]
    b.resources.append(connections)
    b.add_criterion("DataConnector", f"[variables('_dataConnectorContentIdConnections{n}')]", CCP_VERSION)


def _arm(name: Any, type_: str, api: str, kind: Any, properties: Any) -> dict:
    """Get-ArmResource: only name, type, kind and properties are taken from the file."""
    return {"name": name, "apiVersion": api, "type": type_, "location": WORKSPACE_LOCATION, "kind": kind,
            "properties": copy.deepcopy(properties)}


def _metadata(b: TemplateBuilder, n: int, kind: str) -> dict:
    content_type = "DataConnector" if kind == "ConnectorDefinition" else "ResourcesDataConnector"
    parent_type = "dataConnectorDefinitions" if kind == "ConnectorDefinition" else "dataConnectors"
    content_id = f"variables('_dataConnectorContentId{kind}{n}')"
    properties: dict[str, Any] = {
        "parentId": ("[extensionResourceId(resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspace')), "
                     f"'Microsoft.SecurityInsights/{parent_type}', {content_id})]"),
        "contentId": f"[{content_id}]",
        "kind": content_type,
        "version": CCP_VERSION,
        "source": {"sourceId": "[variables('_solutionId')]", "name": "[variables('_solutionName')]", "kind": "Solution"},
        "author": b.author(),
        "support": support_json(b.solution),
    }
    if kind == "ConnectorDefinition":
        properties["dependencies"] = {"criteria": [{
            "version": CCP_VERSION,
            "contentId": f"[variables('_dataConnectorContentIdConnections{n}')]",
            "kind": "ResourcesDataConnector",
        }]}
    return {
        "name": f"[concat(parameters('workspace'),'/Microsoft.SecurityInsights/',concat('DataConnector-', {content_id}))]",
        "apiVersion": METADATA_API,
        "type": METADATA_TYPE,
        "properties": properties,
    }


def _content_template(b: TemplateBuilder, n: int, kind: str, content_kind: str, tag: str, title: str,
                      resources: list[dict], parameters: dict | None = None, variables: dict | None = None) -> dict:
    content_id = f"variables('_dataConnectorContentId{kind}{n}')"
    return {
        "type": CONTENT_TEMPLATES_TYPE,
        "apiVersion": CONTENT_API,
        "name": (f"[concat(parameters('workspace'),'/Microsoft.SecurityInsights/', "
                 f"variables('dataConnectorTemplateName{kind}{n}'), variables('dataConnectorCCPVersion'))]"),
        "location": WORKSPACE_LOCATION,
        "dependsOn": [PACKAGE_DEPENDENCY],
        "properties": {
            "contentId": f"[{content_id}]",
            "displayName": title,
            "contentKind": content_kind,
            "mainTemplate": {
                "$schema": DEPLOYMENT_SCHEMA,
                "contentVersion": CCP_VERSION,
                "parameters": parameters or {},
                "variables": variables or {},
                "resources": resources,
            },
            "packageKind": "Solution",
            "packageVersion": "[variables('_solutionVersion')]",
            "packageName": "[variables('_solutionName')]",
            "contentProductId": (f"[concat(take(variables('_solutionId'), 50),'-','{tag}','-', uniqueString(concat("
                                 f"variables('_solutionId'),'-','{content_kind}','-',{content_id},'-', "
                                 "variables('dataConnectorCCPVersion'))))]"),
            "packageId": "[variables('_solutionId')]",
            "contentSchemaVersion": "3.0.0",
            "version": CCP_VERSION,
        },
    }


# --- DCR --------------------------------------------------------------------------------------


def _dcr(b: TemplateBuilder, n: int, dcr: dict) -> dict:
    properties = copy.deepcopy(dcr.get("properties")) or {}
    destinations = properties.setdefault("destinations", {})
    log_analytics = destinations.get("logAnalytics")
    if isinstance(log_analytics, list) and log_analytics and isinstance(log_analytics[0], dict):
        log_analytics[0].setdefault("name", "clv2ws1")
        log_analytics[0]["workspaceResourceId"] = "[variables('workspaceResourceId')]"
    else:
        destinations["logAnalytics"] = {"name": "clv2ws1", "workspaceResourceId": "[variables('workspaceResourceId')]"}
    name = str(dcr.get("name", ""))
    if PLACEHOLDER.search(name):
        name = f"[concat('{name[:name.index('{{')]}', parameters('workspace'))]"
    endpoint = properties.get("dataCollectionEndpointId")
    if endpoint is None:
        properties["dataCollectionEndpointId"] = b.need_variable("dataCollectionEndpointId", DCE_ID)
    elif match := PLACEHOLDER.search(str(endpoint)):
        properties["dataCollectionEndpointId"] = b.need_variable(f"{match.group(1)}{n}", DCE_ID)
    for key, value in MAIN_PARAMETERS.items():
        b.parameters.setdefault(key, value)
    return _blank_empty_values(b, _arm(name, "Microsoft.Insights/dataCollectionRules", DCR_API, dcr.get("kind"), properties))


def _blank_empty_values(b: TemplateBuilder, value: dict) -> dict:
    """removePropertiesRecursively: null -> `blanks`, [] -> `TemplateEmptyArray`, {} removed."""
    out: dict = {}
    for key, member in value.items():
        if member is None:
            out[key] = b.need_variable("blanks", "[replace('b', 'b', '')]")
        elif isinstance(member, list):
            if not member:
                out[key] = b.need_variable("TemplateEmptyArray", "[json('[]')]")
            else:
                out[key] = [_blank_empty_values(b, m) if isinstance(m, dict) else m for m in member]
        elif isinstance(member, dict):
            if member and (cleaned := _blank_empty_values(b, member)):
                out[key] = cleaned
        else:
            out[key] = member
    return out


# --- Connections template (pollers) -----------------------------------------------------------


def _connections_template(b: TemplateBuilder, n: int, connector: CcpConnector) -> dict:
    parameters: dict[str, dict] = {}
    pollers = [_poller(parameters, poller) for poller in connector.pollers]
    for name, value in _instruction_parameters(connector).items():
        if not any(existing.lower() == name.lower() for existing in parameters):  # PowerShell -eq
            parameters[name] = value
    resources = [_metadata(b, n, "Connections")] + pollers
    variables = {f"_dataConnectorContentIdConnections{n}": f"[variables('_dataConnectorContentIdConnections{n}')]"}
    return _content_template(b, n, "Connections", "ResourcesDataConnector", "rdc", connector.title, resources,
                             parameters, variables)


def _secret(parameters: dict, name: str, min_length: int = 1) -> str:
    """addNewParameter: a securestring parameter of the Connections template, once."""
    if not any(existing.lower() == name.lower() for existing in parameters):
        parameters[name] = {"defaultValue": "-NA-", "type": "securestring", "minLength": min_length}
    return f"[[parameters('{name}')]"


def _instruction_parameters(connector: CcpConnector) -> dict[str, dict]:
    """Get-ConnectionsTemplateParameters: the fixed three, then one per input instruction."""
    out = {
        "connectorDefinitionName": {"defaultValue": connector.title, "type": "securestring", "minLength": 1},
        "workspace": {"defaultValue": "[parameters('workspace')]", "type": "securestring"},
        "dcrConfig": {"defaultValue": dict(DCR_CONFIG_DEFAULT), "type": "object"},
    }
    steps = connector.ui_config.get("instructionSteps")
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict):
            _parameters_of_instructions(out, step.get("instructions"))
    return out


def _parameters_of_instructions(out: dict, instructions: Any) -> None:
    for instruction in instructions if isinstance(instructions, list) else []:
        if not isinstance(instruction, dict):
            continue
        kind = str(instruction.get("type", "")).lower()  # PowerShell's -eq ignores case
        params = instruction.get("parameters") if isinstance(instruction.get("parameters"), dict) else {}
        if kind in ("textbox", "serviceprincipalidtextbox_test", "dropdown") and params.get("name"):
            out[str(params["name"])] = {"defaultValue": params["name"],
                                        "type": "array" if kind == "dropdown" else "securestring", "minLength": 1}
        elif kind == "oauthform":
            for name in ("ClientId", "ClientSecret", "AuthorizationCode"):
                if not any(name.lower() in existing.lower() for existing in out):  # PowerShell -match
                    out[name] = {"defaultValue": "-NA-", "type": "securestring", "minLength": 1}
        elif kind == "contextpane":
            inner = params.get("instructionSteps")
            for step in inner if isinstance(inner, list) else [inner] if isinstance(inner, dict) else []:
                _parameters_of_instructions(out, step.get("instructions") if isinstance(step, dict) else None)


def _poller(parameters: dict, poller: dict) -> dict:
    parameters.setdefault("guidValue", {"defaultValue": "[[newGuid()]", "type": "securestring"})
    parameters.setdefault("innerWorkspace", {"defaultValue": "[parameters('workspace')]", "type": "securestring"})
    name = _poller_name(parameters, str(poller.get("name", "")))
    resource = _arm(name, "Microsoft.OperationalInsights/workspaces/providers/dataConnectors", POLLER_API,
                    poller.get("kind"), poller.get("properties"))
    properties = resource["properties"] if isinstance(resource["properties"], dict) else {}
    dcr_config = properties.setdefault("dcrConfig", {})
    for key in ("dataCollectionEndpoint", "dataCollectionRuleImmutableId"):
        if key not in dcr_config or PLACEHOLDER.search(str(dcr_config[key])):
            dcr_config[key] = f"[[parameters('dcrConfig').{key}]"
    if str(properties.get("TenantId", "")) == "{{tenantId}}":
        properties["TenantId"] = "[[subscription().tenantId]"  # as Microsoft Copilot's package writes it
    if str(resource.get("kind", "")).lower() == "restapipoller":
        _rest_api_placeholders(parameters, properties)
    return resource


def _poller_name(parameters: dict, name: str) -> str:
    """GetDataConnectorPollerResourceName for the common shapes: `abc` and `{{param}}`."""
    if match := PLACEHOLDER.fullmatch(name):
        _secret(parameters, match.group(1))
        part = f"parameters('{match.group(1)}')"
    else:
        part = "'" + name.replace("'", "''") + "'"
    return f"[[concat(parameters('innerWorkspace'),'/Microsoft.SecurityInsights/', {part}, parameters('guidValue'))]"


def _placeholder_value(parameters: dict, value: Any, min_length: int = 4) -> Any:
    """ProcessPropertyPlaceholders: `{{x}}` -> `[[parameters('x')]`, `{{x}}rest` -> a concat."""
    if not isinstance(value, str) or not (match := PLACEHOLDER.search(value)):
        return value
    name = match.group(1)
    _secret(parameters, name, min_length)
    rest = value.replace(match.group(0), "")
    return f"[[concat(parameters('{name}'), '{rest}')]" if rest else f"[[parameters('{name}')]"


def _rest_api_placeholders(parameters: dict, properties: dict) -> None:
    auth = properties.get("auth") if isinstance(properties.get("auth"), dict) else {}
    auth_type = str(auth.get("type", "")).lower()
    keys = {"oauth2": ("ClientId", "ClientSecret", "AuthorizationCode", "AuthorizationEndpoint", "TokenEndpoint"),
            "basic": ("username", "password"), "apikey": ("apikey",)}.get(auth_type, ())
    for key in keys:
        actual = next((k for k in auth if k.lower() == key.lower()), None)
        if actual is not None:
            auth[actual] = _placeholder_value(parameters, auth[actual])
    request = properties.get("request") if isinstance(properties.get("request"), dict) else {}
    endpoint = request.get("apiEndpoint")
    if isinstance(endpoint, str) and PLACEHOLDER.search(endpoint):
        parts = [p for p in re.split(r"(\{\{[a-zA-Z0-9]+\}\})", endpoint) if p]
        for part in parts:
            if match := PLACEHOLDER.fullmatch(part):
                _secret(parameters, match.group(1))
        request["apiEndpoint"] = "[[concat(" + ",".join(
            f"parameters('{m.group(1)}')" if (m := PLACEHOLDER.fullmatch(p)) else f"'{p}'" for p in parts) + ")]"
    headers = request.get("headers")
    if isinstance(headers, dict):  # a header holding a placeholder becomes that parameter, whole
        for key, value in headers.items():
            if isinstance(value, str) and (match := PLACEHOLDER.search(value)):
                headers[key] = _secret(parameters, match.group(1))
    query_parameters = request.get("queryParameters")
    if isinstance(query_parameters, dict):
        for key, value in query_parameters.items():
            if isinstance(value, str) and INDEXED_PLACEHOLDER.search(value):
                # `{{x}}[0]`: an element of an array parameter, rewritten in place (no parameter added)
                query_parameters[key] = INDEXED_PLACEHOLDER.sub(r"[[parameters('\1')\2]", value)
            else:
                query_parameters[key] = _placeholder_value(parameters, value)
    paging = properties.get("paging")
    if isinstance(paging, dict):
        for key, value in paging.items():
            paging[key] = _placeholder_value(parameters, value)
