"""Find content files and turn parsed documents into model objects.

The `*_from` functions expect a document that validation has accepted; they bind keys
case-insensitively (as Microsoft's CI does) and never guess silently beyond that.
Use `packer.validate.validate_paths` to get a ContentSet together with every problem found.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from packer.content.model import (
    AlertDetailsOverride,
    AnalyticRule,
    Author,
    ContentKind,
    ContentSet,
    DataConnectorRef,
    EntityMapping,
    FalsePositive,
    FieldMapping,
    GroupingConfiguration,
    HuntingQuery,
    IncidentConfiguration,
    Parser,
    RuleKind,
    Solution,
    SourceInfo,
    Support,
    Workbook,
)
from packer.content.yamlsource import YamlDocument, load_yaml, read_text
from packer.errors import ContentError
from packer.durations import to_iso8601
from packer.vocabulary import canonical_tactic

# The content folder layout (see README "Content layout").
SOLUTION_FILE = "solution.yaml"
FOLDERS: dict[str, ContentKind] = {
    "analytic-rules": ContentKind.ANALYTIC_RULE,
    "hunting-queries": ContentKind.HUNTING_QUERY,
    "parsers": ContentKind.PARSER,
    "workbooks": ContentKind.WORKBOOK,
}
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class ContentFile:
    path: Path
    kind: ContentKind | None  # None: the solution file


def discover(root: Path) -> list[ContentFile]:
    """Every content file under a content root, in a stable order."""
    files: list[ContentFile] = []
    if (root / SOLUTION_FILE).is_file():
        files.append(ContentFile(root / SOLUTION_FILE, None))
    for folder, kind in FOLDERS.items():
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            # not is_file(): a broken link or unreadable entry must be reported, not skipped
            if not path.is_dir() and path.suffix.lower() in YAML_SUFFIXES:
                files.append(ContentFile(path, kind))
    return files


# --- case-insensitive access ----------------------------------------------------------------


def get(mapping: Any, key: str, default: Any = None) -> Any:
    """Look a key up as Json.NET binds it: exact first, then case-insensitively."""
    if not isinstance(mapping, dict):
        return default
    if key in mapping:
        return mapping[key]
    lowered = key.lower()
    for k, v in mapping.items():
        if k.lower() == lowered:
            return v
    return default


def actual_key(mapping: dict, key: str) -> str | None:
    if key in mapping:
        return key
    return next((k for k in mapping if k.lower() == key.lower()), None)


def text(doc: YamlDocument, path: tuple, value: Any) -> str | None:
    """A scalar's literal text (so `version: 1.0` stays "1.0"); None for null."""
    if value is None:
        return None
    raw = doc.raw(path)
    if raw is not None and not isinstance(value, str):
        return raw
    return str(value)


def as_list(value: Any) -> list:
    """Hunting queries may give tactics/techniques as one string: `tactics: A, B`."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return list(value)


def source_of(doc: YamlDocument) -> SourceInfo:
    return SourceInfo(doc.path, MappingProxyType(dict(doc.positions)))


# --- builders -------------------------------------------------------------------------------


def _connectors(value: Any) -> tuple[DataConnectorRef, ...]:
    return tuple(
        DataConnectorRef(str(get(c, "connectorId") or ""), tuple(str(t) for t in as_list(get(c, "dataTypes"))))
        for c in (value or [])
    )


def _entity_mappings(value: Any) -> tuple[EntityMapping, ...]:
    return tuple(
        EntityMapping(
            str(get(m, "entityType")),
            tuple(
                FieldMapping(str(get(f, "identifier")), str(get(f, "columnName")))
                for f in (get(m, "fieldMappings") or [])
            ),
        )
        for m in (value or [])
    )


def _tactics(value: Any) -> tuple[str, ...]:
    """Canonical names; spaces dropped as the packager drops them ("Initial access" -> InitialAccess).

    Analytic rules never get here with spaces: validation rejects them (CI cannot bind them).
    """
    return tuple(canonical_tactic(str(t).replace(" ", "")) or str(t) for t in as_list(value) if t is not None)


def _false_positives(value: Any) -> tuple[FalsePositive, ...]:
    return tuple(
        FalsePositive(
            scenario=str(get(fp, "scenario", "")).strip(),
            filter=str(get(fp, "filter", "")).strip(),
            description=str(get(fp, "description", "")).strip(),
        )
        for fp in (value or [])
    )


def _alert_details_override(value: Any) -> AlertDetailsOverride | None:
    if not isinstance(value, dict):
        return None
    dynamic = tuple(
        (str(get(p, "alertProperty")), str(get(p, "value"))) for p in (get(value, "alertDynamicProperties") or [])
    )
    return AlertDetailsOverride(
        display_name_format=get(value, "alertDisplayNameFormat"),
        description_format=get(value, "alertDescriptionFormat"),
        tactics_column_name=get(value, "alertTacticsColumnName"),
        severity_column_name=get(value, "alertSeverityColumnName"),
        dynamic_properties=dynamic,
    )


def _bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def _incident_configuration(value: Any) -> IncidentConfiguration | None:
    if not isinstance(value, dict):
        return None
    grouping_value = get(value, "groupingConfiguration")
    grouping = None
    if isinstance(grouping_value, dict):
        lookback = str(get(grouping_value, "lookbackDuration") or "5h")
        grouping = GroupingConfiguration(
            enabled=_bool(get(grouping_value, "enabled"), False),
            reopen_closed_incident=_bool(get(grouping_value, "reopenClosedIncident"), False),
            lookback_duration=to_iso8601(lookback) if not lookback.startswith("P") else lookback,
            matching_method=str(get(grouping_value, "matchingMethod") or "AllEntities"),
            group_by_entities=tuple(as_list(get(grouping_value, "groupByEntities"))),
            group_by_alert_details=tuple(as_list(get(grouping_value, "groupByAlertDetails"))),
            group_by_custom_details=tuple(as_list(get(grouping_value, "groupByCustomDetails"))),
        )
    return IncidentConfiguration(create_incident=_bool(get(value, "createIncident"), True), grouping=grouping)


def analytic_rule_from(doc: YamlDocument) -> AnalyticRule:
    d = doc.value
    kind_text = str(get(d, "kind") or "Scheduled")
    kind = RuleKind.NRT if kind_text.lower() == "nrt" else RuleKind.SCHEDULED
    scheduled = kind is RuleKind.SCHEDULED
    grouping = get(d, "eventGroupingSettings")
    threshold = get(d, "triggerThreshold")
    return AnalyticRule(
        id=str(get(d, "id")).strip(),
        name=str(get(d, "name")).strip(),
        description=str(get(d, "description") or ""),
        kind=kind,
        severity=str(get(d, "severity")).capitalize(),
        query=str(get(d, "query")),
        version=text(doc, (actual_key(d, "version"),), get(d, "version")) or "1.0.0",
        source=source_of(doc),
        required_data_connectors=_connectors(get(d, "requiredDataConnectors")),
        query_frequency=text(doc, (actual_key(d, "queryFrequency"),), get(d, "queryFrequency")) if scheduled else None,
        query_period=text(doc, (actual_key(d, "queryPeriod"),), get(d, "queryPeriod")) if scheduled else None,
        trigger_operator=str(get(d, "triggerOperator")) if scheduled and get(d, "triggerOperator") else None,
        trigger_threshold=int(str(threshold).strip()) if scheduled and threshold is not None else None,
        tactics=_tactics(get(d, "tactics")),
        relevant_techniques=tuple(str(t).strip() for t in as_list(get(d, "relevantTechniques")) if t not in (None, "")),
        entity_mappings=_entity_mappings(get(d, "entityMappings")),
        custom_details=MappingProxyType({str(k): str(v) for k, v in (get(d, "customDetails") or {}).items()}),
        alert_details_override=_alert_details_override(get(d, "alertDetailsOverride")),
        event_grouping_aggregation=get(grouping, "aggregationKind") if scheduled and grouping else None,
        incident_configuration=_incident_configuration(get(d, "incidentConfiguration")),
        suppression_duration=get(d, "suppressionDuration"),
        suppression_enabled=_bool(get(d, "suppressionEnabled"), False),
        sentinel_entities_mappings=tuple(
            str(get(m, "columnName")) for m in (get(d, "sentinelEntitiesMappings") or [])
        ),
        status=get(d, "status"),
        enabled=_bool(get(d, "enabled"), True),
        false_positives=_false_positives(get(d, "falsePositives")),
        alert_rule_template=_template_link(get(d, "alertRuleTemplateName")),
        techniques=tuple(str(t).strip() for t in as_list(get(d, "techniques")) if t not in (None, "")),
    )


def _template_link(value: Any) -> str | None:
    """alertRuleTemplateName: null or absent = the rule's own id; "" = no template."""
    return None if value is None else str(value).strip()


def hunting_query_from(doc: YamlDocument) -> HuntingQuery:
    d = doc.value
    return HuntingQuery(
        id=str(get(d, "id")).strip(),
        name=str(get(d, "name")).strip(),
        description=str(get(d, "description") or ""),
        query=str(get(d, "query")),
        source=source_of(doc),
        version=text(doc, (actual_key(d, "version") or "version",), get(d, "version")) or "1.0.0",
        required_data_connectors=_connectors(get(d, "requiredDataConnectors")),
        tactics=_tactics(get(d, "tactics")),
        relevant_techniques=tuple(str(t).strip() for t in as_list(get(d, "relevantTechniques")) if t not in (None, "")),
        entity_mappings=_entity_mappings(get(d, "entityMappings")),
        false_positives=_false_positives(get(d, "falsePositives")),
    )


def parser_from(doc: YamlDocument) -> Parser:
    d = doc.value
    function = get(d, "Function") or {}
    params = get(d, "FunctionParams")
    if isinstance(params, list):  # [{Name, Type, Default?}, ...]
        params = ", ".join(
            f"{get(p, 'Name')}:{get(p, 'Type')}"
            + (f" = {get(p, 'Default')}" if get(p, "Default") is not None else "")
            for p in params
        )
    return Parser(
        id=str(get(d, "id")).strip(),
        title=str(get(function, "Title") or get(d, "FunctionName")),
        function_name=str(get(d, "FunctionName")),
        function_alias=str(get(d, "FunctionAlias") or get(d, "FunctionName")),
        query=str(get(d, "FunctionQuery")),
        version=str(get(function, "Version") or "1.0.0"),
        source=source_of(doc),
        category=str(get(d, "Category") or "Microsoft Sentinel Parser"),
        last_updated=None if get(function, "LastUpdated") is None else str(get(function, "LastUpdated")),
        function_parameters=params,
    )


def workbook_template_path(doc: YamlDocument) -> Path:
    """Where a workbook's JSON is: beside its YAML (`templateRelativePath`, or the same stem)."""
    key = get(doc.value, "templateRelativePath")
    return doc.path.parent / (key if isinstance(key, str) and key else doc.path.stem + ".json")


def read_workbook_json(template: Path, root: Path | None) -> Any:
    """The parsed workbook JSON; ContentError naming the JSON file when it cannot be used
    (outside the content root, not a regular file, too large, not UTF-8/JSON, not valid Unicode)."""
    text = read_text(template, root)
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        line = getattr(exc, "lineno", 1)
        raise ContentError(template, line, getattr(exc, "colno", 1), "", f"not valid JSON: {exc}") from None
    except RecursionError:
        raise ContentError(template, 1, 1, "", "JSON is nested too deeply to be a workbook") from None
    if _SURROGATE.search(json.dumps(data, ensure_ascii=False)):
        found = _LONE_SURROGATE_ESCAPE.search(text)
        line = text.count("\n", 0, found.start()) + 1 if found else 1
        raise ContentError(template, line, 1, "", "text is not valid Unicode (a lone surrogate \\u escape such as "
                           "\\ud800); it cannot be packaged or sent: write the character itself or a full pair")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (Python accepts it; the services do not)")


_SURROGATE = re.compile("[\ud800-\udfff]")
_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                                    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def workbook_from(doc: YamlDocument) -> Workbook:
    """A workbook metadata YAML; its JSON sits beside it (`templateRelativePath` or same stem)."""
    d = doc.value
    template = workbook_template_path(doc)
    serialized = json.dumps(read_workbook_json(template, doc.root), ensure_ascii=False)
    return Workbook(
        key=str(get(d, "workbookKey")),
        title=str(get(d, "title")),
        description=str(get(d, "description") or ""),
        version=text(doc, (actual_key(d, "version") or "version",), get(d, "version")) or "1.0.0",
        serialized_data=serialized,
        source=source_of(doc),
        template_path=template,
        id=get(d, "id"),
        subtitle=str(get(d, "subtitle") or ""),
        provider=str(get(d, "provider") or ""),
        logo_file_name=get(d, "logoFileName"),
        data_types=tuple(as_list(get(d, "dataTypesDependencies"))),
        data_connectors=tuple(as_list(get(d, "dataConnectorsDependencies"))),
        preview_images=tuple(as_list(get(d, "previewImagesFileNames"))),
        resource_name=None if get(d, "resourceName") is None else str(get(d, "resourceName")),
    )


def solution_from(doc: YamlDocument) -> Solution:
    d = doc.value
    author = get(d, "author") or {}
    support = get(d, "support") or {}
    categories = get(d, "categories") or {}
    return Solution(
        name=str(get(d, "name")),
        publisher_id=str(get(d, "publisherId")),
        offer_id=str(get(d, "offerId")),
        version=text(doc, (actual_key(d, "version") or "version",), get(d, "version")) or "3.0.0",
        description=str(get(d, "description") or ""),
        author=Author(str(get(author, "name")), get(author, "email")),
        support=Support(
            tier=str(get(support, "tier")),
            name=get(support, "name"),
            email=get(support, "email"),
            link=get(support, "link"),
        ),
        source=source_of(doc),
        first_publish_date=text(doc, ("firstPublishDate",), get(d, "firstPublishDate")),
        last_publish_date=text(doc, ("lastPublishDate",), get(d, "lastPublishDate")),
        logo=get(d, "logo"),
        providers=tuple(as_list(get(d, "providers"))),
        domains=tuple(as_list(get(categories, "domains"))),
        verticals=tuple(as_list(get(categories, "verticals"))),
        dependent_solution_ids=tuple(as_list(get(d, "dependentSolutionIds"))),
    )


BUILDERS = {
    ContentKind.ANALYTIC_RULE: analytic_rule_from,
    ContentKind.HUNTING_QUERY: hunting_query_from,
    ContentKind.PARSER: parser_from,
    ContentKind.WORKBOOK: workbook_from,
}


def load_content_unchecked(root: Path) -> ContentSet:
    """Build a ContentSet from a content folder WITHOUT validating it.

    For tests and internal tools only; user-facing commands go through validation first
    (`packer.validate`), which reports problems instead of failing on the first one.
    """
    solution = None
    items: dict[ContentKind, list] = {kind: [] for kind in BUILDERS}
    for content_file in discover(root):
        doc = load_yaml(content_file.path, root=root)
        if content_file.kind is None:
            solution = solution_from(doc)
        else:
            items[content_file.kind].append(BUILDERS[content_file.kind](doc))
    return content_set(solution, items)


def content_set(solution: Solution | None, items: dict[ContentKind, list]) -> ContentSet:
    """A ContentSet from the items built per kind (each list in file order)."""
    return ContentSet(
        solution=solution,
        analytic_rules=tuple(items[ContentKind.ANALYTIC_RULE]),
        hunting_queries=tuple(items[ContentKind.HUNTING_QUERY]),
        parsers=tuple(items[ContentKind.PARSER]),
        workbooks=tuple(items[ContentKind.WORKBOOK]),
    )
