"""The api-versions this tool sends and the emulator serves. One place, so both agree.

Chosen as the newest GA versions that carry every field we write (the published SDK models
lag these; see ../shared/docs/api.md): the SDK clients carry the requests, we send the JSON.
"""
SECURITY_INSIGHTS = "2024-09-01"  # alertRules, metadata, contentPackages, contentTemplates
OPERATIONAL_INSIGHTS = "2025-07-01"  # workspaces/savedSearches, workspaces/tables
WORKBOOKS = "2022-04-01"  # Microsoft.Insights/workbooks
ARM_ENDPOINT = "https://management.azure.com"
ARM_SCOPE = "https://management.azure.com/.default"


def api_version_for(resource_id: str) -> str:
    """The api-version for a resource id or path, by its resource provider."""
    lowered = resource_id.lower()
    if "/providers/microsoft.securityinsights/" in lowered:
        return SECURITY_INSIGHTS
    if "/providers/microsoft.insights/workbooks" in lowered:
        return WORKBOOKS
    return OPERATIONAL_INSIGHTS
