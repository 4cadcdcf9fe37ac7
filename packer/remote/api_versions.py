"""The api-versions this tool sends and the emulator serves. One place, so both agree.

Chosen as the newest GA versions that carry every field we write (the published SDK models
lag these; see ../shared/docs/api.md): the SDK clients carry the requests, we send the JSON.

Alert rules are the exception: the version depends on the rule's kind. No stable
Microsoft.SecurityInsights spec defines NRT rules (AlertRuleKindEnum at 2024-09-01 and
2025-09-01 is Scheduled, MicrosoftSecurityIncidentCreation, Fusion); only the preview specs
have `NrtAlertRule`. So an NRT rule is written at SECURITY_INSIGHTS_PREVIEW, the newest preview
whose NrtAlertRuleProperties has every property we send, and a Scheduled rule at the GA
version. Reads, lists and deletes of alert rules cannot know the kind from the id, and users
report that the stable list leaves NRT rules out (microsoft/msticpy#788,
Azure/azure-sdk-for-python#39996), so they go at the preview version too: its spec defines
every kind we write.
"""
SECURITY_INSIGHTS = "2024-09-01"  # alertRules (Scheduled writes), metadata, contentPackages, contentTemplates
SECURITY_INSIGHTS_PREVIEW = "2025-10-01-preview"  # alertRules: NRT writes, and every read/list/delete
OPERATIONAL_INSIGHTS = "2025-07-01"  # workspaces/savedSearches, workspaces/tables
WORKBOOKS = "2022-04-01"  # Microsoft.Insights/workbooks
ARM_ENDPOINT = "https://management.azure.com"
ARM_SCOPE = "https://management.azure.com/.default"

# Alert rule kinds no stable spec defines (AlertRuleKindEnum, stable 2024-09-01 / 2025-09-01).
PREVIEW_ONLY_RULE_KINDS = frozenset({"nrt"})


def alert_rule_api_version(kind: str | None = None) -> str:
    """The api-version for an alert rule request: by the body's `kind` for a PUT; None (a read,
    list or delete, whose kind the id does not tell) gets the version that knows every kind."""
    if kind is None or kind.lower() in PREVIEW_ONLY_RULE_KINDS:
        return SECURITY_INSIGHTS_PREVIEW
    return SECURITY_INSIGHTS


def api_version_for(resource_id: str, kind: str | None = None) -> str:
    """The api-version for a resource id or path, by its resource provider (and, for alert
    rules, by the kind of the body sent; see alert_rule_api_version)."""
    lowered = resource_id.lower().split("?")[0]
    if "/providers/microsoft.securityinsights/alertrules" in lowered:
        return alert_rule_api_version(kind)
    if "/providers/microsoft.securityinsights/" in lowered:
        return SECURITY_INSIGHTS
    if "/providers/microsoft.insights/workbooks" in lowered:
        return WORKBOOKS
    return OPERATIONAL_INSIGHTS
