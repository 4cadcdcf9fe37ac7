"""GenericUI / StaticUI data connectors, packaged as the V3 tool does (solution-format.md 4.8).

Each connector gives a content template (connector + metadata), a top-level metadata resource
and the top-level `dataConnectors` resource. Codeless (CCP) connectors are packaged by ccp.py.
"""
from __future__ import annotations

from typing import Any

from packer.package.inputs import GENERIC_UI, STATIC_UI, DataConnector
from packer.package.template import (
    CONNECTOR_METADATA_API,
    DATA_CONNECTOR_API,
    METADATA_TYPE,
    WORKSPACE_LOCATION,
    TemplateBuilder,
    product_id,
    template_spec_name,
)

DATA_CONNECTORS_TYPE = "Microsoft.OperationalInsights/workspaces/providers/dataConnectors"
STATIC_UI_KEYS = ("title", "publisher", "descriptionMarkdown", "graphQueries", "connectivityCriterias", "dataTypes")
TOP_LEVEL_KEYS = ("title", "publisher", "descriptionMarkdown", "graphQueries", "dataTypes", "connectivityCriterias")
TOP_LEVEL_GENERIC_KEYS = ("sampleQueries", "availability", "permissions", "instructionSteps")


EMPTY_ARRAY_KEYS = ("graphQueries", "dataTypes", "sampleQueries")
AZURE_FUNCTIONS_SUFFIX = " (using Azure Functions)"
MANUAL_DEPLOYMENT = "Manual Deployment of Azure Functions"


def _ui_config_in_template(b: TemplateBuilder, connector: DataConnector, ui_id: str) -> dict:
    """The file's keys in file order, `id` first; StaticUI keeps only its few keys (PowerShell's
    Select-Object, which writes an absent one as null)."""
    config: dict[str, Any] = {"id": ui_id}
    for key, value in connector.definition.items():
        if key == "id" or key == "metadata":
            continue
        if connector.kind == STATIC_UI and key not in STATIC_UI_KEYS:
            continue
        config[key] = _value(b, connector, key, value)
    if connector.kind == STATIC_UI:
        for key in STATIC_UI_KEYS:
            config.setdefault(key, None)
    if connector.kind == GENERIC_UI and "metadata" in connector.definition:
        config["metadata"] = connector.definition["metadata"]
    return config


def _value(b: TemplateBuilder, connector: DataConnector, key: str, value: Any) -> Any:
    """The packager's per-key rules for a GenericUI/StaticUI connector's fields."""
    if key in EMPTY_ARRAY_KEYS and (value is None or value == []):
        return b.need_variable("TemplateEmptyArray", "[json('[]')]")
    if connector.kind != GENERIC_UI:
        return value
    if key == "availability" and isinstance(value, dict):
        # GenericUI connectors are never packaged as preview
        return {**value, "isPreview": False} if value.get("isPreview") in (True, None) else value
    if key == "title" and isinstance(value, str) and _deploys_a_function_app(connector) \
            and "using Azure Functions" not in value:
        return value + AZURE_FUNCTIONS_SUFFIX
    if key == "instructionSteps" and isinstance(value, list):
        return [_without_empty_members(step) for step in value]
    return value


def _deploys_a_function_app(connector: DataConnector) -> bool:
    """GetDataConnectorMetadata's Azure Functions test, on the steps as it sees them (empty members
    already removed): a `[Deploy To Azure]` button after the start of a step's description, or
    `Deploy To Azure` in a nested `instructions[].parameters.instructionSteps[]` description of a
    step without description; and a step title with `Manual Deployment of Azure Functions` after
    its start, the nested check of each description-less step overriding the top-level one."""
    raw = connector.definition.get("instructionSteps")
    steps = [_without_empty_members(s) for s in raw] if isinstance(raw, list) else []
    steps = [s for s in steps if isinstance(s, dict)]
    deploys = any(_after_start(s.get("description"), "[Deploy To Azure]") for s in steps)
    manual = any(_after_start(s.get("title"), MANUAL_DEPLOYMENT) for s in steps)
    if deploys:
        return manual
    for step in steps:
        instructions = step.get("instructions")
        if step.get("description") is not None or not isinstance(instructions, list) or not instructions:
            continue
        manual = False
        for nested in _nested_steps(instructions):
            deploys = deploys or _after_start(nested.get("description"), "Deploy To Azure")
            manual = manual or _after_start(nested.get("title"), MANUAL_DEPLOYMENT)
    return deploys and manual


def _after_start(text: Any, needle: str) -> bool:
    """PowerShell's `$text -and $text.IndexOf(needle) -gt 0`."""
    return isinstance(text, str) and text.find(needle) > 0


def _nested_steps(instructions: list) -> list[dict]:
    nested: list[dict] = []
    for instruction in instructions:
        params = instruction.get("parameters") if isinstance(instruction, dict) else None
        inner = params.get("instructionSteps") if isinstance(params, dict) else None
        if isinstance(inner, list):
            nested.extend(s for s in inner if isinstance(s, dict))
    return nested


def _without_empty_members(step: Any) -> Any:
    """handleEmptyInstructionProperties: a step keeps only the members for which PowerShell's
    `($null -eq $v) -or ($v -eq "") -or ($v.Count -eq 0)` is false, in Sort-Object order.
    `-eq ""` converts "" to the left operand's type, so `false`, 0 and 0.0 go too; on an array it
    filters, so an array with two or more such elements goes as well as an empty one. Objects
    (even `{}`), `true`, other numbers and non-empty strings stay. Only the step's own members
    are checked, not nested ones."""
    if not isinstance(step, dict):
        return step
    kept = {k: v for k, v in step.items() if not _powershell_empty(v)}
    return {k: kept[k] for k in sorted(kept, key=str.casefold)}


def _equals_empty_string(value: Any) -> bool:
    """PowerShell's scalar `$value -eq ""`."""
    if isinstance(value, str):
        return value == ""
    if isinstance(value, (bool, int, float)):
        return not value
    return False


def _powershell_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, list):
        return len(value) == 0 or sum(_equals_empty_string(v) for v in value) >= 2
    return _equals_empty_string(value)


def _ui_config_top_level(b: TemplateBuilder, connector: DataConnector, ui_id: str) -> dict:
    """GetDataConnectorMetadata's `$standardConnectorUiConfig`: fixed keys (a missing title,
    publisher or description written as null), empty or null `graphQueries`/`dataTypes`/
    `sampleQueries` as `TemplateEmptyArray` (Get-ValidArray), `connectivityCriterias` only when
    not null, else the singular `connectivityCriteria` under its own name, then `id` and a
    non-empty `additionalRequirementBanner`."""
    definition = connector.definition
    config: dict[str, Any] = {}
    for key in TOP_LEVEL_KEYS + (TOP_LEVEL_GENERIC_KEYS if connector.kind == GENERIC_UI else ()):
        value = definition.get(key)
        if key == "connectivityCriterias":
            for criteria_key in ("connectivityCriterias", "connectivityCriteria"):
                if definition.get(criteria_key) is not None:
                    config[criteria_key] = definition[criteria_key]
                    break
        elif key in EMPTY_ARRAY_KEYS and not value:
            config[key] = b.need_variable("TemplateEmptyArray", "[json('[]')]")
        else:
            config[key] = _value(b, connector, key, value) if value is not None else None
    config["id"] = ui_id
    if definition.get("additionalRequirementBanner"):
        config["additionalRequirementBanner"] = definition["additionalRequirementBanner"]
    return config


def add_data_connector(b: TemplateBuilder, connector: DataConnector) -> None:
    n = b.next_number("DataConnector")
    var = lambda name: f"[variables('{name}{n}')]"  # noqa: E731
    b.variables[f"uiConfigId{n}"] = connector.id
    b.variables[f"_uiConfigId{n}"] = f"[variables('uiConfigId{n}')]"
    b.variables[f"dataConnectorContentId{n}"] = connector.id
    b.variables[f"_dataConnectorContentId{n}"] = f"[variables('dataConnectorContentId{n}')]"
    connector_resource_id = (
        "[extensionResourceId(resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspace')), "
        f"'Microsoft.SecurityInsights/dataConnectors', variables('_dataConnectorContentId{n}'))]"
    )
    b.variables[f"dataConnectorId{n}"] = connector_resource_id
    b.variables[f"_dataConnectorId{n}"] = f"[variables('dataConnectorId{n}')]"
    b.variables[f"dataConnectorTemplateSpecName{n}"] = template_spec_name("dc", f"variables('_dataConnectorContentId{n}')")
    b.variables[f"dataConnectorVersion{n}"] = connector.version
    b.variables[f"_dataConnectorcontentProductId{n}"] = product_id(
        "dc", "DataConnector", f"variables('_dataConnectorContentId{n}')", f"variables('dataConnectorVersion{n}')"
    )
    name = f"[concat(parameters('workspace'),'/Microsoft.SecurityInsights/',variables('_dataConnectorContentId{n}'))]"
    metadata_name = (
        "[concat(parameters('workspace'),'/Microsoft.SecurityInsights/',"
        f"concat('DataConnector-', last(split(variables('_dataConnectorId{n}'),'/'))))]"
    )
    properties = b.metadata_properties(connector_resource_id, var("_dataConnectorContentId"), "DataConnector",
                                       var("dataConnectorVersion"))

    def connector_resource(config: dict) -> dict:
        return {"name": name, "apiVersion": DATA_CONNECTOR_API, "type": DATA_CONNECTORS_TYPE,
                "location": WORKSPACE_LOCATION, "kind": connector.kind, "properties": {"connectorUiConfig": config}}

    inner_metadata = {"type": METADATA_TYPE, "apiVersion": CONNECTOR_METADATA_API, "name": metadata_name,
                      "properties": properties}
    b.resources.append(b.content_template(
        name=var("dataConnectorTemplateSpecName"),
        description=f"{b.solution.name} data connector",
        version=var("dataConnectorVersion"),
        resources=[connector_resource(_ui_config_in_template(b, connector, var("_uiConfigId"))), inner_metadata],
        content_id=var("_dataConnectorContentId"),
        kind="DataConnector",
        display_name=_value(b, connector, "title", connector.title),
        product=var("_dataConnectorcontentProductId"),
    ))
    b.resources.append({"type": METADATA_TYPE, "apiVersion": CONNECTOR_METADATA_API, "name": metadata_name,
                        "dependsOn": [var("_dataConnectorId")], "location": WORKSPACE_LOCATION,
                        "properties": properties})
    b.resources.append(connector_resource(_ui_config_top_level(b, connector, var("_uiConfigId"))))
    b.add_criterion("DataConnector", var("_dataConnectorContentId"), var("dataConnectorVersion"))


def log_kind(connector: DataConnector) -> str:
    """The words the createUi text uses for the connector's data (getConnectorDataTypes): per
    data type, a name containing `Syslog`, else `CommonSecurityLog` (case-sensitive); the last
    data type that matches wins."""
    kind = "custom log"
    for name in connector.data_type_names:  # e.g. "Syslog(OpenVPN)"
        if "Syslog" in name:
            kind = "Syslog"
        elif "CommonSecurityLog" in name:
            kind = "CommonSecurityLog"
    return kind
