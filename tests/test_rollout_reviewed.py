"""The reviewed plan at rollout: each workspace gets the plan the pull request showed exactly when
its content and live state are unchanged since; otherwise it is planned again, with the reason."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from packer import __version__, resource_ids
from packer.content.load import load_content_unchecked
from packer.errors import ConfigError
from packer.plan.live import fingerprint
from packer.plan.model import Action, Plan, PlanItem, Write
from packer.remote.client import WorkspaceClient
from packer.rollout.engine import RolloutOptions, rollout
from packer.rollout.fleet_plan import content_digest, plan_fleet
from packer.rollout.report import PlanSource
from packer.rollout.reviewed import SavedWorkspacePlan, decide, load_reviewed_plan
from packer.targets import Target, load_inventory
from packer.views.rollout import rollout_report_markdown
from tests.fleetkit import KASEYA_RULE_ID, emulator_config, fleet_inventory, write_content
from tests.test_rollout import connect

TARGET = Target("ws00", "11111111-1111-4111-8111-111111111111", "00000000-0000-4000-8000-000000000001", "rg-sec",
                "law", "contoso/sentinel-content")
RULE_ID = f"{TARGET.workspace_id}/providers/Microsoft.SecurityInsights/alertRules/r1"
DIGEST = "sha256:content"


def saved_plan(target: Target = TARGET, etag: str | None = "e1", action: Action = Action.UPDATE,
               resource_id: str = RULE_ID, digest: str | None = DIGEST) -> SavedWorkspacePlan:
    etags = {resource_id.lower(): etag} if etag else {}
    item = PlanItem("AnalyticsRule/r1", "AnalyticsRule", "Rule one", action, "alertRules", resource_id,
                    writes=(Write("PUT", resource_id, {"properties": {"severity": "High"}}, etag),))
    plan = Plan(target, "c-pr", "2026-01-01T00:00:00+00:00", fingerprint(etags, [resource_id]), (resource_id,), (item,))
    return SavedWorkspacePlan(target.name, plan, digest)


class Reads:
    """The live read decide() asks for, counted (it must come last, and only when needed)."""

    def __init__(self, etags: dict[str, str]):
        self.etags, self.calls = etags, 0

    def __call__(self) -> dict[str, str]:
        self.calls += 1
        return self.etags


def test_unchanged_content_and_workspace_apply_the_saved_plan_exactly():
    saved, live = saved_plan(), Reads({RULE_ID.lower(): "e1"})
    decision = decide(saved, TARGET, DIGEST, live, tool_version=__version__)
    assert decision.plan is saved.plan and decision.reason == "" and live.calls == 1


def test_the_repository_name_compares_as_github_compares_it_ignoring_case():
    saved, live = saved_plan(), Reads({RULE_ID.lower(): "e1"})
    renamed = dataclasses.replace(TARGET, repository=TARGET.repository.upper())
    decision = decide(saved, renamed, DIGEST, live, tool_version=__version__)
    assert decision.plan is saved.plan and decision.reason == ""


def test_a_workspace_edited_since_the_review_is_replanned_naming_the_resource():
    live = Reads({RULE_ID.lower(): "e2"})
    decision = decide(saved_plan(), TARGET, DIGEST, live, tool_version=__version__)
    assert decision.plan is None
    assert decision.reason == "the workspace changed since the review (r1)"


def test_a_resource_created_where_the_review_saw_none_is_a_change():
    live = Reads({RULE_ID.lower(): "e9"})
    decision = decide(saved_plan(etag=None, action=Action.CREATE), TARGET, DIGEST, live, tool_version=__version__)
    assert decision.plan is None and "changed since the review" in decision.reason


@pytest.mark.parametrize("change, reason", [
    (lambda s: (None, TARGET, DIGEST, __version__, "fail"), "not in the reviewed plan"),
    (lambda s: (SavedWorkspacePlan("ws00", None, None, "403 Forbidden"), TARGET, DIGEST, __version__, "fail"),
     "the review could not plan it (403 Forbidden)"),
    (lambda s: (s, TARGET, "sha256:other", __version__, "fail"), "the content changed since the review"),
    (lambda s: (dataclasses.replace(s, content_digest=None), TARGET, DIGEST, __version__, "fail"),
     "the reviewed plan records no content digest"),
    (lambda s: (s, TARGET, DIGEST, "0.0.1", "fail"),
     f"the review was planned by sentinel-packer 0.0.1, this is {__version__}"),
    (lambda s: (s, dataclasses.replace(TARGET, workspace="law-moved"), DIGEST, __version__, "fail"),
     "its entry in the inventory changed since the review (workspace, tenant or repository)"),
    (lambda s: (s, dataclasses.replace(TARGET, repository="contoso/other"), DIGEST, __version__, "fail"),
     "its entry in the inventory changed since the review (workspace, tenant or repository)"),
])
def test_what_the_live_read_is_not_needed_for(change, reason):
    saved, target, digest, version, on_conflict = change(saved_plan())
    live = Reads({RULE_ID.lower(): "e1"})
    decision = decide(saved, target, digest, live, tool_version=version, on_conflict=on_conflict)
    assert (decision.plan, decision.reason) == (None, reason)
    assert live.calls == 0  # decided without reading the workspace


def test_a_write_outside_the_workspaces_resource_group_is_never_trusted():
    elsewhere = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-other/providers/x/y"
    decision = decide(saved_plan(resource_id=elsewhere), TARGET, DIGEST, Reads({elsewhere.lower(): "e1"}),
                      tool_version=__version__)
    assert decision.plan is None and "writes outside the workspace's resource group" in decision.reason


def test_conflicts_left_by_the_review_are_replanned_only_when_this_rollout_settles_them():
    saved, live = saved_plan(action=Action.CONFLICT), Reads({RULE_ID.lower(): "e1"})
    assert decide(saved, TARGET, DIGEST, live, tool_version=__version__, on_conflict="fail").plan is saved.plan
    settled = decide(saved, TARGET, DIGEST, live, tool_version=__version__, on_conflict="ours")
    assert settled.plan is None and "--on-conflict ours" in settled.reason


def test_content_digest_follows_each_workspaces_content_not_the_commit(tmp_path: Path):
    content = load_content_unchecked(write_content(tmp_path / "content"))
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=6, subscriptions=2))
    inventory = load_inventory(tmp_path / "targets.yaml")
    ws00, ws03 = inventory.target("ws00"), inventory.target("ws03")
    digest = {t.name: content_digest(inventory.content_for(content, t), t, content) for t in (ws00, ws03)}
    assert digest["ws00"] == content_digest(inventory.content_for(content, ws00), ws00, content)  # stable
    assert digest["ws00"] != digest["ws03"]  # ws03 has an overlay (and is another workspace)

    rule = tmp_path / "content" / "analytic-rules" / "kaseya_rmm.yaml"
    rule.write_text(rule.read_text().replace("severity: Medium", "severity: High"))
    edited = load_content_unchecked(tmp_path / "content")
    assert content_digest(inventory.content_for(edited, ws00), ws00, edited) != digest["ws00"]


def test_a_file_that_is_not_a_fleet_plan_is_refused_naming_file_and_field(tmp_path: Path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"format": "sentinel-packer/plan@1", "items": []}))
    with pytest.raises(ConfigError, match=r"plan\.json: not a sentinel-packer fleet plan \(field `format`"):
        load_reviewed_plan(path)
    path.write_text(json.dumps({"format": "sentinel-packer/fleet-plan@1", "workspaces": [{"name": "ws00",
                                                                                          "plan": {"format": "x"}}]}))
    with pytest.raises(ConfigError, match=r"workspaces\[0\]\.plan \(ws00\)"):
        load_reviewed_plan(path)


# --- end to end, against the emulator ---------------------------------------------------------


@pytest.fixture
def fleet(tmp_path: Path, emulator_factory):
    content = load_content_unchecked(write_content(tmp_path / "content"))
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=6, subscriptions=2))
    inventory = load_inventory(tmp_path / "targets.yaml")
    return tmp_path, content, inventory, emulator_factory(emulator_config(inventory))


def _owner_marks(emulator, inventory, name: str) -> list[str]:
    target = inventory.target(name)
    credential = emulator.credential(inventory.tenant_of(target).token_tenant_id)
    with WorkspaceClient(target, credential, emulator.base_url, emulator.ca_path) as client:
        metadata = client.list_in(resource_ids.METADATA)
        return [str((m.get("properties") or {}).get("customVersion", "")) for m in metadata
                if (m.get("properties") or {}).get("kind") == "AnalyticsRule"]


def test_rollout_applies_the_reviewed_plan_where_nothing_moved_and_replans_the_rest(fleet):
    tmp_path, content, inventory, emulator = fleet
    targets = inventory.select()
    reviewed_file = tmp_path / "fleet-plan.json"
    reviewed_file.write_text(plan_fleet(content, inventory, targets, connect(emulator, inventory), "c-pr").to_json())
    reviewed = load_reviewed_plan(reviewed_file)
    # Since the review: a rule made in ws02's portal at an id the plan creates, and ws03's overlay edited.
    ws02 = inventory.target("ws02")
    emulator.store.put(f"{ws02.workspace_id}/providers/Microsoft.SecurityInsights/alertRules/{KASEYA_RULE_ID}",
                       {"kind": "Scheduled", "properties": {"displayName": "made in the portal"}})
    (tmp_path / "targets.yaml").write_text((tmp_path / "targets.yaml").read_text().replace("jump02", "jump03"))
    merged = load_inventory(tmp_path / "targets.yaml")

    report = rollout(content, merged, merged.select(), connect(emulator, merged),
                     RolloutOptions(parallel=3, commit="c-main", reviewed=reviewed))

    by_name = {r.name: r for r in report.results}
    assert by_name["ws02"].plan_source is PlanSource.REPLANNED
    assert by_name["ws02"].replan_reason == f"the workspace changed since the review ({KASEYA_RULE_ID})"
    assert by_name["ws03"].plan_source is PlanSource.REPLANNED
    assert by_name["ws03"].replan_reason == "the content changed since the review"
    as_reviewed = sorted(r.name for r in report.applied_as_reviewed())
    assert as_reviewed == ["ws00", "ws01", "ws04", "ws05"]
    # What was applied is the reviewed plan itself: its ownership marks carry the review's commit.
    for name in as_reviewed:
        marks = _owner_marks(emulator, merged, name)
        assert marks and all("@c-pr" in m for m in marks), (name, marks)
    assert all("@c-main" in m for m in _owner_marks(emulator, merged, "ws03"))
    assert by_name["ws00"].created == 1 + 4 + 4 and by_name["ws00"].failed == 0
    markdown = rollout_report_markdown(report)
    assert "applied as reviewed in 4 workspace(s), re-planned in 2" in markdown
    assert "- `ws03` re-planned: the content changed since the review" in markdown
    saved = json.loads(report.to_json())["results"]
    assert {r["name"]: r["plan_source"] for r in saved}["ws02"] == "re-planned"

    again = rollout(content, merged, merged.select(), connect(emulator, merged),
                    RolloutOptions(commit="c-main", reviewed=reviewed))  # a re-run: the review is spent
    assert not again.applied_as_reviewed() and again.ok
    assert all("changed since the review" in r.replan_reason for r in again.replanned())
