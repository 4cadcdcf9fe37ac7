"""Connections: which workspaces, reached through which endpoint with which credentials.

Resolved here once, for one workspace (`connect_workspace`) or for the fleet of an inventory
(`connect_fleet`); the CLI and the GitHub action are thin wrappers over these and over the
methods of what they return (`plan`, `apply`, `rollout`, `doctor`).

- Targets: a workspace of the inventory (with its overlays and its tenant's credential), one
  named by flags (subscription, resource group, workspace, tenant, repository), or the one a
  saved plan was made for.
- Credentials: azure-identity (the inventory's per-tenant auth, or DefaultAzureCredential),
  always checked to be a token of the target's tenant. Against the emulator (`Endpoint` with
  `emulator_tenant`): its test tokens; `target` means each workspace's own tenant, a tenant id
  pins every token to that tenant (so the tenant guard can be tried).
- Endpoint: Azure Resource Manager unless `base_url` (and the CA to trust, `ca_cert`) say
  otherwise; `Endpoint.from_environ` reads $SENTINEL_PACKER_BASE_URL, $SENTINEL_PACKER_CA_CERT
  and $SENTINEL_PACKER_EMULATOR_TENANT.
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packer.auth import CredentialFactory, CredentialProvider, TenantBoundCredential, azure_credential
from packer.content.model import ContentSet
from packer.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_NO_CHANGES, ConfigError
from packer.remote.api_versions import ARM_ENDPOINT
from packer.remote.client import WorkspaceClient
from packer.remote.limits import READ
from packer.remote.preflight import preflight, preflight_fleet
from packer.rollout.budget import ArmLimits, FleetBudgets, SubscriptionBudget
from packer.rollout.connection import FleetConnection
from packer.targets import Inventory, Target, load_inventory
from packer.validate import load_content

ENV_BASE_URL = "SENTINEL_PACKER_BASE_URL"
ENV_CA_CERT = "SENTINEL_PACKER_CA_CERT"
ENV_EMULATOR_TENANT = "SENTINEL_PACKER_EMULATOR_TENANT"
DEFAULT_TARGETS = Path("targets.yaml")


# --- endpoint and credentials -----------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """Where requests go (Azure unless `base_url`), which CA to trust, whose tokens to use."""

    base_url: str | None = None
    ca_cert: str | None = None
    emulator_tenant: str | None = None  # None: azure-identity; `target` or a tenant id: the emulator's tokens

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "Endpoint":
        env = os.environ if environ is None else environ
        return cls(env.get(ENV_BASE_URL) or None, env.get(ENV_CA_CERT) or None, env.get(ENV_EMULATOR_TENANT) or None)

    @property
    def url(self) -> str:
        return self.base_url or ARM_ENDPOINT

    def credential(self, tenant_id: str) -> Any:
        """A credential for one tenant named outside an inventory (flags, a saved plan)."""
        if self.emulator_tenant:
            return emulator_credential(self.emulator_tenant, tenant_id)
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential(additionally_allowed_tenants=["*"])

    def credential_factory(self) -> CredentialFactory:
        """Per tenant entry of an inventory: its configured auth, or the emulator's tokens."""
        if self.emulator_tenant:
            return lambda tenant: self.credential(tenant.tenant_id)
        return azure_credential


def emulator_credential(choice: str, tenant_id: str) -> Any:
    """The emulator's test tokens. `target`: of the tenant asked for (a working setup). A tenant
    id: of that tenant only, whatever is asked, like a credential pinned to one tenant, so the
    tenant guard can be tried (EmulatorCredential alone would honour the asked-for tenant)."""
    from packer.emulator.credential import EmulatorCredential

    if choice == "target":
        return EmulatorCredential(tenant_id)
    return _PinnedTenantCredential(EmulatorCredential(choice))


class _PinnedTenantCredential:
    def __init__(self, inner: Any):
        self._inner = inner

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return self._inner.get_token(*scopes)  # tenant_id deliberately not passed on

    def close(self) -> None:
        pass


# --- content and commit -----------------------------------------------------------------------


def load_content_folder(content_root: Path) -> ContentSet:
    """The content set of a folder, validated as a whole (raises ValidationFailed)."""
    if not Path(content_root).is_dir():
        raise ConfigError(f"--content {content_root} is not a folder")
    return load_content(Path(content_root))


def current_commit() -> str | None:
    """git HEAD of the working directory, else $GITHUB_SHA (recorded in plans and metadata)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return os.environ.get("GITHUB_SHA")
    return out.stdout.strip() if out.returncode == 0 else os.environ.get("GITHUB_SHA")


# --- one workspace ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkspaceFlags:
    """A workspace named on the command line instead of in the inventory."""

    subscription: str | None = None
    resource_group: str | None = None
    workspace: str | None = None
    tenant: str | None = None
    repository: str | None = None
    repository_typed: bool = False  # given as --repository, not defaulted from $GITHUB_REPOSITORY

    def missing(self) -> list[str]:
        given = (("--subscription", self.subscription), ("--resource-group", self.resource_group),
                 ("--workspace", self.workspace), ("--tenant", self.tenant), ("--repository", self.repository))
        return [flag for flag, value in given if not value]

    def target(self) -> Target:
        return Target(self.workspace, self.tenant, self.subscription, self.resource_group, self.workspace,
                      self.repository)


@dataclass
class WorkspaceConnection:
    """One workspace, its tenant-checked credential and the endpoint; `inventory` when it came from one."""

    target: Target
    credential: Any
    endpoint: Endpoint = field(default_factory=Endpoint)
    inventory: Inventory | None = None
    concurrency: int = 4  # requests in flight to the workspace
    # Writes and deletes paced at ARM's per-subscription buckets, as a rollout paces them
    # (packer.rollout.budget): sending faster only buys 429s and back-off. None: unpaced.
    limits: ArmLimits | None = field(default_factory=ArmLimits)
    _budget: SubscriptionBudget | None = field(default=None, init=False, repr=False)

    @property
    def budget(self) -> SubscriptionBudget | None:
        """The subscription's budget, shared by every client of this connection."""
        if self._budget is None and self.limits is not None:
            self._budget = SubscriptionBudget(self.target.subscription_id.lower(), self.limits)
        return self._budget

    def client(self) -> WorkspaceClient:
        return WorkspaceClient(self.target, self.credential, self.endpoint.url, self.endpoint.ca_cert,
                               max_concurrency=self.concurrency, rate_limiter=self.budget)

    def check(self) -> None:
        """A token and an answer from the endpoint, before validation and KQL analysis take their
        seconds: a missing login or a stopped emulator is one line with the fix (CannotConnect)."""
        preflight(self.target, self.credential, self.endpoint.base_url, self.endpoint.ca_cert,
                  self.endpoint.emulator_tenant)

    def content(self, content_root: Path) -> ContentSet:
        """The validated content set with this workspace's overlays (when it is in an inventory)."""
        return self.contents(content_root)[0]

    def contents(self, content_root: Path) -> tuple[ContentSet, ContentSet]:
        """(the content with this workspace's overlays, the content before them): overlays shape the
        active items; the Content Hub package is built from the content as it is."""
        base = load_content_folder(content_root)
        overlaid = self.inventory.content_for(base, self.target) if self.inventory is not None else base
        return overlaid, base

    def plan(self, content_root: Path, commit: str | None = None, on_conflict: str = "fail", *,
             adopt: bool = False, adopt_from: tuple[str, ...] = ()):
        """What apply would change here (packer.plan.Plan); reads only. `adopt`, `adopt_from`:
        take ownership of existing items equal to the content (packer.plan.compute.compute_plan)."""
        from packer.plan.compute import compute_plan

        self.check()
        content, base = self.contents(content_root)
        with self.client() as client:
            return compute_plan(content, self.target, client, commit, package_content=base, on_conflict=on_conflict,
                                adopt=adopt, adopt_from=adopt_from)

    def status(self):
        """What the portal shows for this repository's package here (packer.plan.status.PackageStatus)."""
        from packer.plan.status import workspace_status

        with self.client() as client:
            return workspace_status(client)

    def export(self, out: Path):
        """The workspace's content written under `out` (packer.export.WorkspaceExport); reads only,
        paced by the subscription's read budget as the fleet's are."""
        from packer.export import export_workspace

        self.check()
        budget = FleetBudgets(ArmLimits()).for_subscription(self.target.subscription_id)
        with WorkspaceClient(self.target, self.credential, self.endpoint.url, self.endpoint.ca_cert,
                             max_concurrency=self.concurrency, rate_limiter=budget,
                             rate_limited_operations=frozenset({READ})) as client:
            return export_workspace(client, Path(out))

    def apply(self, plan, *, prune: bool = False, on_drift: str = "fail", progress=None, check_stale: bool = True):
        """Make the writes `plan` lists (packer.apply.apply_plan); returns the ApplyReport."""
        from packer.apply import apply_plan

        with self.client() as client:
            return apply_plan(plan, client, prune=prune, on_drift=on_drift, progress=progress, check_stale=check_stale)


def connect_workspace(target: str | None = None, targets: Path = DEFAULT_TARGETS, *,
                      flags: WorkspaceFlags | None = None, plan_target: Target | None = None,
                      endpoint: Endpoint | None = None, concurrency: int = 4,
                      rate_scale: float = 1.0) -> WorkspaceConnection:
    """The workspace named `target` in the inventory `targets`; else the one a saved plan was made
    for (`plan_target`, which `flags` may repeat but not contradict); else the one `flags` name.
    Writes are paced at ARM's per-subscription limits (times `rate_scale`), as a rollout's are."""
    endpoint = endpoint or Endpoint()
    flags = flags or WorkspaceFlags()
    limits = ArmLimits().scaled(rate_scale)
    if target:
        return replace(_from_inventory(target, Path(targets), endpoint, concurrency), limits=limits)
    if plan_target is not None:
        _check_flags_match_plan(flags, plan_target)
        resolved = plan_target
    else:
        missing = flags.missing()
        if missing:
            raise ConfigError(f"give --target NAME (from {targets}) or all of: {', '.join(missing)}")
        resolved = flags.target()
    credential = TenantBoundCredential(endpoint.credential(resolved.tenant_id), resolved.tenant_id, resolved.name)
    return WorkspaceConnection(resolved, credential, endpoint, None, concurrency, limits)


def _from_inventory(name: str, targets: Path, endpoint: Endpoint, concurrency: int) -> WorkspaceConnection:
    if not targets.is_file():
        raise ConfigError(f"--target {name}: the inventory {targets} does not exist")
    inventory = load_inventory(targets)
    target = inventory.target(name)
    credential = CredentialProvider(inventory, endpoint.credential_factory()).for_target(target)
    return WorkspaceConnection(target, credential, endpoint, inventory, concurrency)


def _check_flags_match_plan(flags: WorkspaceFlags, planned: Target) -> None:
    """A saved plan names its workspace and repository; flags that name another one are a mistake,
    not an override (the plan's writes carry its repository's ownership marks). --repository
    counts only when typed: its default, $GITHUB_REPOSITORY, may legitimately differ from the
    `repository:` of targets.yaml the plan was made with."""
    from packer.plan.live import same_repository

    pairs = (("--subscription", flags.subscription, planned.subscription_id),
             ("--resource-group", flags.resource_group, planned.resource_group),
             ("--workspace", flags.workspace, planned.workspace), ("--tenant", flags.tenant, planned.tenant_id))
    differ = [f"{flag} {given} (the plan's: {saved})" for flag, given, saved in pairs
              if given and given.lower() != (saved or "").lower()]
    if flags.repository_typed and flags.repository and not same_repository(flags.repository, planned.repository):
        differ.append(f"--repository {flags.repository} (the plan's: {planned.repository})")
    if differ:
        raise ConfigError("the saved plan is for another workspace or repository: " + "; ".join(differ)
                          + ". Run plan for this workspace, or drop these flags to apply it to the workspace it was made for")


# --- the fleet --------------------------------------------------------------------------------


@dataclass
class Fleet:
    """Selected workspaces of an inventory and how to reach each (credential per tenant, budget per
    subscription)."""

    inventory: Inventory
    targets: list[Target]
    connection: FleetConnection
    endpoint: Endpoint = field(default_factory=Endpoint)
    _loaded: dict[Path, ContentSet] = field(default_factory=dict, init=False, repr=False)

    def content(self, content_root: Path) -> ContentSet:
        """The content folder, validated once per Fleet: a plan or rollout and the report page's
        coverage after it read the same files (a Fleet is one run; a new run connects anew)."""
        key = Path(content_root).resolve()
        if key not in self._loaded:
            self._loaded[key] = load_content_folder(content_root)
        return self._loaded[key]

    def check(self) -> None:
        """As WorkspaceConnection.check, on the first selected workspace (before content is loaded)."""
        preflight_fleet(self.connection, self.targets, self.endpoint.emulator_tenant)

    def plan(self, content_root: Path, commit: str | None = None, adoption=None):
        """Every selected workspace planned with its overlays (packer.rollout.fleet_plan.FleetPlan);
        `adoption` (packer.plan.model.Adoption): --adopt / --adopt-from in every one of them."""
        from packer.plan.model import Adoption
        from packer.rollout.fleet_plan import plan_fleet

        self.check()
        return plan_fleet(self.content(content_root), self.inventory, self.targets, self.connection, commit,
                          adoption=adoption or Adoption())

    def rollout(self, content_root: Path, options=None, observer=None):
        """Deploy wave by wave (packer.rollout.engine.rollout); returns the FleetReport."""
        from packer.rollout.engine import RolloutOptions, rollout

        self.check()
        content = self.content(content_root)
        return rollout(content, self.inventory, self.targets, self.connection, options or RolloutOptions(), observer)

    def plan_install(self, package, parameters: dict | None = None, commit: str | None = None):
        """The install of a package zip (packer.package.install.PackageFile) planned in every selected
        workspace (packer.rollout.install.plan_fleet_install; a FleetPlan). Reads only."""
        from packer.rollout.install import check_fleet_install, plan_fleet_install

        check_fleet_install(package, self.targets, parameters)  # a bad template: no request at all
        self.check()
        return plan_fleet_install(package, self.inventory, self.targets, self.connection, parameters=parameters,
                                  commit=commit)

    def install(self, package, parameters: dict | None = None, options=None, observer=None):
        """Install a package zip wave by wave (packer.rollout.install.install_fleet); the FleetReport."""
        from packer.rollout.engine import RolloutOptions
        from packer.rollout.install import check_fleet_install, install_fleet

        check_fleet_install(package, self.targets, parameters)
        self.check()
        return install_fleet(package, self.inventory, self.targets, self.connection, parameters=parameters,
                             options=options or RolloutOptions(), observer=observer)

    def export(self, out: Path):
        """Every selected workspace read (paced by each subscription's read budget) and written
        under `out` de-forked: one content item per rule, overlays in `out`/targets.yaml
        (packer.export.fleet.FleetExport)."""
        from packer.export.fleet import export_fleet
        from packer.export.workspace import read_workspace

        self.check()
        reads = []
        for target in self.targets:
            with self.connection.client_for(target, pace_reads=True) as client:
                reads.append(read_workspace(client))
        return export_fleet(reads, self.inventory.path, Path(out))

    def status(self):
        """packer.plan.status.PackageStatus of every selected workspace."""
        from packer.plan.status import workspace_status

        out = []
        for target in self.targets:
            with self.connection.client_for(target) as client:
                out.append(workspace_status(client))
        return out

    def coverage(self, content_root: Path, live: bool = False, fleet_plan=None):
        """ATT&CK coverage of every selected workspace (packer.coverage.CoverageReport): `live` reads
        the workspaces; otherwise the content and overlays, and the blocked items of `fleet_plan`
        (workspace name -> Plan, from a saved fleet plan) when given."""
        from packer.coverage import live_coverage, offline_coverage

        content = self.content(content_root)
        if live:
            self.check()
            return live_coverage(content, self.inventory, self.targets, self.connection)
        return offline_coverage(content, self.inventory, self.targets, fleet_plan)

    def doctor(self, content_root: Path):
        """Whether each selected workspace can take the content (packer.rollout.doctor.DoctorResult list)."""
        from packer.rollout.doctor import doctor

        self.check()
        return doctor(self.content(content_root), self.inventory, self.targets, self.connection)


def connect_fleet(targets: Path = DEFAULT_TARGETS, *, wave: str | None = None, select: str | None = None,
                  names: list[str] | None = None, endpoint: Endpoint | None = None, rate_scale: float = 1.0,
                  requests_per_workspace: int = 4) -> Fleet:
    """The inventory's workspaces: all, one wave's, those matching `select` (name globs,
    comma-separated), or exactly `names`. Requests are paced per subscription at ARM's limits
    (times `rate_scale`, for an emulator configured faster)."""
    endpoint = endpoint or Endpoint()
    inventory = load_inventory(Path(targets))
    chosen = [inventory.target(n) for n in names] if names else inventory.select(wave=wave or None, glob=select or None)
    connection = FleetConnection(CredentialProvider(inventory, endpoint.credential_factory()), endpoint.url,
                                 endpoint.ca_cert, budgets=FleetBudgets(ArmLimits().scaled(rate_scale)),
                                 requests_per_workspace=requests_per_workspace)
    return Fleet(inventory, chosen, connection, endpoint)


def plan_exit_code(plan) -> int:
    """0 no changes, 2 changes, 1 a workspace of a fleet plan could not be planned, or an upgrade
    conflicts with edits made in the workspace (--on-conflict fail)."""
    if getattr(plan, "errors", None):
        return EXIT_ERROR
    if any(item.action.value == "conflict" for item in getattr(plan, "items", ())):
        return EXIT_ERROR
    return EXIT_CHANGES if plan.has_changes else EXIT_NO_CHANGES


__all__ = ["Endpoint", "Fleet", "WorkspaceConnection", "WorkspaceFlags", "connect_fleet", "connect_workspace",
           "current_commit", "emulator_credential", "load_content_folder", "plan_exit_code"]
