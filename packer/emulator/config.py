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
from jsonschema import Draft202012Validator

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
    # Sentinel's own limit on automation-rule writes (PUT and DELETE) per subscription, on top of
    # ARM's: about 100 per 5 minutes. INFERRED: no public document states it (docs/emulator.md).
    automation_rule_writes: Bucket = Bucket(100, 100 / 300)

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
    after: bool = False  # with drop: the request is carried out, then the connection drops unanswered
    delay_s: float = 0.0  # a slow answer: this long before it is sent


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
    # A watchlist upload (rawContent) or delete completes after this many status polls answered InProgress,
    # or after this many seconds whether polled or not (watchlists.py).
    watchlist_upload_polls: int = 1
    watchlist_upload_seconds: float = 5.0
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


# --- parsing a user-written config (a dict from YAML/JSON) into EmulatorConfig, or a ConfigError ---
@functools.lru_cache(maxsize=1)
def _schema() -> Draft202012Validator:
    return Draft202012Validator(json.loads((Path(__file__).parent / "config.schema.json").read_text()))


def _check_schema(data: Any, source: str) -> None:
    errors = sorted(_schema().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.absolute_path) or "(top level)"
        raise ConfigError(f"{source}: {where}: {first.message} (see docs/emulator.md, 'Config')")


def parse_config(data: dict[str, Any], source: str) -> EmulatorConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the emulator config must be a mapping")
    _check_schema(data, source)
    tenants = _tenants(data.get("tenants"), source)
    subscriptions = _subscriptions(data.get("subscriptions"), tenants, source)
    workspaces = _workspaces(data.get("workspaces"), subscriptions, source)
    page_size = data.get("page_size", 50)
    if not isinstance(page_size, int) or page_size < 1:
        raise ConfigError(f"{source}: page_size must be a positive integer, got {page_size!r}")
    return EmulatorConfig(
        tenants=tenants,
        subscriptions=subscriptions,
        workspaces=workspaces,
        throttling=_throttling(data.get("throttling") or {}, source),
        faults=_faults(data.get("faults") or {}, source),
        page_size=page_size,
        state_file=data.get("state_file"),
        token_lifetime_s=int(data.get("token_lifetime_s", 3600)),
        watchlist_upload_polls=int(data.get("watchlist_upload_polls", 1)),
        watchlist_upload_seconds=float(data.get("watchlist_upload_seconds", 5.0)),
        rbac=bool(data.get("rbac", False)),
        content_catalogue=_catalogue(data.get("content_catalogue") or [], source),
    )


def _catalogue(raw: list, source: str) -> tuple[str, ...]:
    """Package zips, relative to the config file's folder; each must read as a package."""
    from packer.package.install import PackageError, read_package

    base = Path(source).parent if Path(source).is_file() else Path.cwd()
    paths = []
    for entry in raw:
        path = (base / entry).resolve()
        try:
            read_package(path)
        except PackageError as exc:
            raise ConfigError(f"{source}: content_catalogue: {exc}") from None
        paths.append(str(path))
    return tuple(paths)


def _guid(value: Any, what: str, source: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ConfigError(f"{source}: {what} {value!r} is not a GUID") from None


def _tenants(raw: Any, source: str) -> dict[str, str]:
    if raw is None:
        return {DEFAULT_TENANT: "Default tenant"}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: tenants must map tenant GUIDs to {{name: ...}}")
    result = {}
    for tenant_id, body in raw.items():
        name = (body or {}).get("name", "") if isinstance(body, dict) else str(body or "")
        result[_guid(tenant_id, "tenant id", source)] = name
    return result


def _subscriptions(raw: Any, tenants: dict[str, str], source: str) -> tuple[SubscriptionConfig, ...]:
    if raw is None:
        tenant = next(iter(tenants))
        return (SubscriptionConfig(DEFAULT_SUBSCRIPTION, tenant, (), "Default subscription"),)
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: subscriptions must map subscription GUIDs to {{tenant: ..., delegated_to: [...]}}")
    result = []
    for sub_id, body in raw.items():
        body = body or {}
        sub = _guid(sub_id, "subscription id", source)
        tenant = _guid(body.get("tenant", next(iter(tenants))), f"subscription {sub} tenant", source)
        if tenant not in tenants:
            raise ConfigError(f"{source}: subscription {sub} names tenant {tenant}, which is not under tenants")
        delegated = tuple(_guid(t, f"subscription {sub} delegated_to entry", source)
                          for t in body.get("delegated_to") or ())
        roles = {_guid(t, f"subscription {sub} roles tenant", source): tuple(names)
                 for t, names in (body.get("roles") or {}).items()}
        result.append(SubscriptionConfig(sub, tenant, delegated, str(body.get("name", "")), roles))
    return tuple(result)


def _workspaces(raw: Any, subscriptions: tuple[SubscriptionConfig, ...], source: str) -> tuple[WorkspaceConfig, ...]:
    if raw is None:
        raw = [{"subscription": subscriptions[0].id, "resource_group": DEFAULT_RESOURCE_GROUP,
                "name": DEFAULT_WORKSPACE}]
    if not isinstance(raw, list):
        raise ConfigError(f"{source}: workspaces must be a list")
    known = {s.id for s in subscriptions}
    result = []
    for index, body in enumerate(raw):
        where = f"{source}: workspaces[{index}]"
        if not isinstance(body, dict) or not body.get("name") or not body.get("resource_group"):
            raise ConfigError(f"{where}: needs at least name and resource_group")
        sub = _guid(body.get("subscription", subscriptions[0].id), "subscription", where)
        if sub not in known:
            raise ConfigError(f"{where}: subscription {sub} is not under subscriptions")
        result.append(WorkspaceConfig(
            subscription=sub,
            resource_group=str(body["resource_group"]),
            name=str(body["name"]),
            location=str(body.get("location", "westeurope")),
            sentinel_onboarded=bool(body.get("sentinel_onboarded", True)),
            tables=_tables(body.get("tables"), where),
            builtin_fusion_rule=bool(body.get("builtin_fusion_rule", False)),
        ))
    return tuple(result)


def _tables(raw: Any, where: str) -> tuple[TableConfig, ...]:
    if raw is None:
        return tuple(TableConfig(name, _columns(name, None, where)) for name in STANDARD_TABLES)
    entries: list[tuple[str, Any]] = []
    for item in raw if isinstance(raw, list) else [raw]:
        if isinstance(item, str):
            entries.append((item, None))
        elif isinstance(item, dict):
            entries.extend(item.items())
        else:
            raise ConfigError(f"{where}: tables entries are names or {{name: [columns]}}, got {item!r}")
    return tuple(TableConfig(name, _columns(name, cols, where)) for name, cols in entries)


def _columns(table: str, raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return reference_columns(table) or (("TimeGenerated", "datetime"),)
    columns = []
    for col in raw:
        if isinstance(col, str):
            name, _, col_type = col.partition(":")
            columns.append((name.strip(), col_type.strip() or "string"))
        elif isinstance(col, dict) and "name" in col:
            columns.append((str(col["name"]), str(col.get("type", "string"))))
        else:
            raise ConfigError(f"{where}: table {table}: a column is 'Name', 'Name:type' or {{name, type}}")
    return tuple(columns)


def _bucket(raw: Any, default: Bucket, what: str, source: str) -> Bucket:
    if raw is None:
        return default
    if isinstance(raw, dict):
        raw = [raw.get("size"), raw.get("refill")]
    try:
        size, refill = (float(v) for v in raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: throttling.{what} must be [bucket size, refill per second]") from None
    if size <= 0 or refill <= 0:
        raise ConfigError(f"{source}: throttling.{what} values must be positive")
    return Bucket(size, refill)


def _throttling(raw: dict, source: str) -> ThrottlingConfig:
    base = ThrottlingConfig()
    scale = float(raw.get("scale", 1.0))
    if scale <= 0:
        raise ConfigError(f"{source}: throttling.scale must be positive")
    return ThrottlingConfig(
        enabled=bool(raw.get("enabled", True)),
        scale=scale,
        reads=_bucket(raw.get("reads"), base.reads, "reads", source),
        writes=_bucket(raw.get("writes"), base.writes, "writes", source),
        deletes=_bucket(raw.get("deletes"), base.deletes, "deletes", source),
        per_principal=bool(raw.get("per_principal", True)),
        automation_rule_writes=_bucket(raw.get("automation_rule_writes"), base.automation_rule_writes,
                                       "automation_rule_writes", source),
    )


def _faults(raw: dict, source: str) -> FaultConfig:
    rate = float(raw.get("error_rate", 0.0))
    drop = float(raw.get("drop_rate", 0.0))
    if not (0 <= rate <= 1 and 0 <= drop <= 1):
        raise ConfigError(f"{source}: faults.error_rate and faults.drop_rate are shares between 0 and 1")
    scripted = []
    for item in raw.get("scripted") or ():
        if not isinstance(item, dict) or "path" not in item:
            raise ConfigError(f"{source}: faults.scripted entries need at least path (a regex) and status")
        scripted.append(ScriptedFault(
            method=str(item.get("method", "*")).upper(), path=str(item["path"]),
            status=int(item.get("status", 500)), times=int(item.get("times", 1)),
            retry_after=item.get("retry_after"), drop=bool(item.get("drop", False)),
        ))
    return FaultConfig(
        seed=int(raw.get("seed", 1)),
        latency_ms=float(raw.get("latency_ms", 0.0)),
        error_rate=rate,
        error_statuses=tuple(int(s) for s in raw.get("error_statuses", (500, 503))),
        drop_rate=drop,
        scripted=tuple(scripted),
    )
