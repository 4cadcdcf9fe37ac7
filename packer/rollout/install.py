"""`install PACKAGE.zip --all | --wave W | --select GLOBS`: one Content Hub package zip installed
across the fleet of the inventory.

Each workspace's install is what `install --target` does there (packer.plan.install_plan): the
package evaluated for that workspace (its subscription, resource group and workspace name from
the inventory, the same --parameter values for all), planned against what the workspace holds,
applied. The package is evaluated for every selected workspace before anything is read, so a
template that cannot be evaluated (a missing parameter, an unsupported function) stops the run
before any request. Applying goes wave by wave through the rollout's engine
(packer.rollout.engine.run_waves): its failure thresholds, `--max-failures`, parallelism and
per-subscription budgets. Re-running is cheap: an installed package plans as unchanged.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from packer.auth import TenantMismatch
from packer.errors import PackerError
from packer.package.install import PackageFile
from packer.plan.install_plan import compute_install_plan, evaluate_install
from packer.rollout.connection import FleetConnection
from packer.rollout.engine import RolloutObserver, RolloutOptions, from_apply_report, run_waves, since
from packer.rollout.fleet_plan import FleetPlan, WorkspacePlan
from packer.rollout.report import FleetReport, WorkspaceResult, WorkspaceStatus
from packer.targets import Inventory, Target


def check_fleet_install(package: PackageFile, targets: list[Target], parameters: dict[str, Any] | None = None) -> None:
    """Evaluate the package for every workspace (pure): PackageError before any request."""
    for target in targets:
        evaluate_install(package, target, parameters)


def plan_fleet_install(package: PackageFile, inventory: Inventory, targets: list[Target],
                       connection: FleetConnection, *, parameters: dict[str, Any] | None = None,
                       commit: str | None = None, parallel: int = 8) -> FleetPlan:
    """The install planned in every selected workspace (in parallel, reads only); a workspace
    that cannot be planned (unreachable, refused token) is a row with its error."""
    check_fleet_install(package, targets, parameters)

    def plan_one(target: Target) -> WorkspacePlan:
        tenant = inventory.tenant_of(target).name
        try:
            with connection.client_for(target) as client:
                plan = compute_install_plan(package, target, client, parameters=parameters, commit=commit)
        except PackerError as exc:
            return WorkspacePlan(target, tenant, error=str(exc))
        return WorkspacePlan(target, tenant, plan=plan)

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="install-plan") as pool:
        return FleetPlan(tuple(pool.map(plan_one, targets)), commit)


def install_fleet(package: PackageFile, inventory: Inventory, targets: list[Target], connection: FleetConnection,
                  *, parameters: dict[str, Any] | None = None, options: RolloutOptions = RolloutOptions(),
                  observer: RolloutObserver | None = None) -> FleetReport:
    """Install wave by wave (options.parallel, options.max_failures and options.commit apply;
    prune, on_drift, on_conflict and reviewed plans are the content rollout's and are ignored)."""
    check_fleet_install(package, targets, parameters)
    return run_waves(inventory, targets, connection, options, observer,
                     lambda target: install_workspace(package, inventory, target, connection,
                                                      parameters=parameters, commit=options.commit))


def install_workspace(package: PackageFile, inventory: Inventory, target: Target, connection: FleetConnection, *,
                      parameters: dict[str, Any] | None = None, commit: str | None = None) -> WorkspaceResult:
    """Plan and apply the install in one workspace; a workspace-level problem is reported, not raised."""
    from packer.apply import apply_plan

    base = WorkspaceResult(target.name, inventory.tenant_of(target).name, target.wave or "", WorkspaceStatus.SUCCEEDED)
    started = time.monotonic()
    try:
        with connection.client_for(target) as client:
            plan = compute_install_plan(package, target, client, parameters=parameters, commit=commit)
            report = apply_plan(plan, client, check_stale=False)  # planned just now
    except TenantMismatch as exc:
        return replace(base, status=WorkspaceStatus.REFUSED, error=str(exc), seconds=since(started))
    except PackerError as exc:
        return replace(base, status=WorkspaceStatus.FAILED, error=str(exc), seconds=since(started))
    return replace(from_apply_report(base, report), seconds=since(started))
