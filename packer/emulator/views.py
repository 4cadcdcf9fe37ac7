"""Read-only resources computed from the config: subscriptions, resource groups, workspaces, tables."""
from __future__ import annotations

from packer.emulator.armerrors import ArmError, resource_group_not_found, resource_not_found, subscription_not_found
from packer.emulator.config import EmulatorConfig, TableConfig, WorkspaceConfig
from packer.emulator.routes import Route


def subscription_or_group(config: EmulatorConfig, route: Route) -> dict:
    sub = config.subscription(route.subscription)
    if sub is None:
        raise subscription_not_found(route.subscription)
    if route.target == "subscription":
        return {"id": f"/subscriptions/{sub.id}", "subscriptionId": sub.id, "tenantId": sub.tenant,
                "displayName": sub.display_name or f"Subscription {sub.id[:8]}", "state": "Enabled",
                "authorizationSource": "RoleBased"}
    workspaces = [w for w in config.workspaces if w.subscription == sub.id
                  and w.resource_group.lower() == route.resource_group.lower()]
    if not workspaces:
        raise resource_group_not_found(route.resource_group)
    rg = workspaces[0].resource_group
    return {"id": f"/subscriptions/{sub.id}/resourceGroups/{rg}", "name": rg,
            "type": "Microsoft.Resources/resourceGroups", "location": workspaces[0].location,
            "properties": {"provisioningState": "Succeeded"}}


def _workspace_body(ws: WorkspaceConfig) -> dict:
    return {
        "id": ws.resource_id, "name": ws.name, "type": "Microsoft.OperationalInsights/workspaces",
        "location": ws.location, "tags": {},
        "properties": {
            "provisioningState": "Succeeded", "customerId": ws.customer_id,
            "sku": {"name": "PerGB2018"}, "retentionInDays": 90,
            "features": {"enableLogAccessUsingOnlyResourcePermissions": True},
            "workspaceCapping": {"dailyQuotaGb": -1.0},
            "publicNetworkAccessForIngestion": "Enabled", "publicNetworkAccessForQuery": "Enabled",
        },
    }


def _find_workspace(config: EmulatorConfig, route: Route) -> WorkspaceConfig:
    ws = config.workspace(route.subscription, route.resource_group, route.workspace)
    if ws is None:
        raise resource_not_found("Microsoft.OperationalInsights/workspaces", route.workspace, route.resource_group)
    return ws


def workspace(config: EmulatorConfig, route: Route) -> dict:
    return _workspace_body(_find_workspace(config, route))


def workspaces(config: EmulatorConfig, route: Route) -> list[dict]:
    return [_workspace_body(w) for w in config.workspaces
            if w.subscription.lower() == route.subscription.lower()
            and (route.resource_group is None or w.resource_group.lower() == route.resource_group.lower())]


# Column types as the Tables API spells them (ColumnTypeEnum in Tables.json); configs may say datetime, bool...
_COLUMN_TYPES = {"string": "string", "int": "int", "long": "long", "real": "real", "double": "real",
                 "boolean": "boolean", "bool": "boolean", "datetime": "dateTime", "guid": "guid",
                 "dynamic": "dynamic"}


def _table_body(ws: WorkspaceConfig, table: TableConfig) -> dict:
    custom = table.name.endswith("_CL")
    columns = [{"name": n, "type": _COLUMN_TYPES.get(t.lower(), t)} for n, t in table.columns]
    schema = {"name": table.name, "tableType": "CustomLog" if custom else "Microsoft",
              "columns": columns if custom else [],
              "standardColumns": [{"name": "TenantId", "type": "guid"}] if custom else columns}
    return {"id": f"{ws.resource_id}/tables/{table.name}", "name": table.name,
            "type": "Microsoft.OperationalInsights/workspaces/tables",
            "properties": {"retentionInDays": 90, "totalRetentionInDays": 90, "archiveRetentionInDays": 0,
                           "plan": "Analytics", "retentionInDaysAsDefault": True,
                           "totalRetentionInDaysAsDefault": True, "provisioningState": "Succeeded",
                           "schema": schema}}


def table(config: EmulatorConfig, route: Route) -> dict:
    ws = _find_workspace(config, route)
    found = ws.table(route.name)
    if found is None:
        raise ArmError(404, "ResourceNotFound", f"The table '{route.name}' was not found in workspace '{ws.name}'.")
    return _table_body(ws, found)


def tables(config: EmulatorConfig, route: Route) -> list[dict]:
    ws = _find_workspace(config, route)
    return [_table_body(ws, t) for t in ws.tables]


def onboarding_state(route: Route) -> dict:
    return {"id": f"{route.workspace_id}/providers/Microsoft.SecurityInsights/onboardingStates/default",
            "name": "default", "type": "Microsoft.SecurityInsights/onboardingStates",
            "properties": {"customerManagedKey": False}}


def builtin_fusion_rule(ws: WorkspaceConfig, now: str) -> dict:
    """The Fusion rule onboarding installs (name BuiltInFusion; body shape of GetFusionAlertRule.json)."""
    return {
        "id": f"{ws.resource_id}/providers/Microsoft.SecurityInsights/alertRules/BuiltInFusion",
        "name": "BuiltInFusion", "type": "Microsoft.SecurityInsights/alertRules", "kind": "Fusion",
        "etag": '"00000000-0000-0000-0000-000000000f05"',
        "properties": {
            "alertRuleTemplateName": "f71aba3d-28fb-450b-b192-4e76a83015c8",
            "displayName": "Advanced Multistage Attack Detection", "enabled": True, "severity": "High",
            "description": "Microsoft Sentinel uses Fusion, a correlation engine based on scalable machine learning "
                           "algorithms, to automatically detect multistage attacks.",
            "tactics": ["Collection", "CommandAndControl", "CredentialAccess", "DefenseEvasion", "Discovery",
                        "Execution", "Exfiltration", "Impact", "InitialAccess", "LateralMovement", "Persistence",
                        "PrivilegeEscalation"],
            "lastModifiedUtc": now,
        },
    }
