"""Read targets.yaml: JSON Schema first (every problem with file:line), then cross-references."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator

from packer.content.yamlsource import YamlDocument, load_yaml, read_text
from packer.errors import ConfigError, ContentError, PackerError
from packer.overlay import Exclusion, Overlay, Override, Selector, WatchlistItemsFile
from packer.targets.inventory import (
    DEFAULT_WAVE,
    AuthKind,
    Inventory,
    Tenant,
    TenantAuth,
    Wave,
    WorkspaceEntry,
)
from packer.targets.model import Target

if TYPE_CHECKING:
    from packer.content.model import ContentSet
    from packer.problems import Problem

DEFAULT_TARGETS_FILE = "targets.yaml"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


class InventoryError(ConfigError):
    """targets.yaml has problems; all of them are listed, each with file:line."""

    def __init__(self, problems: list[ContentError]):
        self.problems = problems
        listing = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"targets file has {len(problems)} problem(s):\n{listing}")


@lru_cache(maxsize=1)
def targets_schema() -> dict:
    text = resources.files("packer").joinpath("schemas/targets.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def is_inventory(doc: YamlDocument) -> bool:
    """A YAML document that is a targets file (for kind detection in `validate`)."""
    value = doc.value
    return isinstance(value, dict) and "workspaces" in value and "tenants" in value


def inventory_errors(path: Path) -> list[ContentError]:
    """Every problem in a targets file, each with file, line and field; empty when usable."""
    try:
        doc = load_yaml(Path(path))
    except ContentError as exc:
        return [exc]
    problems = _schema_problems(doc)
    if not problems:
        problems = _Builder(doc).check()
    return problems


def validate_inventory(path: Path) -> list["Problem"]:
    """The same problems as validation `Problem`s (code `targets.invalid`), for `validate`."""
    from packer.problems import ERROR, Problem

    return [
        Problem(e.path, e.line, e.column, e.field, ERROR, "targets.invalid", e.message)
        for e in inventory_errors(path)
    ]


def load_inventory(path: Path | str = DEFAULT_TARGETS_FILE) -> Inventory:
    """The inventory, fully resolved; InventoryError listing every problem otherwise."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: targets file not found; pass --targets PATH or create {DEFAULT_TARGETS_FILE}")
    doc = load_yaml(path)
    problems = _schema_problems(doc)
    if problems:
        raise InventoryError(problems)
    builder = _Builder(doc)
    problems = builder.check()
    if problems:
        raise InventoryError(problems)
    return builder.build()


def _schema_problems(doc: YamlDocument) -> list[ContentError]:
    problems = [
        ContentError(doc.path, pos.line, pos.column, _dotted(path), "duplicate key; keep one")
        for path, pos in doc.duplicate_keys
    ]
    validator = Draft202012Validator(targets_schema())
    for error in sorted(validator.iter_errors(doc.value), key=lambda e: list(map(str, e.absolute_path))):
        path = tuple(error.absolute_path)
        pos = doc.position(path)
        problems.append(ContentError(doc.path, pos.line, pos.column, _dotted(path), _message(error)))
    return problems


def _message(error) -> str:
    if error.validator == "oneOf" and error.context:
        best = min(error.context, key=lambda e: len(e.absolute_path))
        return f"{error.message if len(error.message) < 120 else 'does not match any allowed form'} ({best.message})"
    return error.message


def _dotted(path: tuple) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")


class _Builder:
    """Cross-reference checks and construction from a schema-valid document."""

    def __init__(self, doc: YamlDocument):
        self.doc = doc
        self.value: dict[str, Any] = doc.value
        self.problems: list[ContentError] = []

    def problem(self, path: tuple, message: str) -> None:
        pos = self.doc.position(path)
        self.problems.append(ContentError(self.doc.path, pos.line, pos.column, _dotted(path), message))

    def check(self) -> list[ContentError]:
        self.problems = []
        self.build()
        return self.problems

    def build(self) -> Inventory:
        tenants = self._tenants()
        waves = self._waves()
        entries = self._workspaces(tenants, waves)
        return Inventory(
            path=self.doc.path,
            repository=str(self.value["repository"]),
            tenants=tuple(tenants.values()),
            waves=tuple(waves),
            entries=tuple(entries),
        )

    def _unique(self, section: str, key: str) -> None:
        seen: set[str] = set()
        for i, entry in enumerate(self.value.get(section) or []):
            name = str(entry[key]).lower()
            if name in seen:
                self.problem((section, i, key), f"'{entry[key]}' is used twice in {section}; names must be unique")
            seen.add(name)

    def _tenants(self) -> dict[str, Tenant]:
        self._unique("tenants", "name")
        raw = self.value["tenants"]
        ids = {str(t["name"]).lower(): str(t["tenantId"]).lower() for t in raw}
        tenants: dict[str, Tenant] = {}
        for i, t in enumerate(raw):
            auth = self._auth(t.get("auth") or {}, ("tenants", i, "auth"), ids)
            overlay = self._overlay(t.get("overlay"), ("tenants", i, "overlay"), f"tenant {t['name']}")
            tenants[str(t["name"]).lower()] = Tenant(
                name=str(t["name"]),
                tenant_id=str(t["tenantId"]).lower(),
                display_name=str(t.get("displayName") or t["name"]),
                auth=auth,
                overlay=overlay,
            )
        return tenants

    def _auth(self, raw: dict, path: tuple, ids: dict[str, str]) -> TenantAuth:
        kind = AuthKind(raw.get("kind", "default"))
        if kind is AuthKind.OIDC:
            return TenantAuth(kind, client_id=str(raw["clientId"]).lower())
        if kind is AuthKind.LIGHTHOUSE:
            managing = str(raw["managingTenant"])
            managing_id = ids.get(managing.lower()) or (managing.lower() if _GUID.match(managing) else None)
            if managing_id is None:
                self.problem(path + ("managingTenant",), f"'{managing}' is neither a tenant name in this file nor a tenant id (GUID)")
            return TenantAuth(kind, managing_tenant_id=managing_id)
        return TenantAuth(kind)

    def _waves(self) -> list[Wave]:
        self._unique("waves", "name")
        waves = []
        for raw in self.value.get("waves") or []:
            limit = raw.get("maxFailures", 0)
            if isinstance(limit, str):
                waves.append(Wave(str(raw["name"]), max_failure_percent=float(limit.rstrip("%"))))
            else:
                waves.append(Wave(str(raw["name"]), max_failures=int(limit)))
        return waves or [DEFAULT_WAVE]

    def _workspaces(self, tenants: dict[str, Tenant], waves: list[Wave]) -> list[WorkspaceEntry]:
        self._unique("workspaces", "name")
        wave_names = {w.name for w in waves}
        seen_ids: dict[str, str] = {}
        entries = []
        for i, raw in enumerate(self.value["workspaces"]):
            path = ("workspaces", i)
            tenant = tenants.get(str(raw["tenant"]).lower())
            if tenant is None:
                self.problem(path + ("tenant",), f"tenant '{raw['tenant']}' is not defined under tenants")
                continue
            wave = str(raw.get("wave") or waves[-1].name)
            if wave not in wave_names:
                self.problem(path + ("wave",), f"wave '{wave}' is not defined under waves ({', '.join(sorted(wave_names))})")
            target = Target(
                name=str(raw["name"]),
                tenant_id=tenant.tenant_id,
                subscription_id=str(raw["subscription"]).lower(),
                resource_group=str(raw["resourceGroup"]),
                workspace=str(raw["workspace"]),
                repository=str(self.value["repository"]),
                wave=wave,
                tags=tuple(str(t) for t in raw.get("tags") or ()),
            )
            key = target.workspace_id.lower()
            if key in seen_ids:
                self.problem(path, f"same workspace as '{seen_ids[key]}'; a workspace is listed once")
            seen_ids[key] = target.name
            overlay = self._overlay(raw.get("overlay"), path + ("overlay",), f"workspace {target.name}")
            entries.append(WorkspaceEntry(target, tenant, tenant.overlay.then(overlay), self.doc.position(path).line))
        return entries

    def _overlay(self, raw: dict | None, path: tuple, owner: str) -> Overlay:
        if not raw:
            return Overlay(origin="")
        line = self.doc.position(path).line
        return Overlay(
            disable=tuple(self._selector(s, path + ("disable", i)) for i, s in enumerate(raw.get("disable") or [])),
            overrides=tuple(
                Override(
                    select=self._selector(o["select"], path + ("overrides", i, "select")),
                    severity=o.get("severity"),
                    enabled=o.get("enabled"),
                    query_frequency=self._text(path + ("overrides", i, "queryFrequency"), o.get("queryFrequency")),
                    query_period=self._text(path + ("overrides", i, "queryPeriod"), o.get("queryPeriod")),
                    trigger_threshold=o.get("triggerThreshold"),
                )
                for i, o in enumerate(raw.get("overrides") or [])
            ),
            parameters=MappingProxyType(
                {str(k): tuple(v) if isinstance(v, list) else v for k, v in (raw.get("parameters") or {}).items()}
            ),
            exclusions=tuple(
                Exclusion(
                    select=self._selector(e["select"], path + ("exclusions", i, "select")),
                    column=str(e["column"]),
                    values=tuple(str(v) for v in e["values"]),
                    reason=str(e.get("reason") or ""),
                )
                for i, e in enumerate(raw.get("exclusions") or [])
            ),
            watchlists=tuple(
                WatchlistItemsFile(str(alias), Path(self.doc.path).parent / str(csv),
                                   self.doc.position(path + ("watchlists", alias)).line)
                for alias, csv in (raw.get("watchlists") or {}).items()
            ),
            origin=f"{self.doc.path}:{line} ({owner})",
        )

    def _selector(self, raw: dict, path: tuple) -> Selector:
        return Selector(
            id=raw.get("id"), name=raw.get("name"), file=raw.get("file"), kind=raw.get("kind"),
            line=self.doc.position(path).line,
        )

    def _text(self, path: tuple, value: Any) -> str | None:
        if value is None:
            return None
        return self.doc.raw(path) or str(value)


def looks_like_inventory(path: Path) -> bool:
    """A YAML file whose top level has `tenants` and `workspaces`, whatever its name."""
    try:
        text = read_text(Path(path))
        # both keys must be in the text: content files are not parsed a second time to learn that
        return "workspaces" in text and "tenants" in text and is_inventory(load_yaml(Path(path), text=text))
    except ContentError:
        return False


def overlay_problems(path: Path, content: "ContentSet") -> list["Problem"]:
    """Every overlay of the inventory at `path` checked against `content`, all at once: each
    selector that matches no item, and whatever else keeps a workspace's overlays from applying
    (parameters no query declares, schedules, exclusion columns). Empty when the file itself is
    unusable (validate_inventory reports that)."""
    from packer.problems import ERROR, Problem

    try:
        inventory = load_inventory(path)
    except PackerError:
        return []
    found: dict[str, Problem] = {}

    def add(line: int, message: str) -> None:
        found.setdefault(message, Problem(Path(path), line or 1, 1, "overlay", ERROR, "targets.overlay", message))

    for target in inventory.targets:
        overlay = inventory.overlay_for(target)
        selectors = [*overlay.disable, *(o.select for o in overlay.overrides), *(e.select for e in overlay.exclusions)]
        unmatched = [s for s in selectors if not any(
            s.matches(item) for item in (content.items if s in overlay.disable else content.packaged))]
        for selector in unmatched:
            add(selector.line, f"selector {selector.describe()} matches no content item")
        if unmatched:
            continue
        try:
            inventory.content_for(content, target)
        except PackerError as exc:
            line = re.search(r"\(line (\d+)\)", str(exc))
            add(int(line[1]) if line else 1, f"workspace {target.name}: {exc}")
    return sorted(found.values(), key=lambda p: (p.line, p.message))
