"""A deployment target: one Sentinel workspace, and who owns what this tool writes there."""
from __future__ import annotations

from dataclasses import dataclass

WORKSPACE_PROVIDER = "Microsoft.OperationalInsights/workspaces"


@dataclass(frozen=True)
class Target:
    """One workspace. `repository` identifies this content repository: what it deploys is
    marked with it, and only items so marked are ever updated in place or pruned."""

    name: str
    tenant_id: str
    subscription_id: str
    resource_group: str
    workspace: str
    repository: str
    wave: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def resource_group_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"

    @property
    def workspace_id(self) -> str:
        return f"{self.resource_group_id}/providers/{WORKSPACE_PROVIDER}/{self.workspace}"
