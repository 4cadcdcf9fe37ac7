"""What a built mainTemplate deploys into one workspace: its resources with every expression
evaluated as ARM would evaluate them at deployment time.

The evaluation is packer.package.arm_expr's (the subset of the template language Content Hub
packages use; anything else raises ExpressionError by name; uniqueString and guid exactly as
ARM computes them, packer.package.arm_hash). This module is the seam plan/apply meet it at:
`deployed_resources(template, DeployScope)`, with the parameter values a portal install passes
for a workspace (`workspace`, `workspace-location`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from packer.package.arm_expr import ExpressionError, Scope
from packer.package.arm_expr import deployed_resources as _evaluated_resources
from packer.package.arm_hash import unique_string
from packer.targets.model import Target

__all__ = ["DeployScope", "DeployedResource", "ExpressionError", "deployed_resources", "unique_string"]


@dataclass(frozen=True)
class DeployScope:
    """Where a template is deployed: the workspace, and the parameter values the portal passes."""

    subscription_id: str
    resource_group: str
    workspace: str
    location: str = ""
    given: tuple[tuple[str, Any], ...] = ()  # more parameter values (install --parameter NAME=VALUE)

    @classmethod
    def of(cls, target: Target, location: str = "") -> "DeployScope":
        return cls(target.subscription_id, target.resource_group, target.workspace, location)

    @property
    def resource_group_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"

    def parameter_values(self, template: dict) -> dict[str, Any]:
        given = {"workspace": self.workspace, "workspace-location": self.location, "location": self.location}
        declared = template.get("parameters") or {}
        return {**{name: value for name, value in given.items() if name in declared}, **dict(self.given)}


@dataclass(frozen=True)
class DeployedResource:
    type: str
    name: str
    resource_id: str
    body: dict  # the resource's evaluated JSON (type, apiVersion, name, properties, ...)

    @property
    def properties(self) -> dict:
        return self.body.get("properties") or {}


def deployed_resources(template: dict, scope: DeployScope) -> list[DeployedResource]:
    """Every top-level resource of `template`, evaluated for `scope` (ARM evaluates nested
    `properties`, the contentTemplates' inner mainTemplate included, at deployment)."""
    arm_scope = Scope(scope.subscription_id, scope.resource_group, scope.location)
    out = []
    for resource in _evaluated_resources(template, arm_scope, scope.parameter_values(template)):
        body = {"type": resource.type, "apiVersion": resource.api_version, "name": resource.name, **resource.body}
        out.append(DeployedResource(resource.type, resource.name, resource.resource_id, body))
    return out

