"""Content templates, variables and dependency criteria for rules, hunting queries, parsers
and workbooks, as the current V3 packager writes them (solution-format.md 4.4-4.7)."""
from __future__ import annotations

from typing import Any, Mapping

from packer.content.load import get
from packer.content.model import AnalyticRule, HuntingQuery, Parser, Workbook
from packer.package.template import (
    ALERT_RULE_TEMPLATE_API,
    METADATA_API,
    METADATA_TYPE,
    SAVED_SEARCH_API,
    WORKBOOK_API,
    WORKSPACE_LOCATION,
    WORKSPACE_RESOURCE_ID,
    TemplateBuilder,
    product_id,
    quoted,
    template_spec_name,
)
from packer.bodies.resources import content_id_of
from packer.bodies.properties import (
    analytic_rule_properties,
    hunting_query_properties,
    parser_properties,
    workbook_properties,
)

SAVED_SEARCH_TYPE = "Microsoft.OperationalInsights/workspaces/savedSearches"


def _metadata_name(prefix: str, id_expr: str) -> str:
    """`[concat(..., concat('<Prefix>-', last(split(<id>,'/'))))]`; id_expr without brackets."""
    return (
        "[concat(parameters('workspace'),'/Microsoft.SecurityInsights/',"
        f"concat('{prefix}-', last(split({id_expr},'/'))))]"
    )


def _member(obj: str, key: str) -> str:
    return f"variables('{obj}').{key}"


def _item_metadata(b: TemplateBuilder, kind: str, id_expr: str, parent_id: str, content_id: str, version: str,
                   **extra) -> dict:
    """The metadata resource inside a rule's, hunting query's or workbook's content template."""
    return {
        "type": METADATA_TYPE,
        "apiVersion": METADATA_API,
        "name": _metadata_name(kind, id_expr),
        "properties": b.metadata_properties(parent_id, content_id, kind, version, **extra),
    }


# Objects the packager copies from the rule YAML as written (GenerateAlertRule), in its order.
COPIED_RULE_OBJECTS = ("entityMappings", "eventGroupingSettings", "customDetails", "alertDetailsOverride",
                       "incidentConfiguration", "sentinelEntitiesMappings")


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and not value)


def _powershell_true(value: Any) -> bool:
    """`if ($value)` on what ConvertFrom-YAML gives: a list is true by its one element or when it
    has several, a mapping is always true (even empty), a string when not empty."""
    if isinstance(value, list):
        return len(value) > 1 or (len(value) == 1 and _powershell_true(value[0]))
    if isinstance(value, dict):
        return True
    return bool(value)


def _as_list(value: Any) -> Any:
    """`@($x)`: GenerateAlertRule re-wraps a single entity mapping object in a list."""
    return value if isinstance(value, list) else [value]


def rule_properties_as_written(props: dict, written: Mapping[str, Any]) -> dict:
    """The packager's properties for a rule read from Microsoft's input: severity, status and
    tactics as spelled in the YAML (no case normalisation), data connectors and the objects of
    COPIED_RULE_OBJECTS copied as written when PowerShell finds them true (an empty mapping is).
    GenerateAlertRule passes each through its Remove-EmptyArrays, which removes nothing from a
    YAML mapping: it enumerates `@($Object)`, i.e. the mapping itself, and `-not $_.Values` is
    false for any Hashtable value collection, so `""`, `[]` and `false` members stay."""
    out = {k: v for k, v in props.items() if k not in COPIED_RULE_OBJECTS}
    for key in ("severity", "status"):
        if not _is_empty(get(written, key)):
            out[key] = get(written, key)
    tactics = get(written, "tactics")
    if isinstance(tactics, list) and tactics:
        out["tactics"] = [str(t).replace(" ", "") for t in tactics]
    connectors = get(written, "requiredDataConnectors")
    if isinstance(connectors, list) and connectors:
        out["requiredDataConnectors"] = [_connector_as_written(c) for c in connectors]
    for key in COPIED_RULE_OBJECTS:
        value = get(written, key)
        if _powershell_true(value):
            out[key] = _as_list(value) if key in ("entityMappings", "sentinelEntitiesMappings") else value
    return out


def _connector_as_written(connector: Any) -> Any:
    if isinstance(connector, dict) and isinstance(connector.get("connectorId"), list):
        return {**connector, "connectorId": ",".join(str(c) for c in connector["connectorId"])}
    return connector


def add_analytic_rule(b: TemplateBuilder, rule: AnalyticRule, as_written: Mapping[str, Any] | None = None) -> None:
    """`as_written`: the rule's YAML mapping, for Microsoft-format input (rule_properties_as_written)."""
    n = b.next_number("AnalyticsRule")
    obj = f"analyticRuleObject{n}"
    ref = lambda key: f"[{_member(obj, key + str(n))}]"  # noqa: E731
    empty = None
    if not rule.required_data_connectors:
        empty = b.need_variable("TemplateEmptyArray", "[json('[]')]")
    rule_resource = {
        "type": "Microsoft.SecurityInsights/AlertRuleTemplates",
        "name": ref("_analyticRulecontentId"),
        "apiVersion": ALERT_RULE_TEMPLATE_API,
        "kind": rule.kind.value,
        "location": WORKSPACE_LOCATION,
        "properties": analytic_rule_properties(rule, empty_connectors=empty),
    }
    if as_written is not None:
        rule_resource["properties"] = rule_properties_as_written(rule_resource["properties"], as_written)
    metadata = _item_metadata(
        b, "AnalyticsRule", _member(obj, f"analyticRuleId{n}"),
        ref("analyticRuleId"), ref("_analyticRulecontentId"), ref("analyticRuleVersion"),
        description=f"{b.solution.name} Analytics Rule {n}",
    )
    b.resources.append(b.content_template(
        name=ref("analyticRuleTemplateSpecName"),
        description=f"{rule.source.path.stem}_AnalyticalRules Analytics Rule",
        version=ref("analyticRuleVersion"),
        resources=[rule_resource, metadata],
        content_id=ref("_analyticRulecontentId"),
        kind="AnalyticsRule",
        display_name=rule.name,
        product=ref("_analyticRulecontentProductId"),
    ))
    b.variables[obj] = {
        f"analyticRuleVersion{n}": rule.version,
        f"_analyticRulecontentId{n}": rule.id,
        f"analyticRuleId{n}": f"[resourceId('Microsoft.SecurityInsights/AlertRuleTemplates', {quoted(rule.id)})]",
        f"analyticRuleTemplateSpecName{n}": template_spec_name("ar", quoted(rule.id)),
        f"_analyticRulecontentProductId{n}": product_id("ar", "AnalyticsRule", quoted(rule.id), quoted(rule.version)),
    }
    b.add_criterion("AnalyticsRule", ref("_analyticRulecontentId"), ref("analyticRuleVersion"))


def add_hunting_query(b: TemplateBuilder, query: HuntingQuery) -> None:
    n = b.next_number("HuntingQuery")
    obj = f"huntingQueryObject{n}"
    ref = lambda key: f"[{_member(obj, key + str(n))}]"  # noqa: E731
    search_id = f"resourceId('Microsoft.OperationalInsights/savedSearches', {_member(obj, f'_huntingQuerycontentId{n}')})"
    search = {
        "type": "Microsoft.OperationalInsights/savedSearches",
        "apiVersion": SAVED_SEARCH_API,
        "name": f"{b.solution.name.replace(' ', '_')}_Hunting_Query_{n}",
        "location": WORKSPACE_LOCATION,
        "properties": hunting_query_properties(query),
    }
    metadata = _item_metadata(
        b, "HuntingQuery", search_id, f"[{search_id}]", ref("_huntingQuerycontentId"), ref("huntingQueryVersion"),
        description=f"{b.solution.name} Hunting Query {n}",
    )
    b.resources.append(b.content_template(
        name=ref("huntingQueryTemplateSpecName"),
        description=f"{query.source.path.stem}_HuntingQueries Hunting Query",
        version=ref("huntingQueryVersion"),
        resources=[search, metadata],
        content_id=ref("_huntingQuerycontentId"),
        kind="HuntingQuery",
        display_name=query.name,
        product=product_id("hq", "HuntingQuery", _member(obj, f"_huntingQuerycontentId{n}"), quoted(query.version)),
        template_version=query.version,
    ))
    b.variables[obj] = {
        f"huntingQueryVersion{n}": query.version,
        f"_huntingQuerycontentId{n}": query.id,
        f"huntingQueryTemplateSpecName{n}": template_spec_name("hq", quoted(query.id)),
    }
    b.add_criterion("HuntingQuery", ref("_huntingQuerycontentId"), ref("huntingQueryVersion"))


def add_parser(b: TemplateBuilder, parser: Parser, description: str = "") -> None:
    n = b.next_number("Parser")
    obj = f"parserObject{n}"
    ref = lambda key: f"[{_member(obj, key + str(n))}]"  # noqa: E731
    name = parser.function_name
    parent = f"[resourceId('Microsoft.OperationalInsights/workspaces/savedSearches', parameters('workspace'), {quoted(name)})]"
    props = parser_properties(parser, description=description)
    version = ref("parserVersion")
    metadata_name = _metadata_name("Parser", _member(obj, f"_parserId{n}"))

    def metadata(source_order: str, top_level: bool) -> dict:
        out = {"type": METADATA_TYPE, "apiVersion": METADATA_API}
        if top_level:
            out["location"] = WORKSPACE_LOCATION
        out["name"] = metadata_name
        out["dependsOn"] = [ref("_parserId")]
        out["properties"] = b.metadata_properties(parent, ref("parserContentId"), "Parser", version, source_order=source_order)
        return out

    inner_search = {"name": ref("_parserName"), "apiVersion": SAVED_SEARCH_API, "type": SAVED_SEARCH_TYPE,
                    "location": WORKSPACE_LOCATION, "properties": props}
    b.resources.append(b.content_template(
        name=ref("parserTemplateSpecName"),
        description=f"{parser.source.path.stem} Data Parser",
        version=version,
        resources=[inner_search, metadata("name,kind,sourceId", top_level=False)],
        content_id=ref("parserContentId"),
        kind="Parser",
        display_name=parser.title,
        product=product_id("pr", "Parser", _member(obj, f"parserContentId{n}"), quoted(parser.version)),
    ))
    b.resources.append({"type": SAVED_SEARCH_TYPE, "apiVersion": SAVED_SEARCH_API, "name": ref("_parserName"),
                        "location": WORKSPACE_LOCATION, "properties": props})
    b.resources.append(metadata("kind,name,sourceId", top_level=True))
    b.variables[obj] = {
        f"_parserName{n}": f"[concat(parameters('workspace'),'/',{quoted(name)})]",
        f"_parserId{n}": parent,
        f"parserTemplateSpecName{n}": template_spec_name("pr", quoted(content_id_of(parser))),
        f"parserVersion{n}": parser.version,
        f"parserContentId{n}": content_id_of(parser),
    }
    b.add_criterion("Parser", ref("parserContentId"), version)


def workbook_dependencies(workbook: Workbook) -> dict | None:
    criteria = [{"contentId": t, "kind": "DataType"} for t in workbook.data_types]
    criteria += [{"contentId": c, "kind": "DataConnector"} for c in workbook.data_connectors]
    return {"operator": "AND", "criteria": criteria} if criteria else None


def add_workbook(b: TemplateBuilder, workbook: Workbook) -> None:
    n = b.next_number("Workbook")
    var = lambda name: f"[variables('{name}{n}')]"  # noqa: E731
    name_param = f"[parameters('workbook{n}-name')]"
    b.parameters[f"workbook{n}-name"] = {
        "type": "string",
        "defaultValue": workbook.title,
        "minLength": 1,
        "metadata": {"description": "Name for the workbook"},
    }
    b.variables[f"workbookVersion{n}"] = workbook.version
    b.variables[f"workbookContentId{n}"] = workbook.key
    b.variables[f"workbookId{n}"] = f"[resourceId('Microsoft.Insights/workbooks', variables('workbookContentId{n}'))]"
    b.variables[f"workbookTemplateSpecName{n}"] = template_spec_name("wb", f"variables('_workbookContentId{n}')")
    b.variables[f"_workbookContentId{n}"] = f"[variables('workbookContentId{n}')]"
    source_id = b.need_variable("workspaceResourceId", WORKSPACE_RESOURCE_ID)
    b.variables[f"_workbookcontentProductId{n}"] = product_id(
        "wb", "Workbook", f"variables('_workbookContentId{n}')", f"variables('workbookVersion{n}')"
    )
    resource = {
        "type": "Microsoft.Insights/workbooks",
        "name": var("workbookContentId"),
        "location": WORKSPACE_LOCATION,
        "kind": "shared",
        "apiVersion": WORKBOOK_API,
        "metadata": {"description": workbook.description},
        "properties": workbook_properties(workbook, source_id, display_name=name_param),
    }
    metadata_description = workbook.metadata_description
    extra = {"description": workbook.description if metadata_description is None else metadata_description}
    dependencies = workbook_dependencies(workbook)
    if dependencies:
        extra["dependencies"] = dependencies
    metadata = _item_metadata(
        b, "Workbook", f"variables('workbookId{n}')", var("workbookId"), var("_workbookContentId"),
        var("workbookVersion"), **extra,
    )
    b.resources.append(b.content_template(
        name=var("workbookTemplateSpecName"),
        description=f"{workbook.template_path.stem} Workbook",
        version=var("workbookVersion"),
        resources=[resource, metadata],
        content_id=var("_workbookContentId"),
        kind="Workbook",
        display_name=name_param,
        product=var("_workbookcontentProductId"),
    ))
    b.add_criterion("Workbook", var("_workbookContentId"), var("workbookVersion"))
