"""The reviewed plan: apply, per workspace, the plan a pull request showed, when nothing it was
computed from has moved since; otherwise plan that workspace again and say why.

A fleet plan saved by `plan` records, per workspace, the plan (its writes and the fingerprint of
the etags it read) and a digest of the content as that workspace receives it (overlays applied,
the Content Hub package included; the commit left out, since the pull request's test-merge
commit is never main's). At rollout, a workspace's saved plan is applied exactly when:

- the saved plan has a plan for this workspace, made by this version of sentinel-packer, for
  the same workspace id, tenant and repository as targets.yaml now names;
- the content digest is the one computed now (same content, same overlays);
- every write stays inside the workspace's resource group (a forged artifact cannot aim the
  deploying identity elsewhere);
- no merge conflict is left for `--on-conflict` to settle differently than the review showed;
- the workspace's etags of everything the plan read or writes are still those it read
  (the same fingerprint `apply --plan` checks).

Otherwise the workspace is planned afresh and the reason is reported (`Decision.reason`).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packer import __version__
from packer.apply.run import changed_since
from packer.errors import ConfigError
from packer.plan.live import same_repository
from packer.plan.model import Action, Plan
from packer.rollout.fleet_plan import FLEET_PLAN_FORMAT
from packer.targets.model import Target


@dataclass(frozen=True)
class SavedWorkspacePlan:
    """One workspace's entry of a saved fleet plan."""

    name: str
    plan: Plan | None
    content_digest: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ReviewedPlan:
    """A fleet plan saved by `plan` (the pull request's), read back for rollout."""

    workspaces: Mapping[str, SavedWorkspacePlan]  # by workspace name
    tool_version: str | None = None
    commit: str | None = None
    source: str = ""  # where it came from, for the report (a file, or "pull request #N, run R")

    def entry(self, name: str) -> SavedWorkspacePlan | None:
        return self.workspaces.get(name)


def load_reviewed_plan(path: Path, source: str = "") -> ReviewedPlan:
    """Read a fleet plan file (`plan --all --out`, the action's plan.json); ConfigError naming
    the file and the field when it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the reviewed plan ({exc.strerror})") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: the reviewed plan is not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FLEET_PLAN_FORMAT:
        raise ConfigError(f"{path}: not a sentinel-packer fleet plan (field `format` must be {FLEET_PLAN_FORMAT!r}); "
                          "save one with `plan --all --out FILE` or the action's plan command")
    entries = data.get("workspaces")
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: field `workspaces` must be a list")
    workspaces: dict[str, SavedWorkspacePlan] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ConfigError(f"{path}: workspaces[{index}].name is missing")
        try:
            plan = Plan.from_dict(entry["plan"]) if entry.get("plan") else None
        except ConfigError as exc:
            raise ConfigError(f"{path}: workspaces[{index}].plan ({entry['name']}): {exc}") from None
        workspaces[entry["name"]] = SavedWorkspacePlan(entry["name"], plan, entry.get("content_digest"),
                                                       entry.get("error"))
    return ReviewedPlan(workspaces, data.get("tool_version"), data.get("commit"), source or str(path))


@dataclass(frozen=True)
class NoReviewedPlan:
    """Why the CI system (GitHub, Azure DevOps) found no reviewed plan for the commit being rolled
    out: the rollout then plans every workspace afresh and says this."""

    reason: str


@dataclass(frozen=True)
class Decision:
    """For one workspace: the saved plan to apply, or None and why it is planned again."""

    plan: Plan | None
    reason: str = ""

    @property
    def reviewed(self) -> bool:
        return self.plan is not None


def decide(saved: SavedWorkspacePlan | None, target: Target, digest: str, live_etags: Callable[[], Mapping[str, str]],
           *, tool_version: str | None, on_conflict: str = "fail") -> Decision:
    """Whether `saved` may be applied to `target` as reviewed. `digest` is fleet_plan.content_digest()
    of the content now; `live_etags` reads the workspace (called last, only when all else agrees)."""
    reason = _static_reason(saved, target, digest, tool_version, on_conflict)
    if reason:
        return Decision(None, reason)
    plan = saved.plan
    moved = changed_since(plan, live_etags())
    if moved is not None:
        return Decision(None, f"the workspace changed since the review{moved}")
    return Decision(plan)


def _static_reason(saved: SavedWorkspacePlan | None, target: Target, digest: str, tool_version: str | None,
                   on_conflict: str) -> str:
    if saved is None:
        return "not in the reviewed plan"
    if saved.plan is None:
        return f"the review could not plan it ({saved.error or 'no plan saved'})"
    plan = saved.plan
    if tool_version != __version__:
        return f"the review was planned by sentinel-packer {tool_version or '(unknown)'}, this is {__version__}"
    if not _same_workspace(plan.target, target):
        return "its entry in the inventory changed since the review (workspace, tenant or repository)"
    if not saved.content_digest:
        return "the reviewed plan records no content digest"
    if saved.content_digest != digest:
        return "the content changed since the review"
    outside = [w.resource_id for item in plan.items for w in item.writes if not _inside(w.resource_id, target)]
    if outside:
        return f"the reviewed plan writes outside the workspace's resource group ({outside[0]}): not trusted"
    if on_conflict != "fail" and any(item.action is Action.CONFLICT for item in plan.items):
        return f"the review left merge conflicts, which this rollout settles with --on-conflict {on_conflict}"
    return ""


def _same_workspace(planned: Target, target: Target) -> bool:
    return (planned.workspace_id.lower() == target.workspace_id.lower()
            and planned.tenant_id.lower() == target.tenant_id.lower()
            and same_repository(planned.repository, target.repository))


def _inside(resource_id: str, target: Target) -> bool:
    return resource_id.lower().startswith(target.resource_group_id.lower() + "/")

