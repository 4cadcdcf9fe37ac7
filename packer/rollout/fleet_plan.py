"""One plan for the whole fleet: a row per workspace and a matrix of items x workspaces."""
from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Mapping

from packer import __version__
from packer.content.model import ContentSet
from packer.errors import PackerError
from packer.plan.model import CHANGING, Action, Adoption, Plan
from packer.rollout.connection import FleetConnection
from packer.targets import Inventory, Target

FLEET_PLAN_FORMAT = "sentinel-packer/fleet-plan@1"


@dataclass(frozen=True)
class WorkspacePlan:
    """The plan of one workspace, or why there is none (error)."""

    target: Target
    tenant: str
    plan: Plan | None = None
    error: str | None = None
    content_digest: str | None = None  # content_digest(): what the content makes here

    @property
    def counts(self) -> dict[str, int]:
        if self.plan is None:
            return {}
        return {a.value: self.plan.counts.get(a, 0) for a in Action}

    @property
    def has_changes(self) -> bool:
        return self.plan is not None and self.plan.has_changes


@dataclass(frozen=True)
class FleetPlan:
    workspaces: tuple[WorkspacePlan, ...]
    commit: str | None = None
    adoption: Adoption = Adoption()  # the --adopt / --adopt-from every workspace was planned with

    @property
    def has_changes(self) -> bool:
        return any(w.has_changes for w in self.workspaces)

    @property
    def errors(self) -> list[WorkspacePlan]:
        return [w for w in self.workspaces if w.error]

    def totals(self) -> dict[str, int]:
        totals = dict.fromkeys((a.value for a in Action), 0)
        for workspace in self.workspaces:
            for action, count in workspace.counts.items():
                totals[action] += count
        return totals

    def matrix(self) -> dict[str, dict[str, str]]:
        """item key -> {workspace name: action}, for items that change somewhere (in item order)."""
        cells: dict[str, dict[str, str]] = {}
        for workspace in self.workspaces:
            for item in workspace.plan.items if workspace.plan else ():
                cells.setdefault(item.key, {})[workspace.target.name] = item.action.value
        changing = {a.value for a in CHANGING} | {Action.BLOCKED.value}
        return {key: row for key, row in cells.items() if changing & set(row.values())}

    def item_names(self) -> dict[str, str]:
        """item key -> the name shown; Content Hub rows say so (a template has its item's name)."""
        return {item.key: f"{item.kind.lower()}: {item.name}" if item.kind in ("Package", "Template") else item.name
                for w in self.workspaces if w.plan for item in w.plan.items}

    def summary(self) -> str:
        totals = self.totals()
        changed = sum(1 for w in self.workspaces if w.has_changes)
        text = (f"Fleet plan: {len(self.workspaces)} workspace(s), {changed} with changes; "
                f"{totals['create']} to create, {totals['update']} to update, {totals['prune']} to prune")
        text += "".join(f", {totals[a]} to {a}" for a in ("upgrade", "uninstall", "adopt") if totals.get(a))
        extra = [f"{totals[a]} {a}" for a in ("drifted", "conflict", "blocked", "foreign") if totals.get(a)]
        if extra:
            text += "; " + ", ".join(extra)
        if self.errors:
            text += f"; {len(self.errors)} workspace(s) could not be planned"
        return text

    def to_dict(self) -> dict:
        return {
            "format": FLEET_PLAN_FORMAT,
            "tool_version": __version__,
            "commit": self.commit,
            "adoption": self.adoption.to_dict(),
            "summary": self.summary(),
            "has_changes": self.has_changes,
            "totals": self.totals(),
            "workspaces": [
                {"name": w.target.name, "tenant": w.tenant, "wave": w.target.wave, "workspace_id": w.target.workspace_id,
                 "counts": w.counts, "error": w.error, "content_digest": w.content_digest,
                 "plan": w.plan.to_dict() if w.plan else None}
                for w in self.workspaces
            ],
            "matrix": self.matrix(),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def content_digest(content: ContentSet, target: Target, package_content: ContentSet | None = None) -> str:
    """sha256 of what the content makes for `target`: its active items' bodies and metadata, and
    the Content Hub package's bodies, rendered without a commit (pure: reads no workspace)."""
    from packer.bodies.resources import desired_resources
    from packer.package.hub_resources import content_package_bodies

    desired = [[d.resource_id.lower(), d.body, d.metadata_id.lower(), d.metadata_body]
               for d in desired_resources(content, target, None)]
    bodies = content_package_bodies(package_content or content, target)
    hub = [] if bodies is None else [[r.resource_id.lower(), r.body] for r in (bodies.package, *bodies.templates)]
    text = json.dumps({"items": desired, "hub": hub}, sort_keys=True, ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def workspace_contents(content: ContentSet, inventory: Inventory, targets: list[Target]) -> Mapping[str, ContentSet]:
    """Each workspace's content with its overlays applied. Computed for all workspaces up front,
    so an overlay mistake stops the run before anything is read or written anywhere."""
    return {target.name: inventory.content_for(content, target) for target in targets}


def plan_fleet(content: ContentSet, inventory: Inventory, targets: list[Target], connection: FleetConnection,
               commit: str | None = None, parallel: int = 8, adoption: Adoption = Adoption()) -> FleetPlan:
    """Plan every selected workspace (in parallel, read-only); `adoption` in each of them."""
    contents = workspace_contents(content, inventory, targets)

    def plan_one(target: Target) -> WorkspacePlan:
        return plan_workspace(contents[target.name], inventory, target, connection, commit,
                              package_content=content, adoption=adoption)

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="plan") as pool:
        planned = tuple(pool.map(plan_one, targets))
    return FleetPlan(planned, commit, adoption)


def plan_workspace(content: ContentSet, inventory: Inventory, target: Target, connection: FleetConnection,
                   commit: str | None,
                   package_content: ContentSet | None = None, adoption: Adoption = Adoption()) -> WorkspacePlan:
    from packer.plan.compute import compute_plan

    tenant = inventory.tenant_of(target).name
    try:
        with connection.client_for(target) as client:
            plan = compute_plan(content, target, client, commit, package_content=package_content,
                                adopt=adoption.adopt, adopt_from=adoption.adopt_from)
            return WorkspacePlan(target, tenant, plan=plan,
                                 content_digest=content_digest(content, target, package_content))
    except PackerError as exc:
        return WorkspacePlan(target, tenant, error=str(exc))
