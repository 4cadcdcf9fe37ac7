"""What a rule query may reference in a workspace: its tables and its saved functions."""
from __future__ import annotations

from dataclasses import dataclass

from packer.emulator.config import EmulatorConfig
from packer.emulator.routes import Route
from packer.emulator.store import ResourceStore


@dataclass(frozen=True)
class WorkspaceFacts:
    tables: frozenset[str]
    functions: frozenset[str]

    @classmethod
    def of(cls, config: EmulatorConfig, store: ResourceStore, route: Route) -> "WorkspaceFacts | None":
        """The facts a PUT at `route` is checked against; None where nothing is (only rule queries are).
        Reads the workspace's own savedSearches collection, nothing else the store holds."""
        if not route.workspace or route.kind is None or route.kind.name != "alertRules":
            return None
        ws = config.workspace(route.subscription, route.resource_group, route.workspace)
        if ws is None:
            return None
        functions = set()
        for saved in store.iter_under(f"{ws.resource_id}/savedSearches"):
            alias = (saved.get("properties") or {}).get("functionAlias")
            if alias:
                functions.add(alias)
        return cls(frozenset(t.name for t in ws.tables), frozenset(functions))
