"""What a built mainTemplate deploys into one workspace: its resources with every expression
evaluated as ARM would evaluate them at deployment time.

Only the template language the packager writes is known (parameters, variables with member
access, concat, take, last, first, split, replace, toLower, json, uniqueString, resourceId,
extensionResourceId, resourceGroup, subscription); anything else raises ExpressionError by
name. `uniqueString` follows ARM's published algorithm (a 64-bit MurmurHash variant over the
arguments joined with '-', 13 lowercase base-32 characters), so contentProductIds and template
names come out as a portal install would make them.

The `install PACKAGE.zip` command (issue 12, item 6) brings a fuller evaluator; this module is
the narrow seam both paths meet at: `deployed_resources(template, scope)`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from packer.package.arm_expr import FUNCTIONS, Evaluator, ExpressionError, is_expression
from packer.targets.model import Target

_M32 = 0xFFFFFFFF
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


@dataclass(frozen=True)
class DeployScope:
    """Where a template is deployed: the workspace, and the parameter values the portal passes."""

    subscription_id: str
    resource_group: str
    workspace: str
    location: str = ""

    @classmethod
    def of(cls, target: Target, location: str = "") -> "DeployScope":
        return cls(target.subscription_id, target.resource_group, target.workspace, location)

    @property
    def resource_group_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"


@dataclass(frozen=True)
class DeployedResource:
    type: str
    name: str
    resource_id: str
    body: dict  # the resource's evaluated JSON (type, apiVersion, name, properties, ...)

    @property
    def properties(self) -> dict:
        return self.body.get("properties") or {}


def unique_string(*values: str) -> str:
    """ARM's uniqueString(): deterministic, case-sensitive, 13 characters of [a-z2-7]."""
    data = "-".join(values).encode("utf-8")
    c1, c2 = 0x239B961B, 0xAB0E9789  # ARM's MurmurHash64 multipliers
    h1 = h2 = 0
    length, index = len(data), 0

    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (32 - r))) & _M32

    while index + 7 < length:
        k1 = int.from_bytes(data[index:index + 4], "little")
        k2 = int.from_bytes(data[index + 4:index + 8], "little")
        k1 = (rotl((k1 * c1) & _M32, 15) * c2) & _M32
        h1 = (rotl(h1 ^ k1, 19) + h2) & _M32
        h1 = (h1 * 5 + 0x561CCD1B) & _M32
        k2 = (rotl((k2 * c2) & _M32, 17) * c1) & _M32
        h2 = (rotl(h2 ^ k2, 13) + h1) & _M32
        h2 = (h2 * 5 + 0x0BCAA747) & _M32
        index += 8
    rest = length - index
    if rest > 0:
        k1 = int.from_bytes(data[index:index + min(rest, 4)], "little")
        h1 ^= (rotl((k1 * c1) & _M32, 15) * c2) & _M32
        if rest > 4:
            k2 = int.from_bytes(data[index + 4:index + rest], "little")
            h2 ^= (rotl((k2 * c2) & _M32, 17) * c1) & _M32
    h2 = (h2 ^ length) & _M32
    h1 = ((h1 ^ length) + h2) & _M32
    h2 = (h2 + h1) & _M32
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = (h1 + h2) & _M32
    h2 = (h2 + h1) & _M32
    value = (h2 << 32) | h1
    return "".join(_BASE32[((value << (5 * i)) & 0xFFFFFFFFFFFFFFFF) >> 59] for i in range(13))


def _fmix(h: int) -> int:
    h = ((h ^ (h >> 16)) * 0x85EBCA6B) & _M32
    h = ((h ^ (h >> 13)) * 0xC2B2AE35) & _M32
    return h ^ (h >> 16)


class DeployEvaluator(Evaluator):
    """The static evaluator with deployment-time values instead of placeholders."""

    def __init__(self, template: dict, scope: DeployScope):
        super().__init__(template)
        self.scope = scope
        self.functions = {
            **FUNCTIONS,
            "uniquestring": lambda *a: unique_string(*(str(x) for x in a)),
            "resourceid": self._resource_id,
            "extensionresourceid": lambda scope_id, type_, *names: f"{scope_id}{_provider_path(str(type_), names)}",
            "resourcegroup": lambda: {"name": scope.resource_group, "location": scope.location,
                                      "id": scope.resource_group_id},
            "subscription": lambda: {"id": f"/subscriptions/{scope.subscription_id}",
                                     "subscriptionId": scope.subscription_id},
            "json": json.loads,
        }
        self.values = {"workspace": scope.workspace, "workspace-location": scope.location,
                       "location": scope.location}

    def value(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith("[["):
            return value[1:]  # an escaped literal bracket
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return super().value(value)

    def _call(self, name: str) -> Any:  # noqa: D401 - same grammar, deploy-time functions
        lowered = name.lower()
        if lowered in ("parameters", "variables"):
            return super()._call(name)
        if self._next()[1] != "(":
            raise ExpressionError(f"'{name}' must be called")
        args = []
        while self._peek() != ")":
            args.append(self._expr())
            if self._peek() == ",":
                self._next()
        self._next()
        if lowered not in self.functions:
            raise ExpressionError(f"the template function '{name}' is not supported")
        return self.functions[lowered](*args)

    def _parameter(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        if name not in self.parameters:
            raise ExpressionError(f"parameters('{name}') is not defined")
        return self.value(self.parameters[name].get("defaultValue", ""))

    def _resource_id(self, *args: Any) -> str:
        parts = [str(a) for a in args]
        subscription, group = self.scope.subscription_id, self.scope.resource_group
        if len(parts) >= 3 and "/" not in parts[0] and "/" not in parts[1] and "/" in parts[2]:
            subscription, group, parts = parts[0], parts[1], parts[2:]
        elif len(parts) >= 2 and "/" not in parts[0] and "/" in parts[1]:
            group, parts = parts[0], parts[1:]
        if not parts:
            raise ExpressionError("resourceId() needs a resource type")
        return f"/subscriptions/{subscription}/resourceGroups/{group}{_provider_path(parts[0], tuple(parts[1:]))}"


def _provider_path(type_: str, names: tuple) -> str:
    namespace, *types = type_.split("/")
    flat = [n for name in names for n in str(name).split("/")]
    return f"/providers/{namespace}/" + "/".join(f"{t}/{n}" for t, n in zip(types, flat))


def deployed_resources(template: dict, scope: DeployScope) -> list[DeployedResource]:
    """Every top-level resource of `template`, evaluated for `scope` (ARM evaluates nested
    `properties`, the contentTemplates' inner mainTemplate included, at deployment)."""
    evaluator = DeployEvaluator(template, scope)
    out = []
    for resource in template.get("resources") or []:
        body = evaluator.value(resource)
        type_, name = str(body.get("type", "")), str(body.get("name", ""))
        out.append(DeployedResource(type_, name, _resource_id(scope, type_, name), body))
    return out


def _resource_id(scope: DeployScope, type_: str, name: str) -> str:
    """The id ARM gives a top-level resource of the template (type segments paired with the
    name's segments; `workspaces/providers/X` pairs the provider name with `providers`)."""
    namespace, *types = type_.split("/")
    names = name.split("/")
    if len(types) != len(names):
        raise ExpressionError(f"resource type {type_} does not match its name {name}")
    path = "/".join(f"{t}/{n}" for t, n in zip(types, names))
    return f"{scope.resource_group_id}/providers/{namespace}/{path}"


def is_template_expression(value: Any) -> bool:
    return is_expression(value)
