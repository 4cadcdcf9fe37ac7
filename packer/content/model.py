"""The content model: one frozen dataclass per content kind.

Items are built from files by `packer.content.load` after validation; every item remembers
its source file and the position of each of its fields (`item.source.line_of("query")`).
Field names follow Python style; the YAML spelling is in `packer.content.load`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

from packer.content.yamlsource import FieldPath, Position, YamlDocument
from packer.resource_ids import Collection


class ContentKind(StrEnum):
    """Values are Sentinel's metadata `kind` names."""

    ANALYTIC_RULE = "AnalyticsRule"
    HUNTING_QUERY = "HuntingQuery"
    WORKBOOK = "Workbook"
    PARSER = "Parser"
    WATCHLIST = "Watchlist"
    AUTOMATION_RULE = "AutomationRule"


# Deployed to workspaces, not carried by the Content Hub package (docs/content-format.md).
UNPACKAGED_KINDS = frozenset({ContentKind.WATCHLIST, ContentKind.AUTOMATION_RULE})


class RuleKind(StrEnum):
    SCHEDULED = "Scheduled"
    NRT = "NRT"


@dataclass(frozen=True)
class SourceInfo:
    """Where an item came from: its file and the position of each field (by path)."""

    path: Path
    positions: Mapping[FieldPath, Position] = field(default_factory=lambda: MappingProxyType({}))

    def position_of(self, *path: str | int) -> Position:
        key: FieldPath = tuple(path)
        while key:
            if key in self.positions:
                return self.positions[key]
            key = key[:-1]
        return Position(1, 1)

    def line_of(self, *path: str | int) -> int:
        return self.position_of(*path).line


@dataclass(frozen=True)
class DataConnectorRef:
    connector_id: str
    data_types: tuple[str, ...]


@dataclass(frozen=True)
class FieldMapping:
    identifier: str
    column_name: str


@dataclass(frozen=True)
class EntityMapping:
    entity_type: str
    field_mappings: tuple[FieldMapping, ...]


@dataclass(frozen=True)
class AlertDetailsOverride:
    display_name_format: str | None = None
    description_format: str | None = None
    tactics_column_name: str | None = None
    severity_column_name: str | None = None
    dynamic_properties: tuple[tuple[str, str], ...] = ()  # (alertProperty, value)


@dataclass(frozen=True)
class GroupingConfiguration:
    enabled: bool = False
    reopen_closed_incident: bool = False
    lookback_duration: str = "PT5H"  # ISO 8601, as the API wants it
    matching_method: str = "AllEntities"
    group_by_entities: tuple[str, ...] = ()
    group_by_alert_details: tuple[str, ...] = ()
    group_by_custom_details: tuple[str, ...] = ()


@dataclass(frozen=True)
class IncidentConfiguration:
    create_incident: bool = True
    grouping: GroupingConfiguration | None = None


@dataclass(frozen=True)
class FalsePositive:
    """Triage guidance: a benign scenario and how to filter it. Documentation only."""

    scenario: str
    filter: str = ""
    description: str = ""  # why the scenario looks like the attack


@dataclass(frozen=True)
class AnalyticRule:
    id: str
    name: str
    description: str
    kind: RuleKind
    severity: str
    query: str
    version: str
    source: SourceInfo
    required_data_connectors: tuple[DataConnectorRef, ...] = ()
    query_frequency: str | None = None  # short form as written: 5m, 1h, 1d (Scheduled only)
    query_period: str | None = None
    trigger_operator: str | None = None  # gt | lt | eq | ne
    trigger_threshold: int | None = None
    tactics: tuple[str, ...] = ()  # canonical Sentinel spelling
    relevant_techniques: tuple[str, ...] = ()
    entity_mappings: tuple[EntityMapping, ...] = ()
    custom_details: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    alert_details_override: AlertDetailsOverride | None = None
    event_grouping_aggregation: str | None = None  # SingleAlert | AlertPerResult
    incident_configuration: IncidentConfiguration | None = None
    suppression_duration: str | None = None
    suppression_enabled: bool = False
    sentinel_entities_mappings: tuple[str, ...] = ()  # column names
    status: str | None = None
    enabled: bool = True
    false_positives: tuple[FalsePositive, ...] = ()
    # The template the active rule links to (alertRuleTemplateName): None = its own id, the
    # template this content's package installs; "" = no template (a rule made from scratch);
    # another id = a template outside this content (a rule adopted from a workspace: export).
    alert_rule_template: str | None = None
    # `techniques` as the active rule holds them, when they are not relevantTechniques' split (an
    # exported rule made from a template the packager wrote one entry per sub-technique in)
    techniques: tuple[str, ...] = ()

    content_kind = ContentKind.ANALYTIC_RULE

    @property
    def content_id(self) -> str:
        return self.id


@dataclass(frozen=True)
class HuntingQuery:
    id: str
    name: str
    description: str
    query: str
    source: SourceInfo
    version: str = "1.0.0"
    required_data_connectors: tuple[DataConnectorRef, ...] = ()
    tactics: tuple[str, ...] = ()
    relevant_techniques: tuple[str, ...] = ()
    entity_mappings: tuple[EntityMapping, ...] = ()
    false_positives: tuple[FalsePositive, ...] = ()

    content_kind = ContentKind.HUNTING_QUERY

    @property
    def content_id(self) -> str:
        return self.id


@dataclass(frozen=True)
class Parser:
    """A KQL function saved in the workspace (Microsoft's parser YAML format)."""

    id: str
    title: str
    function_name: str
    function_alias: str
    query: str
    version: str
    source: SourceInfo
    category: str = "Microsoft Sentinel Parser"
    last_updated: str | None = None
    function_parameters: str | None = None  # "name:type = default, ..."

    content_kind = ContentKind.PARSER

    @property
    def name(self) -> str:
        return self.function_alias

    @property
    def content_id(self) -> str:
        return self.id


@dataclass(frozen=True)
class Workbook:
    """A workbook: its gallery JSON (serializedData) plus the metadata Content Hub shows."""

    key: str  # workbookKey: stable, unique, used for content ids
    title: str
    description: str
    version: str
    serialized_data: str  # the workbook JSON, as text
    source: SourceInfo  # the metadata file
    template_path: Path  # the workbook JSON file
    id: str | None = None  # optional fixed GUID for the workbook resource name
    subtitle: str = ""
    provider: str = ""
    logo_file_name: str | None = None
    data_types: tuple[str, ...] = ()
    data_connectors: tuple[str, ...] = ()
    preview_images: tuple[str, ...] = ()
    resource_name: str | None = None  # the workbook's name in Azure, pinned (an exported workbook)
    # the description its metadata resource carries when it differs from `description`
    # (Microsoft's packager writes a PowerShell dump there: ms_input.powershell_text)
    metadata_description: str | None = None

    content_kind = ContentKind.WORKBOOK

    @property
    def name(self) -> str:
        return self.title

    @property
    def content_id(self) -> str:
        return self.key


@dataclass(frozen=True)
class Support:
    tier: str
    name: str | None = None
    email: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class Author:
    name: str
    email: str | None = None


@dataclass(frozen=True)
class Solution:
    """The solution (Content Hub package) metadata, from `content/solution.yaml`."""

    name: str
    publisher_id: str
    offer_id: str
    version: str
    description: str
    author: Author
    support: Support
    source: SourceInfo
    first_publish_date: str | None = None
    last_publish_date: str | None = None
    logo: str | None = None  # an HTML <img> tag, as in Microsoft's data files
    providers: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    verticals: tuple[str, ...] = ()
    dependent_solution_ids: tuple[str, ...] = ()

    @property
    def content_id(self) -> str:
        return f"{self.publisher_id}.{self.offer_id}"


@dataclass(frozen=True)
class WatchlistRow:
    """One CSV row: its values by column (header order), and the CSV line it was read from."""

    values: Mapping[str, str]
    line: int = 0


@dataclass(frozen=True)
class Watchlist:
    """A watchlist (`watchlists/<name>.yaml`) and its items (a CSV beside it, or an overlay's).

    Items are identified by the value of `search_key` (the column Sentinel indexes): the plan
    diffs them row by row (packer.plan.watchlists)."""

    alias: str
    display_name: str
    search_key: str
    columns: tuple[str, ...]
    rows: tuple[WatchlistRow, ...]
    source: SourceInfo
    items_path: Path
    version: str = "1.0.0"
    description: str = ""
    provider: str = "sentinel-packer"
    labels: tuple[str, ...] = ()

    content_kind = ContentKind.WATCHLIST

    @property
    def name(self) -> str:
        return self.display_name

    @property
    def content_id(self) -> str:
        return self.alias

    @property
    def id(self) -> str:
        return self.alias


@dataclass(frozen=True)
class AutomationRule:
    """An automation rule (`automation-rules/<name>.yaml`): the API's properties as written
    (triggeringLogic and actions are kept as plain JSON, the shape AutomationRules.json defines);
    a bare analytic-rule GUID in an IncidentRelatedAnalyticRuleIds/AlertAnalyticRuleIds condition
    is made the target workspace's rule id when rendered (packer.bodies.automation)."""

    id: str
    display_name: str
    order: int
    triggering_logic: Mapping[str, Any]
    actions: tuple[Mapping[str, Any], ...]
    source: SourceInfo
    version: str = "1.0.0"
    description: str = ""

    content_kind = ContentKind.AUTOMATION_RULE

    @property
    def name(self) -> str:
        return self.display_name

    @property
    def content_id(self) -> str:
        return self.id


PackagedItem = AnalyticRule | HuntingQuery | Parser | Workbook  # what the Content Hub package carries
ContentItem = PackagedItem | Watchlist | AutomationRule  # what a workspace receives


@dataclass(frozen=True)
class KindSpec:
    """Everything the stages need to know about one content kind, declared once (the registry is
    `packer.content.load.KINDS`): validation, the model builder and the live-state reader loop
    over the registered kinds instead of naming each one."""

    kind: ContentKind
    model: type  # its dataclass above
    folder: str  # its folder in a content root (README "Content layout")
    builder: Callable[[YamlDocument], Any]  # a validated document -> the model
    schema: str  # packer/schemas/<schema>.schema.json; also the kind's name in validation
    collection: Collection  # the ARM collection its resources live in (read back by plan)
    field: str  # the ContentSet attribute holding its items
    folder_aliases: tuple[str, ...] = ()  # other folder names that hold it (e.g. an Azure-Sentinel checkout)
    signature: tuple[str, ...] = ()  # keys only this kind has: a file outside a known folder is this kind


@dataclass(frozen=True)
class QueryFacts:
    """What validation's KQL pass learned about one query, kept so nothing analyses it again:
    the workspace tables it reads (through the content's parsers too, known to the table
    schemas or not), by table the columns it reads by name, the parsers it calls, and the
    columns of its result."""

    tables: frozenset[str]
    columns: Mapping[str, frozenset[str]]
    functions: frozenset[str] = frozenset()
    output_columns: tuple[str, ...] = ()


def facts_key(query: str, parsers: tuple["Parser", ...]) -> tuple:
    """A query's facts hold for its text with the same parsers in scope (an overlay may change a
    parser in one workspace: its queries are then analysed again, by the plan)."""
    return query, frozenset((p.function_alias.lower(), p.function_name.lower(), p.query) for p in parsers)


@dataclass(frozen=True)
class ContentSet:
    """Everything under a content folder, in a stable order (by kind, then path)."""

    solution: Solution | None
    analytic_rules: tuple[AnalyticRule, ...] = ()
    hunting_queries: tuple[HuntingQuery, ...] = ()
    parsers: tuple[Parser, ...] = ()
    workbooks: tuple[Workbook, ...] = ()
    watchlists: tuple[Watchlist, ...] = ()
    automation_rules: tuple[AutomationRule, ...] = ()
    # facts_key(query, parsers) -> QueryFacts, from validation's KQL pass (empty without one)
    query_facts: Mapping[tuple, QueryFacts] = field(default_factory=dict, compare=False, repr=False)

    @property
    def items(self) -> tuple[ContentItem, ...]:
        """Everything a workspace receives: the packaged items, then watchlists and automation rules."""
        return (*self.packaged, *self.watchlists, *self.automation_rules)

    @property
    def packaged(self) -> tuple[PackagedItem, ...]:
        """The items the Content Hub package carries (watchlists and automation rules are
        deployed to workspaces but not packaged: docs/content-format.md)."""
        return (*self.parsers, *self.analytic_rules, *self.hunting_queries, *self.workbooks)

    def facts(self, query: str) -> QueryFacts | None:
        """What validation learned about `query` with this set's parsers, or None (not analysed)."""
        return self.query_facts.get(facts_key(query, self.parsers)) if self.query_facts else None
