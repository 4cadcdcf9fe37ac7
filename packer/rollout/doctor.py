"""doctor: can each workspace take the content? Token tenant, workspace, Sentinel onboarding,
the identity's permissions (as far as ARM tells), and the tables (and their columns) each rule reads."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fnmatch import fnmatchcase

from packer import resource_ids
from packer.auth import TenantMismatch
from packer.content.model import ContentSet
from packer.errors import ConfigError, PackerError
from packer.plan.query_needs import WorkspaceTables, missing_tables, needs_reader
from packer.remote.errors import AuthorizationFailed, NotFound, RemoteError
from packer.rollout.connection import FleetConnection
from packer.rollout.fleet_plan import workspace_contents
from packer.targets import Inventory, Target

PERMISSIONS_API_VERSION = "2022-04-01"
# What apply writes (see arm/README.md for the roles that grant them).
NEEDED_ACTIONS = (
    "Microsoft.SecurityInsights/alertRules/write",
    "Microsoft.SecurityInsights/metadata/write",
    "Microsoft.OperationalInsights/workspaces/savedSearches/write",
    "Microsoft.Insights/workbooks/write",
)
ROLE_FIX = ("assign Microsoft Sentinel Contributor, Log Analytics Contributor and Workbook Contributor "
            "(arm/ci-identity-roles.json, or arm/lighthouse-delegation.json for a customer tenant)")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: could not tell
    detail: str = ""
    fix: str = ""


@dataclass(frozen=True)
class DoctorResult:
    target: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)


def doctor(content: ContentSet, inventory: Inventory, targets: list[Target], connection: FleetConnection,
           parallel: int = 8) -> list[DoctorResult]:
    contents = workspace_contents(content, inventory, targets)
    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="doctor") as pool:
        return list(pool.map(lambda t: examine(contents[t.name], t, connection), targets))


def examine(content: ContentSet, target: Target, connection: FleetConnection) -> DoctorResult:
    checks: list[Check] = []
    try:
        client = connection.client_for(target)
    except TenantMismatch as exc:
        return DoctorResult(target.name, (Check("token tenant", False, str(exc), "fix the tenant's auth in targets.yaml or the CI credential"),))
    except ConfigError as exc:  # e.g. a --ca-cert that does not exist: not a sign-in problem
        return DoctorResult(target.name, (Check("connection", False, str(exc), "fix --base-url / --ca-cert"),))
    except PackerError as exc:
        return DoctorResult(target.name, (Check("credential", False, str(exc), "sign in (azure/login) or set the OIDC client id"),))
    checks.append(Check("token tenant", True, f"tokens come from tenant {connection.credentials.expected_tenant(target)}"))
    with client:
        try:
            client.get_workspace()
        except NotFound:
            checks.append(Check("workspace", False, f"{target.workspace_id} does not exist",
                                "check subscription, resourceGroup and workspace in targets.yaml"))
            return DoctorResult(target.name, tuple(checks))
        except AuthorizationFailed as exc:  # say which permissions are missing, if ARM tells
            if exc.code == "InvalidAuthenticationTokenTenant":  # no role helps: ARM refuses the tenant itself
                checks.append(Check("workspace", False, exc.message.split(". ")[0], _tenant_fix(connection, target)))
                return DoctorResult(target.name, tuple(checks))
            checks.append(Check("workspace", False, exc.message, ROLE_FIX))
            checks.append(_permissions(client))
            return DoctorResult(target.name, tuple(checks))
        except RemoteError as exc:
            checks.append(Check("workspace", False, f"{exc.code}: {exc.message}"))
            return DoctorResult(target.name, tuple(checks))
        checks.append(Check("workspace", True, "found"))
        checks.append(_onboarding(client))
        checks.append(_permissions(client))
        checks.append(_tables(client, content))
    return DoctorResult(target.name, tuple(checks))


def _tenant_fix(connection: FleetConnection, target: Target) -> str:
    managing = connection.credentials.expected_tenant(target)
    if managing.lower() != target.tenant_id.lower():
        return (f"the customer has not delegated subscription {target.subscription_id} to the managing tenant "
                f"{managing} (Azure Lighthouse): deploy arm/lighthouse-delegation.json in that subscription")
    return (f"subscription {target.subscription_id} does not belong to tenant {target.tenant_id}: "
            "check the workspace's tenant and subscription in targets.yaml")


def _onboarding(client) -> Check:
    try:
        state = client.get(f"{resource_ids.sentinel_collection(client.workspace_id, 'onboardingStates')}/default")
    except RemoteError as exc:
        return Check("Sentinel onboarded", None, f"cannot tell: {exc.code}: {exc.message}")
    if state is None:
        return Check("Sentinel onboarded", False, "Microsoft Sentinel is not enabled on this workspace",
                     "onboard it (portal: Microsoft Sentinel > Add, or PUT onboardingStates/default)")
    return Check("Sentinel onboarded", True, "yes")


def _permissions(client) -> Check:
    try:
        entries = client.list_collection(resource_ids.permissions_collection(client.workspace_id),
                                         {"api-version": PERMISSIONS_API_VERSION})
    except AuthorizationFailed as exc:
        return Check("identity roles", False, exc.message, ROLE_FIX)
    except RemoteError as exc:
        return Check("identity roles", None, f"cannot tell ({exc.code}); reads work, writes are checked on apply")
    missing = [a for a in NEEDED_ACTIONS if not allowed(a, entries)]
    if missing:
        return Check("identity roles", False, "missing: " + ", ".join(missing), ROLE_FIX)
    return Check("identity roles", True, "can write rules, metadata, saved searches and workbooks")


def allowed(action: str, permissions: list[dict]) -> bool:
    """ARM's effective permission: some entry's actions match and its notActions do not."""
    action = action.lower()
    for entry in permissions:
        grants = any(fnmatchcase(action, a.lower()) for a in entry.get("actions") or [])
        denies = any(fnmatchcase(action, a.lower()) for a in entry.get("notActions") or [])
        if grants and not denies:
            return True
    return False


def _tables(client, content: ContentSet) -> Check:
    try:
        available = WorkspaceTables.from_bodies(client.list_in(resource_ids.TABLES))
    except RemoteError as exc:
        return Check("tables", None, f"cannot list tables: {exc.code}: {exc.message}")
    problems = []
    needs_of = needs_reader(content)
    for rule in (*content.analytic_rules, *content.hunting_queries):
        needs = needs_of(rule.query)
        missing = missing_tables(set(needs.tables), available.names)
        if missing:
            problems.append(f"'{rule.name}' reads {', '.join(missing)}")
        problems += [f"'{rule.name}': {problem}" for problem in available.column_problems(needs.columns)]
    if problems:
        return Check("tables", False, "; ".join(problems),
                     "connect the data sources these rules need, or disable the rules for this workspace in targets.yaml")
    return Check("tables", True, f"every rule's tables and columns exist ({len(available.names)} tables)")
