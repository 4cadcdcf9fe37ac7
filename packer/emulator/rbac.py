"""Optional Azure RBAC: built-in roles per calling tenant, enforced as ARM does, and the permissions API.

Off unless the config says `rbac: true` or a subscription lists `roles`. Role actions are the
parts of Microsoft's built-in role definitions ("Azure built-in roles" documentation) that touch
the resources the emulator serves; Lighthouse can delegate only built-in roles.
"""
from __future__ import annotations

from fnmatch import fnmatchcase

from packer.emulator.armerrors import ArmError
from packer.emulator.config import EmulatorConfig, SubscriptionConfig
from packer.emulator.routes import Route

_AUTHORIZATION_WRITES = ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
                         "Microsoft.Authorization/elevateAccess/Action"]
ROLES: dict[str, dict[str, list[str]]] = {
    "Owner": {"actions": ["*"], "notActions": []},
    "Contributor": {"actions": ["*"], "notActions": _AUTHORIZATION_WRITES},
    "Reader": {"actions": ["*/read"], "notActions": []},
    "Microsoft Sentinel Contributor": {"actions": [
        "Microsoft.SecurityInsights/*", "Microsoft.OperationalInsights/workspaces/analytics/query/action",
        "Microsoft.OperationalInsights/workspaces/*/read", "Microsoft.OperationalInsights/workspaces/savedSearches/*",
        "Microsoft.OperationsManagement/solutions/read", "Microsoft.OperationalInsights/workspaces/query/read",
        "Microsoft.OperationalInsights/workspaces/query/*/read", "Microsoft.OperationalInsights/workspaces/dataSources/read",
        "Microsoft.Insights/workbooks/*", "Microsoft.Insights/myworkbooks/read", "Microsoft.Authorization/*/read",
        "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read",
        "Microsoft.Support/*"], "notActions": []},
    "Microsoft Sentinel Reader": {"actions": [
        "Microsoft.SecurityInsights/*/read", "Microsoft.OperationalInsights/workspaces/analytics/query/action",
        "Microsoft.OperationalInsights/workspaces/*/read", "Microsoft.OperationalInsights/workspaces/LinkedServices/read",
        "Microsoft.OperationalInsights/workspaces/savedSearches/read", "Microsoft.Insights/workbooks/read",
        "Microsoft.Authorization/*/read", "Microsoft.Resources/subscriptions/resourceGroups/read"], "notActions": []},
    "Log Analytics Contributor": {"actions": [
        "*/read", "Microsoft.OperationalInsights/*", "Microsoft.OperationsManagement/*",
        "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourcegroups/deployments/*",
        "Microsoft.Support/*"], "notActions": []},
    "Log Analytics Reader": {"actions": ["*/read", "Microsoft.OperationalInsights/workspaces/analytics/query/action",
                                         "Microsoft.OperationalInsights/workspaces/search/action"],
                             "notActions": ["Microsoft.OperationalInsights/workspaces/sharedKeys/read"]},
    "Workbook Contributor": {"actions": [
        "Microsoft.Insights/workbooks/write", "Microsoft.Insights/workbooks/delete", "Microsoft.Insights/workbooks/read",
        "Microsoft.Insights/workbooks/revisions/read", "Microsoft.Insights/workbooktemplates/write",
        "Microsoft.Insights/workbooktemplates/delete", "Microsoft.Insights/workbooktemplates/read"], "notActions": []},
}
HOME_TENANT_ROLES = ("Contributor",)
DELEGATED_ROLES = ("Microsoft Sentinel Contributor", "Log Analytics Contributor", "Workbook Contributor")

_VERBS = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "POST": "action", "DELETE": "delete"}
_ACTION_PREFIX = {
    "savedSearches": "Microsoft.OperationalInsights/workspaces/savedSearches",
    "tables": "Microsoft.OperationalInsights/workspaces/tables",
    "workspaces": "Microsoft.OperationalInsights/workspaces",
    "workbooks": "Microsoft.Insights/workbooks",
    # Items are covered by the watchlist permissions (Microsoft Sentinel Contributor grants
    # Microsoft.SecurityInsights/*; a separate items action is not documented: inferred).
    "watchlistItems": "Microsoft.SecurityInsights/watchlists",
    "watchlistStatuses": "Microsoft.SecurityInsights/watchlists",
}


def enforced(config: EmulatorConfig, subscription: SubscriptionConfig) -> bool:
    return config.rbac or bool(subscription.roles)


def roles_of(subscription: SubscriptionConfig, tenant: str) -> tuple[str, ...]:
    configured = {t.lower(): r for t, r in subscription.roles.items()}
    if tenant in configured:
        return tuple(configured[tenant])
    if tenant == subscription.tenant.lower():
        return HOME_TENANT_ROLES
    return DELEGATED_ROLES


def permissions(subscription: SubscriptionConfig, tenant: str) -> list[dict]:
    """What `GET {scope}/providers/Microsoft.Authorization/permissions` answers: one entry per role."""
    return [{"actions": list(ROLES[r]["actions"]), "notActions": list(ROLES[r]["notActions"]),
             "dataActions": [], "notDataActions": []} for r in roles_of(subscription, tenant)]


def action(route: Route, method: str) -> str | None:
    """The RBAC action a request needs (None: reads of the subscription/group and of one's permissions)."""
    if route.kind is None or route.kind.name == "permissions":
        return None
    name = route.kind.name
    verb = _VERBS.get(method, "read")
    if name == "workspaces" and not route.name:
        verb = "read"
    prefix = _ACTION_PREFIX.get(name, f"Microsoft.SecurityInsights/{name}")
    return f"{prefix}/{verb}"


def allowed(wanted: str, entries: list[dict]) -> bool:
    wanted = wanted.lower()
    for entry in entries:
        grants = any(fnmatchcase(wanted, a.lower()) for a in entry["actions"])
        denies = any(fnmatchcase(wanted, a.lower()) for a in entry["notActions"])
        if grants and not denies:
            return True
    return False


def check(config: EmulatorConfig, subscription: SubscriptionConfig, route: Route, method: str, tenant: str,
          object_id: str, scope: str) -> None:
    if not enforced(config, subscription):
        return
    needed = action(route, method)
    if needed and not allowed(needed, permissions(subscription, tenant)):
        raise ArmError(403, "AuthorizationFailed",
                       f"The client '{object_id}' with object id '{object_id}' does not have authorization to "
                       f"perform action '{needed}' over scope '{scope}' or the scope is invalid. If access was "
                       "recently granted, please refresh your credentials.")
