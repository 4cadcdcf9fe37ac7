"""Azure resource ids: the one place that spells them (targets, API bodies and the client use it).

Every id this tool reads or writes hangs off a workspace: Sentinel items under
`<workspace>/providers/Microsoft.SecurityInsights/<collection>/<name>`, saved searches (hunting
queries, parsers) and tables under the workspace itself, and workbooks beside it in the
resource group. `ResourceRole` says what a write is for, so nothing has to guess it from a URL.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

WORKSPACE_PROVIDER = "Microsoft.OperationalInsights/workspaces"
SENTINEL_PROVIDER = "Microsoft.SecurityInsights"
WORKBOOK_PROVIDER = "Microsoft.Insights/workbooks"


class ResourceRole(StrEnum):
    """What one write in a plan touches: the content item's own resource or its ownership metadata."""

    RESOURCE = "resource"
    METADATA = "metadata"


def resource_group_id(subscription_id: str, resource_group: str) -> str:
    return f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"


def workspace_id(subscription_id: str, resource_group: str, workspace: str) -> str:
    return f"{resource_group_id(subscription_id, resource_group)}/providers/{WORKSPACE_PROVIDER}/{workspace}"


def sentinel_collection(workspace: str, name: str) -> str:
    """`alertRules`, `metadata`, `onboardingStates`... of the workspace whose id is `workspace`."""
    return f"{workspace}/providers/{SENTINEL_PROVIDER}/{name}"


def alert_rule_id(workspace: str, rule_id: str) -> str:
    return f"{sentinel_collection(workspace, 'alertRules')}/{rule_id}"


def automation_rule_id(workspace: str, rule_id: str) -> str:
    return f"{sentinel_collection(workspace, 'automationRules')}/{rule_id}"


def watchlist_id(workspace: str, alias: str) -> str:
    return f"{sentinel_collection(workspace, 'watchlists')}/{alias}"


def watchlist_items_collection(watchlist: str) -> str:
    """The items of the watchlist whose id is `watchlist` (Watchlists.json: .../watchlistItems)."""
    return f"{watchlist}/watchlistItems"


def watchlist_item_id(watchlist: str, item_id: str) -> str:
    return f"{watchlist_items_collection(watchlist)}/{item_id}"


def metadata_id(workspace: str, name: str) -> str:
    return f"{sentinel_collection(workspace, 'metadata')}/{name}"


def saved_searches_collection(workspace: str) -> str:
    return f"{workspace}/savedSearches"


def saved_search_id(workspace: str, name: str) -> str:
    return f"{saved_searches_collection(workspace)}/{name}"


def tables_collection(workspace: str) -> str:
    return f"{workspace}/tables"


def workbooks_collection(resource_group: str) -> str:
    """Workbooks of the resource group whose id is `resource_group` (not of one workspace)."""
    return f"{resource_group}/providers/{WORKBOOK_PROVIDER}"


def workbook_id(resource_group: str, name: str) -> str:
    return f"{workbooks_collection(resource_group)}/{name}"


class Scope(StrEnum):
    """Where a collection hangs: `<workspace>/providers/Microsoft.SecurityInsights/<name>`,
    `<workspace>/<name>`, or `<resource group>/providers/<type>`."""

    SENTINEL = "sentinel"
    WORKSPACE = "workspace"
    RESOURCE_GROUP = "resource group"


@dataclass(frozen=True)
class Collection:
    """An ARM collection a workspace's content is listed from, declared once: its resource type,
    where it hangs, and the fixed parameters of its list call."""

    resource_type: str  # e.g. Microsoft.SecurityInsights/alertRules
    scope: Scope
    query: tuple[tuple[str, str], ...] = ()
    workspace_filter: str | None = None  # a list parameter that takes the workspace id (workbooks: sourceId)

    @property
    def name(self) -> str:
        """The collection segment of its ids: alertRules, savedSearches, workbooks..."""
        return self.resource_type.rsplit("/", 1)[-1]

    def collection_id(self, workspace: str, resource_group: str) -> str:
        """The collection's id for the workspace `workspace` in the resource group `resource_group`."""
        if self.scope is Scope.SENTINEL:
            return sentinel_collection(workspace, self.name)
        if self.scope is Scope.WORKSPACE:
            return f"{workspace}/{self.name}"
        return f"{resource_group}/providers/{self.resource_type}"

    def item_id(self, workspace: str, resource_group: str, name: str) -> str:
        return f"{self.collection_id(workspace, resource_group)}/{name}"

    def list_params(self, workspace: str) -> dict[str, str]:
        params = dict(self.query)
        if self.workspace_filter:
            params[self.workspace_filter] = workspace
        return params


ALERT_RULES = Collection(f"{SENTINEL_PROVIDER}/alertRules", Scope.SENTINEL)
METADATA = Collection(f"{SENTINEL_PROVIDER}/metadata", Scope.SENTINEL)
CONTENT_PACKAGES = Collection(f"{SENTINEL_PROVIDER}/contentPackages", Scope.SENTINEL)
# A template's `mainTemplate` is only listed when expanded (ContentTemplates.json, "Expandable properties").
CONTENT_TEMPLATES = Collection(f"{SENTINEL_PROVIDER}/contentTemplates", Scope.SENTINEL,
                               query=(("$expand", "properties/mainTemplate"),))
SAVED_SEARCHES = Collection(f"{WORKSPACE_PROVIDER}/savedSearches", Scope.WORKSPACE)
TABLES = Collection(f"{WORKSPACE_PROVIDER}/tables", Scope.WORKSPACE)
AUTOMATION_RULES = Collection(f"{SENTINEL_PROVIDER}/automationRules", Scope.SENTINEL)
# Watchlists are listed without their items (Watchlists_List); a watchlist's items are listed
# from watchlist_items_collection(its id).
WATCHLISTS = Collection(f"{SENTINEL_PROVIDER}/watchlists", Scope.SENTINEL)
# Only the Sentinel workbooks linked to this workspace (the resource group may hold others).
WORKBOOKS = Collection(WORKBOOK_PROVIDER, Scope.RESOURCE_GROUP,
                       query=(("category", "sentinel"), ("canFetchContent", "true")), workspace_filter="sourceId")


def permissions_collection(scope: str) -> str:
    """What the caller may do at `scope` (Microsoft.Authorization/permissions)."""
    return f"{scope}/providers/Microsoft.Authorization/permissions"


def role_of(resource_id: str) -> ResourceRole:
    """METADATA for an id in a workspace's Sentinel metadata collection, else RESOURCE."""
    segments = [s.lower() for s in resource_id.strip("/").split("/")]
    metadata = len(segments) >= 4 and segments[-4:-1] == ["providers", SENTINEL_PROVIDER.lower(), "metadata"]
    return ResourceRole.METADATA if metadata else ResourceRole.RESOURCE


def name_of(resource_id: str) -> str:
    """The last segment of an id: the resource's own name."""
    return resource_id.rsplit("/", 1)[-1]
