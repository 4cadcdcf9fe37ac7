"""The emulator's configuration: tenants, subscriptions, workspaces, throttling, faults.

Read from YAML or JSON (`EmulatorConfig.load`) or a dict (`EmulatorConfig.from_dict`). An empty
config gives one tenant, one subscription and one Sentinel-onboarded workspace, so
`sentinel-packer emulator` works with no file at all.
"""
from __future__ import annotations

import functools

import json
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from packer.errors import ConfigError

DEFAULT_TENANT = "00000000-0000-4000-8000-0000000000a1"
DEFAULT_SUBSCRIPTION = "00000000-0000-4000-8000-0000000000b1"
DEFAULT_RESOURCE_GROUP = "rg-sentinel"
DEFAULT_WORKSPACE = "ws-sentinel"

# The tables a fresh Sentinel workspace with the common connectors has. Their columns come from
# the project's table reference (packer/kql/schemas, written from Microsoft's table docs), so a
# plan's column probe sees what a real workspace would report.
STANDARD_TABLES: tuple[str, ...] = (
    "DeviceProcessEvents", "DeviceNetworkEvents", "DeviceFileEvents", "DeviceRegistryEvents",
    "SecurityEvent", "Syslog", "CommonSecurityLog", "SigninLogs", "AuditLogs", "AzureActivity",
    "OfficeActivity", "SecurityAlert", "SecurityIncident", "Heartbeat",
)


@functools.lru_cache(maxsize=None)
def reference_columns(table: str) -> tuple[tuple[str, str], ...] | None:
    """The table's columns from the project's table reference, or None if it has none."""
    from packer.kql.schema import load_tables

    schema = load_tables().get(table)
    return tuple(schema.columns.items()) if schema and schema.columns else None


@dataclass(frozen=True)
class TableConfig:
    name: str
    columns: tuple[tuple[str, str], ...]


def workspace_resource_id(subscription: str, resource_group: str, workspace: str) -> str:
    return (f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
            f"/providers/Microsoft.OperationalInsights/workspaces/{workspace}")


@dataclass(frozen=True)
class WorkspaceConfig:
    subscription: str
    resource_group: str
    name: str
    location: str = "westeurope"
    sentinel_onboarded: bool = True
    tables: tuple[TableConfig, ...] = ()
    builtin_fusion_rule: bool = False  # onboarding installs "Advanced Multistage Attack Detection"

    @property
    def resource_id(self) -> str:
        return workspace_resource_id(self.subscription, self.resource_group, self.name)

    @property
    def customer_id(self) -> str:
        """The workspace GUID (stable for a given resource id, as in Azure it never changes)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, self.resource_id.lower()))

    def table(self, name: str) -> TableConfig | None:
        wanted = name.lower()
        return next((t for t in self.tables if t.name.lower() == wanted), None)


@dataclass(frozen=True)
class SubscriptionConfig:
    id: str
    tenant: str
    delegated_to: tuple[str, ...] = ()
    display_name: str = ""
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)  # calling tenant -> built-in roles (rbac.py)


@dataclass(frozen=True)
class Bucket:
    size: float
    refill_per_second: float


@dataclass(frozen=True)
class ThrottlingConfig:
    """ARM's token buckets (Request limits and throttling docs): per subscription and per principal."""

    enabled: bool = True
    scale: float = 1.0
    reads: Bucket = Bucket(250, 25)
    writes: Bucket = Bucket(200, 10)
    deletes: Bucket = Bucket(200, 10)
    per_principal: bool = True

    def bucket(self, operation: str) -> Bucket:
        base: Bucket = getattr(self, operation)
        return Bucket(base.size * self.scale, base.refill_per_second * self.scale)


@dataclass(frozen=True)
class ScriptedFault:
    method: str
    path: str  # a regex searched in the request path
    status: int = 500
    times: int = 1
    retry_after: int | None = None
    drop: bool = False


@dataclass(frozen=True)
class FaultConfig:
    seed: int = 1
    latency_ms: float = 0.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 503)
    drop_rate: float = 0.0
    scripted: tuple[ScriptedFault, ...] = ()


@dataclass(frozen=True)
class EmulatorConfig:
    tenants: dict[str, str] = field(default_factory=dict)  # tenant id -> display name
    subscriptions: tuple[SubscriptionConfig, ...] = ()
    workspaces: tuple[WorkspaceConfig, ...] = ()
    throttling: ThrottlingConfig = ThrottlingConfig()
    faults: FaultConfig = FaultConfig()
    page_size: int = 50
    state_file: str | None = None
    token_lifetime_s: int = 3600
    rbac: bool = False  # enforce built-in roles (also on for a subscription that lists roles)
    content_catalogue: tuple[str, ...] = ()  # package zips every workspace's Content Hub offers (content.py)

    @classmethod
    def load(cls, path: str | Path) -> "EmulatorConfig":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read the emulator config: {exc}") from exc
        return cls.from_dict(data or {}, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "emulator config") -> "EmulatorConfig":
        from packer.emulator.configparse import parse_config

        return parse_config(data, source)

    # Lookups every request makes, indexed once (the config is frozen) rather than scanned each time.
    @cached_property
    def _subscriptions_by_id(self) -> dict[str, SubscriptionConfig]:
        index: dict[str, SubscriptionConfig] = {}
        for s in self.subscriptions:
            index.setdefault(s.id.lower(), s)
        return index

    @cached_property
    def _workspaces_by_key(self) -> dict[tuple[str, str, str], WorkspaceConfig]:
        index: dict[tuple[str, str, str], WorkspaceConfig] = {}
        for w in self.workspaces:
            index.setdefault((w.subscription.lower(), w.resource_group.lower(), w.name.lower()), w)
        return index

    @cached_property
    def _resource_groups(self) -> frozenset[tuple[str, str]]:
        return frozenset((w.subscription.lower(), w.resource_group.lower()) for w in self.workspaces)

    def subscription(self, subscription_id: str) -> SubscriptionConfig | None:
        return self._subscriptions_by_id.get(subscription_id.lower())

    def workspace(self, subscription_id: str, resource_group: str, name: str) -> WorkspaceConfig | None:
        return self._workspaces_by_key.get((subscription_id.lower(), resource_group.lower(), name.lower()))

    def resource_group_exists(self, subscription_id: str, resource_group: str) -> bool:
        return (subscription_id.lower(), resource_group.lower()) in self._resource_groups
