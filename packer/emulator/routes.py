"""URL shapes the emulator serves, and the resource kinds behind them.

ARM paths are case-insensitive in their fixed segments; names keep the caller's case.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from packer.emulator import apiversions
from packer.emulator.config import workspace_resource_id


@dataclass(frozen=True)
class Kind:
    name: str                 # the collection segment, e.g. alertRules
    type_name: str            # `type` in responses
    api_versions: tuple[str, ...]
    scope: str                # "sentinel" (under a workspace, needs onboarding), "workspace", "group"
    writable: bool = True
    paged: bool = True        # list answers carry nextLink pages; else one {"value": [...]}


KINDS: dict[str, Kind] = {k.name.lower(): k for k in (
    Kind("alertRules", "Microsoft.SecurityInsights/alertRules", apiversions.served("alertRules"), "sentinel"),
    Kind("metadata", "Microsoft.SecurityInsights/metadata", apiversions.served("metadata"), "sentinel"),
    # `type` as the 2024-09-01 examples spell it (GetPackageById.json, GetTemplateById.json).
    Kind("contentPackages", "Microsoft.SecurityInsights/contentpackages", apiversions.served("contentPackages"),
         "sentinel"),
    Kind("contentTemplates", "Microsoft.SecurityInsights/contenttemplates", apiversions.served("contentTemplates"),
         "sentinel"),
    Kind("contentProductPackages", "Microsoft.SecurityInsights/contentproductpackages",
         apiversions.served("contentProductPackages"), "sentinel", writable=False),
    Kind("contentProductTemplates", "Microsoft.SecurityInsights/contentproducttemplates",
         apiversions.served("contentProductTemplates"), "sentinel", writable=False),
    Kind("automationRules", "Microsoft.SecurityInsights/automationRules", apiversions.served("automationRules"),
         "sentinel"),
    # `type` as the 2024-09-01 examples spell it (GetWatchlists.json, GetWatchlistItems.json).
    Kind("watchlists", "Microsoft.SecurityInsights/Watchlists", apiversions.served("watchlists"), "sentinel"),
    Kind("watchlistItems", "Microsoft.SecurityInsights/Watchlists/WatchlistItems", apiversions.served("watchlistItems"),
         "watchlist"),
    # The status of a watchlist upload (watchlists.py); `type` as in pulumi/pulumi-azure-native#4816.
    Kind("watchlistStatuses", "Microsoft.SecurityInsights/Watchlists/WatchlistStatuses",
         apiversions.served("watchlistStatuses"), "watchlist", writable=False, paged=False),
    Kind("onboardingStates", "Microsoft.SecurityInsights/onboardingStates", apiversions.served("onboardingStates"),
         "onboarding", paged=False),
    Kind("savedSearches", "Microsoft.OperationalInsights/workspaces/savedSearches",
         apiversions.served("savedSearches"), "workspace", paged=False),
    Kind("tables", "Microsoft.OperationalInsights/workspaces/tables", apiversions.served("tables"), "workspace",
         writable=False, paged=False),
    Kind("workbooks", "Microsoft.Insights/workbooks", apiversions.served("workbooks"), "group"),
    Kind("workspaces", "Microsoft.OperationalInsights/workspaces", apiversions.served("workspaces"), "self",
         writable=False, paged=False),
    Kind("operationStatuses", "Microsoft.OperationalInsights/locations/operationStatuses",
         apiversions.served("tables"), "any", writable=False, paged=False),
    Kind("permissions", "Microsoft.Authorization/permissions", apiversions.served("permissions"),
         "any", writable=False, paged=False),
)}


@dataclass(frozen=True)
class Route:
    kind: Kind | None         # None for subscription / resource group reads
    subscription: str
    resource_group: str | None = None
    workspace: str | None = None
    name: str | None = None   # None: the collection
    target: str = ""          # "subscription" / "resourceGroup" for the non-kind reads
    parent: str | None = None  # the watchlist alias, for watchlistItems

    @property
    def workspace_id(self) -> str:
        return workspace_resource_id(self.subscription, self.resource_group, self.workspace)

    @property
    def collection_id(self) -> str:
        kind = self.kind.name
        if self.kind.scope in ("sentinel", "onboarding"):
            return f"{self.workspace_id}/providers/Microsoft.SecurityInsights/{kind}"
        if self.kind.scope == "watchlist":
            return f"{self.workspace_id}/providers/Microsoft.SecurityInsights/watchlists/{self.parent}/{kind}"
        if self.kind.scope == "workspace":
            return f"{self.workspace_id}/{kind}"
        if kind == "workbooks":  # the Workbooks RP answers with a lower-cased id (WorkbookAdd example, 2022-04-01)
            return f"/subscriptions/{self.subscription}/resourcegroups/{self.resource_group}/providers/microsoft.insights/workbooks"
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}/providers/Microsoft.OperationalInsights/workspaces"

    @property
    def resource_id(self) -> str:
        return f"{self.collection_id}/{self.name}"


class UnknownRoute(Exception):
    def __init__(self, namespace: str = "", resource_type: str = ""):
        self.namespace = namespace
        self.resource_type = resource_type


_SEG = r"([^/]+)"
_WS = rf"/subscriptions/{_SEG}/resourcegroups/{_SEG}/providers/microsoft\.operationalinsights/workspaces/{_SEG}"
_PATTERNS: list[tuple[re.Pattern, str]] = [
    (re.compile(rf"^/subscriptions/{_SEG}(/.*)?/providers/microsoft\.authorization/permissions/?$", re.I), "permissions"),
    (re.compile(rf"^{_WS}/providers/microsoft\.securityinsights/watchlists/{_SEG}/watchlistitems(?:/{_SEG})?/?$", re.I),
     "watchlist-items"),
    (re.compile(rf"^{_WS}/providers/microsoft\.securityinsights/watchlists/{_SEG}/watchliststatuses/{_SEG}/?$", re.I),
     "watchlist-status"),
    (re.compile(rf"^{_WS}/providers/microsoft\.securityinsights/{_SEG}(?:/{_SEG})?/?$", re.I), "sentinel"),
    (re.compile(rf"^{_WS}/{_SEG}(?:/{_SEG})?/?$", re.I), "workspace-child"),
    (re.compile(rf"^{_WS}/?$", re.I), "workspace"),
    (re.compile(rf"^/subscriptions/{_SEG}/resourcegroups/{_SEG}/providers/microsoft\.insights/workbooks(?:/{_SEG})?/?$",
                re.I), "workbooks"),
    (re.compile(rf"^/subscriptions/{_SEG}/providers/microsoft\.insights/workbooks/?$", re.I), "workbooks-list"),
    (re.compile(rf"^/subscriptions/{_SEG}/providers/microsoft\.operationalinsights/locations/{_SEG}/operationstatuses/{_SEG}/?$",
                re.I), "operation"),
    (re.compile(rf"^/subscriptions/{_SEG}(?:/resourcegroups/{_SEG})?/providers/microsoft\.operationalinsights/workspaces/?$",
                re.I), "workspace-list"),
    (re.compile(rf"^/subscriptions/{_SEG}/resourcegroups/{_SEG}/?$", re.I), "resource-group"),
    (re.compile(rf"^/subscriptions/{_SEG}/?$", re.I), "subscription"),
]


def _names(match: re.Match) -> list[str | None]:
    return [unquote(g) if g is not None else None for g in match.groups()]


def resolve(path: str) -> Route:
    """The route for a request path (no query). Raises UnknownRoute for anything else."""
    for pattern, shape in _PATTERNS:
        match = pattern.match(path)
        if not match:
            continue
        parts = _names(match)
        if shape == "permissions":
            return Route(KINDS["permissions"], parts[0], target=f"/subscriptions/{parts[0]}{parts[1] or ''}")
        if shape == "sentinel":
            sub, rg, ws, collection, name = parts
            kind = KINDS.get(collection.lower())
            if kind is None or kind.scope not in ("sentinel", "onboarding"):
                raise UnknownRoute("Microsoft.SecurityInsights", collection)
            return Route(kind, sub, rg, ws, name)
        if shape == "watchlist-items":
            sub, rg, ws, alias, name = parts
            return Route(KINDS["watchlistitems"], sub, rg, ws, name, parent=alias)
        if shape == "watchlist-status":
            sub, rg, ws, alias, name = parts
            return Route(KINDS["watchliststatuses"], sub, rg, ws, name, parent=alias)
        if shape == "workspace-child":
            sub, rg, ws, collection, name = parts
            kind = KINDS.get(collection.lower())
            if kind is None or kind.scope != "workspace":
                raise UnknownRoute("Microsoft.OperationalInsights", f"workspaces/{collection}")
            return Route(kind, sub, rg, ws, name)
        if shape == "workspace":
            sub, rg, ws = parts
            return Route(KINDS["workspaces"], sub, rg, ws, ws)
        if shape == "workbooks":
            sub, rg, name = parts
            return Route(KINDS["workbooks"], sub, rg, None, name)
        if shape == "operation":
            return Route(KINDS["operationstatuses"], parts[0], name=parts[2], target=parts[1])
        if shape == "workbooks-list":
            return Route(KINDS["workbooks"], parts[0])
        if shape == "workspace-list":
            sub, rg = parts
            return Route(KINDS["workspaces"], sub, rg, None, None)
        if shape == "resource-group":
            return Route(None, parts[0], parts[1], target="resourceGroup")
        return Route(None, parts[0], target="subscription")
    raise UnknownRoute()


def describe_id(resource_id: str) -> Route | None:
    try:
        route = resolve(resource_id)
    except UnknownRoute:
        return None
    return route if route.kind is not None and route.name else None
