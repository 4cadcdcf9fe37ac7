"""What a package is built from: the solution, its items in processing order, and extras.

Both input formats end here: our content folder (`from_content_set`) and Microsoft's
`Data/Solution_X.json` folder (`packer.package.ms_input`). Item numbering (analyticRuleObject1,
workbook2-name, ...) follows the order of `entries`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from packer.content.model import (AnalyticRule, AutomationRule, ContentSet, HuntingQuery, Parser, Solution,
                                  Watchlist, Workbook)
from packer.errors import PackerError

STATIC_UI = "StaticUI"
GENERIC_UI = "GenericUI"


@dataclass(frozen=True)
class DataConnector:
    """A GenericUI/StaticUI data connector definition (Microsoft's connector JSON, key order kept)."""

    id: str
    kind: str  # GenericUI | StaticUI
    definition: Mapping[str, Any]  # the connector JSON as read
    path: Path

    @property
    def title(self) -> str:
        return str(self.definition.get("title", self.id))

    @property
    def version(self) -> str:
        metadata = self.definition.get("metadata")
        return str((metadata.get("version") if isinstance(metadata, dict) else None) or "1.0.0")

    @property
    def data_type_names(self) -> list[str]:
        data_types = self.definition.get("dataTypes")
        return [str(t.get("name", "")) for t in data_types if isinstance(t, dict)] if isinstance(data_types, list) else []


@dataclass(frozen=True)
class CcpConnector:
    """A codeless (CCP) data connector: its definition and the poller, DCR and table resources
    the packager finds for it in the solution's `Data Connectors` folder (JSON as read)."""

    definition: Mapping[str, Any]  # the Microsoft.SecurityInsights/dataConnectorDefinitions resource
    pollers: tuple[Mapping[str, Any], ...]  # Microsoft.SecurityInsights/dataConnectors resources
    dcrs: tuple[Mapping[str, Any], ...]  # Microsoft.Insights/dataCollectionRules resources
    tables: tuple[Mapping[str, Any], ...]  # Microsoft.OperationalInsights/workspaces/tables resources
    path: Path

    @property
    def ui_config(self) -> Mapping[str, Any]:
        properties = self.definition.get("properties")
        config = properties.get("connectorUiConfig") if isinstance(properties, dict) else None
        return config if isinstance(config, dict) else {}

    @property
    def id(self) -> str:
        return str(self.ui_config.get("id", ""))

    @property
    def title(self) -> str:
        return str(self.ui_config.get("title", self.id))


Entry = AnalyticRule | HuntingQuery | Parser | Workbook | DataConnector | CcpConnector


@dataclass(frozen=True)
class PackageInput:
    solution: Solution
    entries: tuple[Entry, ...]
    blade_descriptions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    skipped: tuple[str, ...] = ()  # "<kind> <path>: <reason>", reported by the build
    parser_descriptions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    release_notes_url: str | None = None  # linked from the Content Hub description when set
    # Microsoft-format input: each analytic rule's YAML mapping as written (by source path), whose
    # objects the packager copies into the package instead of our normalised rendering.
    rules_as_written: Mapping[Path, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    # Microsoft-format input: how many entries come before the data file's `Metadata` key; the
    # solution's dependencies list only their criteria (None: all of them).
    entries_before_metadata: int | None = None
    # Watchlists and automation rules: deployed by plan/apply and rendered as standalone ARM
    # templates, not packaged (Microsoft's packager has no automation-rule content; see
    # docs/content-format.md for why watchlists stay out of the package too).
    standalone_only: tuple[Watchlist | AutomationRule, ...] = ()
    # Microsoft-format input: False when the data file lists its connectors under `DataConnectors`
    # (no space); the packager then never writes the connectors' parser text and link.
    connector_link: bool = True

    def of_type(self, cls: type) -> list:
        return [e for e in self.entries if isinstance(e, cls)]


def from_content_set(content: ContentSet) -> PackageInput:
    """Our content folder: parsers, analytic rules, hunting queries, workbooks (ContentSet order)."""
    if content.solution is None:
        raise PackerError(
            "the content folder has no solution.yaml; a package needs the solution's name, "
            "publisherId, offerId and version (see README 'Content layout')"
        )
    return PackageInput(solution=content.solution, entries=tuple(content.packaged),
                        standalone_only=(*content.watchlists, *content.automation_rules))
