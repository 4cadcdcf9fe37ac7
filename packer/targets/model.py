"""A deployment target: one Sentinel workspace, and who owns what this tool writes there."""
from __future__ import annotations

from dataclasses import dataclass

from packer import resource_ids
from packer.resource_ids import WORKSPACE_PROVIDER  # noqa: F401 (named here before resource_ids existed)


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
        return resource_ids.resource_group_id(self.subscription_id, self.resource_group)

    @property
    def workspace_id(self) -> str:
        return resource_ids.workspace_id(self.subscription_id, self.resource_group, self.workspace)
