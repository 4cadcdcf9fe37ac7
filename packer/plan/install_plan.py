"""The plan for `install PACKAGE.zip`: the package's contentPackages and contentTemplates, planned
by the same Content Hub planner `plan`/`apply` use for the content's own package
(packer.plan.content_hub.plan_install), so ownership, upgrades and `foreign` work the same way.

The package is evaluated for the workspace as a portal install would (packer.package.install),
with the parameters createUiDefinition passes, the location as `apply` passes it (see below). What the template
deploys directly besides the package and its templates (item metadata, parsers' savedSearches,
data connectors: Content Hub's own install deploys them too) is not written by install; the plan
lists it in its notes.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from packer.bodies.resources import owner_source_id
from packer.package.arm_expr import Scope
from packer.package.deploy import DeployScope
from packer.package.hub_resources import package_bodies
from packer.package.install import PackageFile, PackageInstall, deployment_parameters, package_install
from packer.plan.content_hub import plan_install
from packer.plan.live import fingerprint, read_live_state
from packer.plan.model import Plan
from packer.remote.client import WorkspaceClient
from packer.targets.model import Target


# `workspace-location` as plan/apply pass it for the content's own package (packer.plan.compute:
# DeployScope.of(target)), so a built zip installs exactly the templates `apply` of its content
# writes, and a re-plan reads list calls only. A portal install passes the workspace's region;
# it shows only in the `location` of the resources inside each template (docs/install.md).
_LOCATION = ""


def evaluate_install(package: PackageFile, target: Target, parameters: dict[str, Any] | None = None) -> PackageInstall:
    """The package evaluated for `target`'s workspace (pure; PackageError when it cannot be)."""
    return package_install(package, Scope(target.subscription_id, target.resource_group, _LOCATION),
                           target.workspace, parameters)


def compute_install_plan(package: PackageFile, target: Target, client: WorkspaceClient, *,
                         parameters: dict[str, Any] | None = None, commit: str | None = None) -> Plan:
    """The plan that installs `package` into the workspace `client` talks to (reads only)."""
    location = _LOCATION
    install = evaluate_install(package, target, parameters)  # PackageError before anything is read
    values = deployment_parameters(package, target.workspace, location, parameters)
    scope = DeployScope(target.subscription_id, target.resource_group, target.workspace, location,
                        tuple(sorted(values.items())))
    bodies = package_bodies(package.main_template, scope)
    state = read_live_state(client)
    owner = owner_source_id(target.repository, package.path.name, commit)
    items = plan_install(bodies, state, target, owner, uninstall_others=False)
    watched = sorted({rid for item in items for rid in (item.resource_id, *(w.resource_id for w in item.writes))})
    notes = tuple(f"not written by install (a portal install deploys it too): {r.type.rsplit('/', 1)[-1]} "
                  f"{r.name.rsplit('/', 1)[-1]}" for r in install.others)
    return Plan(target=target, commit=commit, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                fingerprint=fingerprint(state.etags(), watched), watched=tuple(watched), items=tuple(items),
                notes=notes)
