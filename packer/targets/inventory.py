"""The fleet inventory (targets.yaml) as typed values: tenants, waves, workspaces, overlays."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from pathlib import Path

from packer.content.model import ContentSet
from packer.errors import ConfigError
from packer.overlay import EMPTY_OVERLAY, Overlay, apply_overlays
from packer.targets.model import Target


class AuthKind(StrEnum):
    DEFAULT = "default"  # DefaultAzureCredential, a token for the tenant itself
    OIDC = "oidc"  # GitHub Actions workload identity federation with a per-tenant app
    LIGHTHOUSE = "lighthouse"  # the managing tenant's identity, through Azure Lighthouse delegation


@dataclass(frozen=True)
class TenantAuth:
    kind: AuthKind = AuthKind.DEFAULT
    client_id: str | None = None  # oidc
    managing_tenant_id: str | None = None  # lighthouse: the MSSP's tenant id


@dataclass(frozen=True)
class Tenant:
    name: str
    tenant_id: str
    display_name: str = ""
    auth: TenantAuth = TenantAuth()
    overlay: Overlay = EMPTY_OVERLAY

    @property
    def token_tenant_id(self) -> str:
        """The tenant that must issue the token used for this tenant's workspaces."""
        if self.auth.kind is AuthKind.LIGHTHOUSE and self.auth.managing_tenant_id:
            return self.auth.managing_tenant_id
        return self.tenant_id


@dataclass(frozen=True)
class Wave:
    """A rollout step. The rollout stops before the next wave once failures exceed the limit."""

    name: str
    max_failures: int = 0  # a count; used when max_failure_percent is None
    max_failure_percent: float | None = None

    def allowed_failures(self, workspace_count: int) -> int:
        if self.max_failure_percent is None:
            return self.max_failures
        return math.floor(workspace_count * self.max_failure_percent / 100 + 1e-9)

    def exceeded(self, failures: int, workspace_count: int) -> bool:
        return failures > self.allowed_failures(workspace_count)

    def describe_limit(self) -> str:
        if self.max_failure_percent is None:
            return f"{self.max_failures} failed workspace(s)"
        return f"{self.max_failure_percent:g}% of the wave"


DEFAULT_WAVE = Wave("all")


@dataclass(frozen=True)
class WorkspaceEntry:
    """One workspace of the inventory with everything resolved: tenant, wave, merged overlay."""

    target: Target
    tenant: Tenant
    overlay: Overlay
    line: int = 0


@dataclass(frozen=True)
class Inventory:
    path: Path
    repository: str
    tenants: tuple[Tenant, ...]
    waves: tuple[Wave, ...]
    entries: tuple[WorkspaceEntry, ...] = field(default=())

    @property
    def targets(self) -> tuple[Target, ...]:
        return tuple(entry.target for entry in self.entries)

    def entry(self, name: str) -> WorkspaceEntry:
        for entry in self.entries:
            if entry.target.name == name:
                return entry
        known = ", ".join(e.target.name for e in self.entries[:20])
        raise ConfigError(f"{self.path}: no workspace named '{name}' (known: {known})")

    def target(self, name: str) -> Target:
        return self.entry(name).target

    def tenant_of(self, target: Target) -> Tenant:
        return self.entry(target.name).tenant

    def overlay_for(self, target: Target) -> Overlay:
        return self.entry(target.name).overlay

    def content_for(self, content: ContentSet, target: Target) -> ContentSet:
        """The content this workspace receives: the shared set with its overlays applied."""
        return apply_overlays(content, self.overlay_for(target))

    def wave(self, name: str) -> Wave:
        for wave in self.waves:
            if wave.name == name:
                return wave
        raise ConfigError(f"{self.path}: no wave named '{name}' (waves: {', '.join(w.name for w in self.waves)})")

    def select(self, wave: str | None = None, glob: str | None = None, tag: str | None = None) -> list[Target]:
        """Workspaces in inventory order, filtered by wave, name globs (comma-separated) and/or a tag."""
        if wave is not None:
            self.wave(wave)  # an unknown wave is a typo, not an empty selection
        chosen = [
            t
            for t in self.targets
            if (wave is None or t.wave == wave)
            and (glob is None or _matches_any(t.name, glob))
            and (tag is None or tag in t.tags)
        ]
        if not chosen:
            raise ConfigError(f"{self.path}: no workspace matches wave={wave!r} select={glob!r} tag={tag!r}")
        return chosen

    def by_wave(self, targets: list[Target] | None = None) -> list[tuple[Wave, list[Target]]]:
        """Waves in order with their (selected) workspaces; empty waves left out."""
        chosen = self.targets if targets is None else targets
        return [(w, [t for t in chosen if t.wave == w.name]) for w in self.waves if any(t.wave == w.name for t in chosen)]


def _matches_any(name: str, globs: str) -> bool:
    return any(fnmatchcase(name.lower(), g.strip().lower()) for g in globs.split(",") if g.strip())
