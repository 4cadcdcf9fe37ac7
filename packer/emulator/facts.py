"""What a query may reference in a workspace: its tables (with columns) and its saved functions."""
from __future__ import annotations

from dataclasses import dataclass

from packer.emulator.config import EmulatorConfig, TableConfig
from packer.emulator.routes import Route
from packer.emulator.store import ResourceStore
from packer.emulator.tables import created_tables

_CHECKED = ("alertRules", "savedSearches")  # the kinds whose PUT compiles a query


@dataclass(frozen=True)
class SavedFunction:
    alias: str
    parameters: str  # as the saved search states them, without parentheses
    body: str


@dataclass(frozen=True)
class WorkspaceFacts:
    tables: frozenset[str]
    functions: frozenset[str]
    schemas: tuple[TableConfig, ...] = ()
    saved_functions: tuple[SavedFunction, ...] = ()

    @classmethod
    def of(cls, config: EmulatorConfig, store: ResourceStore, route: Route) -> "WorkspaceFacts | None":
        """The facts a PUT at `route` is checked against; None where nothing is (only queries are).
        Reads the workspace's own savedSearches collection, nothing else the store holds."""
        if not route.workspace or route.kind is None or route.kind.name not in _CHECKED:
            return None
        ws = config.workspace(route.subscription, route.resource_group, route.workspace)
        if ws is None:
            return None
        saved, aliases = [], set()
        for search in store.iter_under(f"{ws.resource_id}/savedSearches"):
            props = search.get("properties") or {}
            alias, body = props.get("functionAlias"), props.get("query")
            if not alias or str(search.get("name", "")).lower() == (route.name or "").lower():
                continue
            aliases.add(str(alias))
            if isinstance(body, str):
                saved.append(SavedFunction(str(alias), str(props.get("functionParameters") or ""), body))
        schemas = ws.tables + created_tables(store, ws)
        return cls(frozenset(t.name for t in schemas), frozenset(aliases), schemas, tuple(saved))
