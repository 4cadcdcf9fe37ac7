"""Overlays: per-tenant or per-workspace changes to the shared content, instead of forked rules.

An overlay is data (frozen dataclasses built from targets.yaml); `packer.overlay.apply`
turns a ContentSet plus an overlay into the ContentSet one workspace receives.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Mapping

from packer.content.model import ContentItem

ParameterValue = str | int | float | bool | tuple[str | int | float | bool, ...]


@dataclass(frozen=True)
class Selector:
    """Which items: every given field must match (globs, case-insensitive)."""

    id: str | None = None
    name: str | None = None
    file: str | None = None  # glob on the path, matched from the right
    kind: str | None = None  # ContentKind value
    line: int = 0  # where it is written in targets.yaml, for error messages

    def matches(self, item: ContentItem) -> bool:
        if self.kind is not None and item.content_kind.value != self.kind:
            return False
        if self.id is not None and not _glob(str(item.content_id), self.id):
            return False
        if self.name is not None and not _glob(item.name, self.name):
            return False
        if self.file is not None and not _file_matches(item.source.path, self.file):
            return False
        return True

    def describe(self) -> str:
        parts = [f"{key}={value!r}" for key, value in (("id", self.id), ("name", self.name), ("file", self.file), ("kind", self.kind)) if value is not None]
        return "{" + ", ".join(parts) + "}"


def _glob(text: str, pattern: str) -> bool:
    return fnmatchcase(text.lower(), pattern.lower())


def _file_matches(path, pattern: str) -> bool:
    posix = PurePosixPath(str(path).replace("\\", "/").lower())
    return posix.match(pattern.lower())


@dataclass(frozen=True)
class Override:
    select: Selector
    severity: str | None = None
    enabled: bool | None = None
    query_frequency: str | None = None
    query_period: str | None = None
    trigger_threshold: int | None = None  # Scheduled rules (0 to 10000, packer.content.field_rules)


@dataclass(frozen=True)
class Exclusion:
    """Rows whose `column` is one of `values` (case-insensitive) are filtered out of the query."""

    select: Selector
    column: str
    values: tuple[str, ...]
    reason: str = ""


@dataclass(frozen=True)
class WatchlistItemsFile:
    """This workspace's items for watchlist `alias`: a CSV (path resolved from targets.yaml's folder)."""

    alias: str
    path: Path
    line: int = 0


@dataclass(frozen=True)
class Overlay:
    disable: tuple[Selector, ...] = ()
    overrides: tuple[Override, ...] = ()
    parameters: Mapping[str, ParameterValue] = field(default_factory=lambda: MappingProxyType({}))
    exclusions: tuple[Exclusion, ...] = ()
    watchlists: tuple[WatchlistItemsFile, ...] = ()
    origin: str = ""  # which tenant/workspace entry wrote it, for messages

    @property
    def is_empty(self) -> bool:
        return not (self.disable or self.overrides or self.parameters or self.exclusions or self.watchlists)

    def then(self, later: "Overlay") -> "Overlay":
        """This overlay followed by a more specific one (a workspace after its tenant)."""
        return Overlay(
            disable=self.disable + later.disable,
            overrides=self.overrides + later.overrides,
            parameters=MappingProxyType({**self.parameters, **later.parameters}),
            exclusions=self.exclusions + later.exclusions,
            watchlists=tuple({w.alias.lower(): w for w in (*self.watchlists, *later.watchlists)}.values()),
            origin=" + ".join(o for o in (self.origin, later.origin) if o),
        )


EMPTY_OVERLAY = Overlay()
