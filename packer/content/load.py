"""Find content files and turn parsed documents into model objects.

The `*_from` functions expect a document that validation has accepted; they bind keys
case-insensitively (as Microsoft's CI does) and never guess silently beyond that.
Use `packer.validate.validate_paths` to get a ContentSet together with every problem found.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from packer import resource_ids
from packer.content.field_rules import SCHEDULED_ONLY
from packer.content.model import (
    AlertDetailsOverride,
    AnalyticRule,
    Author,
    AutomationRule,
    ContentKind,
    ContentSet,
    DataConnectorRef,
    EntityMapping,
    FalsePositive,
    FieldMapping,
    GroupingConfiguration,
    HuntingQuery,
    IncidentConfiguration,
    KindSpec,
    Parser,
    RuleKind,
    Solution,
    SourceInfo,
    Support,
    Watchlist,
    Workbook,
)
from packer.content.document import CiDocument, ci_view
from packer.content.watchlist_csv import WatchlistItems, read_items
from packer.content.yamlsource import YamlDocument, load_yaml, read_text
from packer.errors import ContentError
from packer.durations import to_iso8601
from packer.vocabulary import canonical_tactic

# The content folder layout (see README "Content layout"); each kind's folder is in KINDS.
SOLUTION_FILE = "solution.yaml"
YAML_SUFFIXES = (".yaml", ".yml")
SOLUTION_SCHEMA = "solution"
RULE_SCHEMA, HUNTING_SCHEMA, PARSER_SCHEMA, WORKBOOK_SCHEMA = "analytic-rule", "hunting-query", "parser", "workbook-metadata"
WATCHLIST_SCHEMA, AUTOMATION_RULE_SCHEMA = "watchlist", "automation-rule"


# --- finding files --------------------------------------------------------------------------


@dataclass(frozen=True)
class ContentFile:
    path: Path
    kind: ContentKind | None  # from the content root's layout; None: the solution file, or not known
    root: Path  # the content root: the only place the file (and what it links to) is read from
    solution: bool = False  # the solution file (solution.yaml)


def discover(path: Path, layout: bool | None = None) -> list[ContentFile]:
    """Every content file under `path`, in a stable order: the one file discovery of validation
    and the model. With `layout` (by default: when `path` holds solution.yaml), `path` is a
    content root and each file's kind is its folder's (KINDS); otherwise every YAML file under
    the folder (or `path` itself) is a candidate whose kind validation decides (folder name or
    fields), skipping tool folders (.github, virtualenvs, node_modules). A missing path: []."""
    if path.is_dir() and (layout or (layout is None and (path / SOLUTION_FILE).is_file())):
        return _laid_out(path)
    if path.is_dir():
        root = content_root_of(path)
        return [ContentFile(file, None, root, file.name == SOLUTION_FILE) for file in yaml_files(path)]
    if os.path.lexists(path):  # a link loop or a broken link is reported when it is read
        return [ContentFile(path, None, content_root_of(path.parent), path.name == SOLUTION_FILE)]
    return []


def _laid_out(root: Path) -> list[ContentFile]:
    files: list[ContentFile] = []
    if (root / SOLUTION_FILE).is_file():
        files.append(ContentFile(root / SOLUTION_FILE, None, root, solution=True))
    for folder, kind in FOLDERS.items():
        if (root / folder).is_dir():
            files += [ContentFile(path, kind, root) for path in yaml_files(root / folder, skip_tool_folders=False)]
    return files


def yaml_files(folder: Path, skip_tool_folders: bool = True) -> list[Path]:
    """The YAML files under `folder`, sorted; not is_file(): a broken link or unreadable entry
    must be reported, not skipped."""
    return [path for path in sorted(folder.rglob("*"))
            if not path.is_dir() and path.suffix.lower() in YAML_SUFFIXES
            and not (skip_tool_folders and is_tool_path(path.relative_to(folder)))]


def is_tool_path(relative: Path) -> bool:
    """Tool folders are not content: .github workflows, virtualenvs, node_modules."""
    return any(part.startswith(".") or part == "node_modules" for part in relative.parts[:-1])


def content_root_of(folder: Path) -> Path:
    """The content root holding `folder` (the nearest folder with solution.yaml), else `folder`:
    a file may link to another place in its content root, never outside it."""
    for candidate in (folder, *folder.absolute().parents):
        if (candidate / SOLUTION_FILE).is_file():
            return candidate
    return folder


def git_root(folder: Path) -> Path | None:
    """The work tree of the git repository holding `folder`: the nearest folder with a `.git`
    (a folder, or a file in a worktree or submodule), else None. Where the analysis cache lives
    (packer.kql.cache) and what ownership marks record paths relative to (packer.bodies)."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


# --- case-insensitive access (for Microsoft's own input files: packer.package) ---------------


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


def as_list(value: Any) -> list:
    """Hunting queries may give tactics/techniques as one string: `tactics: A, B`."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return list(value)


# Field paths and positions repeat from file to file (every rule has ("query",) near line 20):
# items share one copy of each, so what a validated item keeps per file is its dict alone
# (issue 17: validate's memory grew by about 18 KB per file, mostly these).
_SHARED: dict = {}


def _shared(value):
    return _SHARED.setdefault(value, value)


def source_of(doc: CiDocument) -> SourceInfo:
    return SourceInfo(doc.path, MappingProxyType({_shared(path): _shared(where)
                                                  for path, where in doc.source.positions.items()}))


# --- builders -------------------------------------------------------------------------------
# Each takes the file's CI view (packer.content.document), the one validation judged: keys in
# the schema's spelling, scalars as their literal text (`version: 1.0` stays "1.0"), enum
# spellings fixed. Given a parsed YamlDocument instead, a builder makes that view itself.


def _connectors(value: Any) -> tuple[DataConnectorRef, ...]:
    return tuple(
        DataConnectorRef(str(c.get("connectorId") or ""), tuple(str(t) for t in as_list(c.get("dataTypes"))))
        for c in (value or [])
    )


def _entity_mappings(value: Any) -> tuple[EntityMapping, ...]:
    return tuple(
        EntityMapping(
            str(m.get("entityType")),
            tuple(FieldMapping(str(f.get("identifier")), str(f.get("columnName"))) for f in (m.get("fieldMappings") or [])),
        )
        for m in (value or [])
    )


def _tactics(value: Any) -> tuple[str, ...]:
    """Canonical names; spaces dropped as the packager drops them ("Initial access" -> InitialAccess).

    Analytic rules never get here with spaces: validation rejects them (CI cannot bind them).
    """
    return tuple(canonical_tactic(str(t).replace(" ", "")) or str(t) for t in as_list(value) if t is not None)


def _techniques(value: Any) -> tuple[str, ...]:
    return tuple(str(t).strip() for t in as_list(value) if t not in (None, ""))


def _false_positives(value: Any) -> tuple[FalsePositive, ...]:
    return tuple(
        FalsePositive(
            scenario=str(fp.get("scenario", "")).strip(),
            filter=str(fp.get("filter", "")).strip(),
            description=str(fp.get("description", "")).strip(),
        )
        for fp in (value or [])
    )


def _alert_details_override(value: Any) -> AlertDetailsOverride | None:
    if not isinstance(value, dict):
        return None
    dynamic = tuple(
        (str(p.get("alertProperty")), str(p.get("value"))) for p in (value.get("alertDynamicProperties") or [])
    )
    return AlertDetailsOverride(
        display_name_format=value.get("alertDisplayNameFormat"),
        description_format=value.get("alertDescriptionFormat"),
        tactics_column_name=value.get("alertTacticsColumnName"),
        severity_column_name=value.get("alertSeverityColumnName"),
        dynamic_properties=dynamic,
    )


# Plain scalars YAML 1.1 reads as true (PyYAML's resolver), besides any spelling of "true".
_YAML_TRUE = frozenset({"yes", "Yes", "YES", "on", "On", "ON"})


def _bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    text = str(value).strip()
    return text.lower() == "true" or text in _YAML_TRUE


def _incident_configuration(value: Any) -> IncidentConfiguration | None:
    if not isinstance(value, dict):
        return None
    grouping_value = value.get("groupingConfiguration")
    grouping = None
    if isinstance(grouping_value, dict):
        lookback = str(grouping_value.get("lookbackDuration") or "5h")
        grouping = GroupingConfiguration(
            enabled=_bool(grouping_value.get("enabled"), False),
            reopen_closed_incident=_bool(grouping_value.get("reopenClosedIncident"), False),
            lookback_duration=to_iso8601(lookback) if not lookback.startswith("P") else lookback,
            matching_method=str(grouping_value.get("matchingMethod") or "AllEntities"),
            group_by_entities=tuple(as_list(grouping_value.get("groupByEntities"))),
            group_by_alert_details=tuple(as_list(grouping_value.get("groupByAlertDetails"))),
            group_by_custom_details=tuple(as_list(grouping_value.get("groupByCustomDetails"))),
        )
    return IncidentConfiguration(create_incident=_bool(value.get("createIncident"), True), grouping=grouping)


def analytic_rule_from(doc: YamlDocument | CiDocument) -> AnalyticRule:
    ci = ci_view(doc, RULE_SCHEMA)
    d = ci.value
    kind_text = str(d.get("kind") or "Scheduled")
    kind = RuleKind.NRT if kind_text.lower() == "nrt" else RuleKind.SCHEDULED
    scheduled = kind is RuleKind.SCHEDULED
    grouping = d.get("eventGroupingSettings")
    threshold = d.get("triggerThreshold")
    return AnalyticRule(
        id=str(d.get("id")).strip(),
        name=str(d.get("name")).strip(),
        description=str(d.get("description") or ""),
        kind=kind,
        severity=str(d.get("severity")).capitalize(),
        query=str(d.get("query")),
        version=d.get("version") or "1.0.0",
        source=source_of(ci),
        required_data_connectors=_connectors(d.get("requiredDataConnectors")),
        query_frequency=d.get("queryFrequency") if scheduled else None,
        query_period=d.get("queryPeriod") if scheduled else None,
        trigger_operator=str(d.get("triggerOperator")) if scheduled and d.get("triggerOperator") else None,
        trigger_threshold=int(str(threshold).strip()) if scheduled and threshold is not None else None,
        tactics=_tactics(d.get("tactics")),
        relevant_techniques=_techniques(d.get("relevantTechniques")),
        entity_mappings=_entity_mappings(d.get("entityMappings")),
        custom_details=MappingProxyType({str(k): str(v) for k, v in (d.get("customDetails") or {}).items()}),
        alert_details_override=_alert_details_override(d.get("alertDetailsOverride")),
        event_grouping_aggregation=grouping.get("aggregationKind") if scheduled and grouping else None,
        incident_configuration=_incident_configuration(d.get("incidentConfiguration")),
        suppression_duration=d.get("suppressionDuration"),
        suppression_enabled=_bool(d.get("suppressionEnabled"), False),
        sentinel_entities_mappings=tuple(str(m.get("columnName")) for m in (d.get("sentinelEntitiesMappings") or [])),
        status=d.get("status"),
        enabled=_bool(d.get("enabled"), True),
        false_positives=_false_positives(d.get("falsePositives")),
        alert_rule_template=_template_link(d.get("alertRuleTemplateName")),
        techniques=_techniques(d.get("techniques")),
    )


def _template_link(value: Any) -> str | None:
    """alertRuleTemplateName: null or absent = the rule's own id; "" = no template."""
    return None if value is None else str(value).strip()


def hunting_query_from(doc: YamlDocument | CiDocument) -> HuntingQuery:
    ci = ci_view(doc, HUNTING_SCHEMA)
    d = ci.value
    return HuntingQuery(
        id=str(d.get("id")).strip(),
        name=str(d.get("name")).strip(),
        description=str(d.get("description") or ""),
        query=str(d.get("query")),
        source=source_of(ci),
        version=d.get("version") or "1.0.0",
        required_data_connectors=_connectors(d.get("requiredDataConnectors")),
        tactics=_tactics(d.get("tactics")),
        relevant_techniques=_techniques(d.get("relevantTechniques")),
        entity_mappings=_entity_mappings(d.get("entityMappings")),
        false_positives=_false_positives(d.get("falsePositives")),
    )


def parser_from(doc: YamlDocument | CiDocument) -> Parser:
    ci = ci_view(doc, PARSER_SCHEMA)
    d = ci.value
    function = d.get("Function") or {}
    params = d.get("FunctionParams")
    if isinstance(params, list):  # [{Name, Type, Default?}, ...]
        params = ", ".join(
            f"{p.get('Name')}:{p.get('Type')}" + (f" = {p.get('Default')}" if p.get("Default") is not None else "")
            for p in params
        )
    return Parser(
        id=str(d.get("id")).strip(),
        title=str(function.get("Title") or d.get("FunctionName")),
        function_name=str(d.get("FunctionName")),
        function_alias=str(d.get("FunctionAlias") or d.get("FunctionName")),
        query=str(d.get("FunctionQuery")),
        version=str(function.get("Version") or "1.0.0"),
        source=source_of(ci),
        category=str(d.get("Category") or "Microsoft Sentinel Parser"),
        last_updated=None if function.get("LastUpdated") is None else str(function.get("LastUpdated")),
        function_parameters=params,
    )


def workbook_template_path(doc: YamlDocument | CiDocument) -> Path:
    """Where a workbook's JSON is: beside its YAML (`templateRelativePath`, or the same stem)."""
    key = ci_view(doc, WORKBOOK_SCHEMA).value.get("templateRelativePath")
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


def workbook_json(doc: CiDocument) -> Any:
    """The parsed JSON of the workbook `doc`, parsed once per view (validation's check and the
    builder share it); ContentError naming the JSON file when it cannot be used."""
    return doc.linked(workbook_template_path(doc), read_workbook_json)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (Python accepts it; the services do not)")


_SURROGATE = re.compile("[\ud800-\udfff]")
_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                                    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def workbook_from(doc: YamlDocument | CiDocument) -> Workbook:
    """A workbook metadata YAML; its JSON sits beside it (`templateRelativePath` or same stem)."""
    ci = ci_view(doc, WORKBOOK_SCHEMA)
    d = ci.value
    template = workbook_template_path(ci)
    serialized = json.dumps(workbook_json(ci), ensure_ascii=False)
    return Workbook(
        key=str(d.get("workbookKey")),
        title=str(d.get("title")),
        description=str(d.get("description") or ""),
        version=d.get("version") or "1.0.0",
        serialized_data=serialized,
        source=source_of(ci),
        template_path=template,
        id=d.get("id"),
        subtitle=str(d.get("subtitle") or ""),
        provider=str(d.get("provider") or ""),
        logo_file_name=d.get("logoFileName"),
        data_types=tuple(as_list(d.get("dataTypesDependencies"))),
        data_connectors=tuple(as_list(d.get("dataConnectorsDependencies"))),
        preview_images=tuple(as_list(d.get("previewImagesFileNames"))),
        resource_name=None if d.get("resourceName") is None else str(d.get("resourceName")),
    )


def solution_from(doc: YamlDocument | CiDocument) -> Solution:
    ci = ci_view(doc, SOLUTION_SCHEMA)
    d = ci.value
    author = d.get("author") or {}
    support = d.get("support") or {}
    categories = d.get("categories") or {}
    return Solution(
        name=str(d.get("name")),
        publisher_id=str(d.get("publisherId")),
        offer_id=str(d.get("offerId")),
        version=d.get("version") or "3.0.0",
        description=str(d.get("description") or ""),
        author=Author(str(author.get("name")), author.get("email")),
        support=Support(tier=str(support.get("tier")), name=support.get("name"), email=support.get("email"),
                        link=support.get("link")),
        source=source_of(ci),
        first_publish_date=d.get("firstPublishDate"),
        last_publish_date=d.get("lastPublishDate"),
        logo=d.get("logo"),
        providers=tuple(as_list(d.get("providers"))),
        domains=tuple(as_list(categories.get("domains"))),
        verticals=tuple(as_list(categories.get("verticals"))),
        dependent_solution_ids=tuple(as_list(d.get("dependentSolutionIds"))),
    )


def watchlist_items_path(path: Path, value: Any) -> Path:
    """Where a watchlist's CSV is: beside its YAML at `path` (`itemsFile`, or the same stem)."""
    key = value.get("itemsFile") if isinstance(value, dict) else None
    return path.parent / (key if isinstance(key, str) and key else path.stem + ".csv")


def watchlist_items(doc: CiDocument) -> WatchlistItems:
    """The parsed CSV of the watchlist `doc`, parsed once per view (validation's check and the
    builder share it); ContentError naming the CSV when it cannot be used."""
    return doc.linked(watchlist_items_path(doc.path, doc.value), read_items)


def watchlist_from(doc: YamlDocument | CiDocument) -> Watchlist:
    """A watchlist YAML and the CSV of its items beside it."""
    ci = ci_view(doc, WATCHLIST_SCHEMA)
    d = ci.value
    items = watchlist_items(ci)
    return Watchlist(
        alias=str(d.get("watchlistAlias")).strip(),
        display_name=str(d.get("displayName")).strip(),
        search_key=str(d.get("itemsSearchKey")).strip(),
        columns=items.columns,
        rows=items.rows,
        source=source_of(ci),
        items_path=items.path,
        version=d.get("version") or "1.0.0",
        description=str(d.get("description") or ""),
        provider=str(d.get("provider") or "sentinel-packer"),
        labels=tuple(str(v) for v in as_list(d.get("labels"))),
    )


def automation_rule_from(doc: YamlDocument | CiDocument) -> AutomationRule:
    """The CI view keeps scalars as text: the API's two typed members (isEnabled, the orders) are
    typed here; every other member of an automation rule is a string."""
    ci = ci_view(doc, AUTOMATION_RULE_SCHEMA)
    d = ci.value
    logic = dict(d.get("triggeringLogic") or {})
    logic["isEnabled"] = _bool(logic.get("isEnabled"), True)
    actions = [{**a, "order": int(str(a.get("order")).strip())} for a in d.get("actions") or [] if isinstance(a, dict)]
    return AutomationRule(
        id=str(d.get("id")).strip(),
        display_name=str(d.get("displayName")).strip(),
        order=int(str(d.get("order")).strip()),
        triggering_logic=MappingProxyType(logic),
        actions=tuple(MappingProxyType(a) for a in actions),
        source=source_of(ci),
        version=d.get("version") or "1.0.0",
        description=str(d.get("description") or ""),
    )


# --- the registry of content kinds ------------------------------------------------------------
# Validation, the model builders and plan's live-state reader loop over these. Order: the order a
# file outside a known folder is matched against the signatures (the most specific first).
KINDS: tuple[KindSpec, ...] = (
    KindSpec(ContentKind.PARSER, Parser, "parsers", parser_from, PARSER_SCHEMA, resource_ids.SAVED_SEARCHES,
             field="parsers", signature=("FunctionQuery", "FunctionName")),
    KindSpec(ContentKind.WORKBOOK, Workbook, "workbooks", workbook_from, WORKBOOK_SCHEMA, resource_ids.WORKBOOKS,
             field="workbooks", signature=("workbookKey",)),
    KindSpec(ContentKind.ANALYTIC_RULE, AnalyticRule, "analytic-rules", analytic_rule_from, RULE_SCHEMA,
             resource_ids.ALERT_RULES, field="analytic_rules",
             folder_aliases=("analytic rules", "analytic", "analytics", "detections"),
             signature=("kind", *SCHEDULED_ONLY)),
    KindSpec(ContentKind.WATCHLIST, Watchlist, "watchlists", watchlist_from, WATCHLIST_SCHEMA,
             resource_ids.WATCHLISTS, field="watchlists", signature=("watchlistAlias", "itemsSearchKey")),
    KindSpec(ContentKind.AUTOMATION_RULE, AutomationRule, "automation-rules", automation_rule_from,
             AUTOMATION_RULE_SCHEMA, resource_ids.AUTOMATION_RULES, field="automation_rules",
             folder_aliases=("automation rules",), signature=("triggeringLogic",)),
    KindSpec(ContentKind.HUNTING_QUERY, HuntingQuery, "hunting-queries", hunting_query_from, HUNTING_SCHEMA,
             resource_ids.SAVED_SEARCHES, field="hunting_queries", folder_aliases=("hunting queries", "hunting")),
)
BY_KIND: dict[ContentKind, KindSpec] = {spec.kind: spec for spec in KINDS}
FOLDERS: dict[str, ContentKind] = {spec.folder: spec.kind for spec in sorted(KINDS, key=lambda s: s.folder)}


def live_collections() -> tuple[resource_ids.Collection, ...]:
    """The collections the registered kinds live in, each once (parsers and hunting queries share one)."""
    return tuple(dict.fromkeys(spec.collection for spec in KINDS))


def load_content_unchecked(root: Path) -> ContentSet:
    """Build a ContentSet from a content folder WITHOUT validating it.

    For tests and internal tools only; user-facing commands go through validation first
    (`packer.validate`), which reports problems instead of failing on the first one.
    """
    solution = None
    items: dict[ContentKind, list] = {spec.kind: [] for spec in KINDS}
    for content_file in discover(root, layout=True):
        doc = load_yaml(content_file.path, root=root)
        if content_file.solution:
            solution = solution_from(doc)
        elif content_file.kind is not None:
            items[content_file.kind].append(BY_KIND[content_file.kind].builder(doc))
    return content_set(solution, items)


def content_set(solution: Solution | None, items: dict[ContentKind, list]) -> ContentSet:
    """A ContentSet from the items built per kind (each list in file order)."""
    return ContentSet(solution, **{spec.field: tuple(items.get(spec.kind, ())) for spec in KINDS})
