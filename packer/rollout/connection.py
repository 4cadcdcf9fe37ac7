"""How the fleet reaches its workspaces: one credential per token tenant, one budget per
subscription, one WorkspaceClient per workspace, and the tenant check before anything is sent."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from packer.auth import CredentialProvider
from packer.remote.api_versions import ARM_ENDPOINT
from packer.remote.client import WorkspaceClient
from packer.remote.limits import DELETE, READ, WRITE
from packer.rollout.budget import FleetBudgets
from packer.targets import Target


@dataclass
class FleetConnection:
    credentials: CredentialProvider
    base_url: str = ARM_ENDPOINT
    connection_verify: str | bool | None = None
    budgets: FleetBudgets = field(default_factory=FleetBudgets)
    requests_per_workspace: int = 4  # concurrent requests inside one workspace
    client_options: dict[str, Any] = field(default_factory=dict)

    def client_for(self, target: Target, *, pace_reads: bool = False) -> WorkspaceClient:
        """A client for one workspace; raises TenantMismatch (nothing sent to the workspace) when
        the credential's token comes from another tenant than the inventory expects. Writes and
        deletes take a token of the subscription's budget; reads too with `pace_reads` (export)."""
        credential = self.credentials.for_target(target)
        credential.verify()
        return WorkspaceClient(
            target,
            credential,
            self.base_url,
            self.connection_verify,
            max_concurrency=self.requests_per_workspace,
            rate_limiter=self.budgets.for_subscription(target.subscription_id),
            rate_limited_operations=frozenset({WRITE, DELETE, READ}) if pace_reads else frozenset({WRITE, DELETE}),
            **self.client_options,
        )
