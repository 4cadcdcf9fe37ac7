"""Onboarding a fleet whose workspaces already hold the content: `plan --all --adopt` and
`rollout --adopt` take over, in every selected workspace, the items equal to the content that
another tool's metadata marks (Content Hub here), writing their metadata only; an item that
differs from the content is never written. A reviewed fleet plan records its adoption flags."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from packer import __version__, resource_ids
from packer.bodies.resources import desired_resources
from packer.cli import app
from packer.content.load import load_content_unchecked
from packer.errors import ConfigError
from packer.plan.live import read_live_state
from packer.plan.model import Action, Adoption
from packer.remote.client import WorkspaceClient
from packer.rollout.engine import RolloutOptions, rollout
from packer.rollout.fleet_plan import plan_fleet
from packer.rollout.report import PlanSource
from packer.rollout.reviewed import decide, load_reviewed_plan
from packer.targets import load_inventory
from tests.fleetkit import KASEYA_RULE_ID, NRT_RULE_ID, SIGNIN_RULE_ID, emulator_config, fleet_inventory, write_content
from tests.test_rollout import connect

KASEYA, SIGNIN, NRT = (f"AnalyticsRule/{i}" for i in (KASEYA_RULE_ID, SIGNIN_RULE_ID, NRT_RULE_ID))
CONTENT_HUB = {"kind": "Solution", "name": "Microsoft Sentinel RMM", "sourceId": "azuresentinel.rmm"}


def _client(emulator, inventory, target):
    credential = emulator.credential(inventory.tenant_of(target).token_tenant_id)
    return WorkspaceClient(target, credential, emulator.base_url, emulator.ca_path)


def _plant(emulator, inventory, content) -> None:
    """Each workspace, before sentinel-packer: the Kaseya rule as the content makes it, with Content
    Hub's metadata; the NRT rule as the content makes it, no metadata (made in the portal); the
    sign-in rule with Content Hub's metadata and a query edited since (differs from the content)."""
    for target in inventory.targets:
        desired = {d.key: d for d in desired_resources(inventory.content_for(content, target), target)}
        with _client(emulator, inventory, target) as client:
            for key in (KASEYA, NRT, SIGNIN):
                body = json.loads(json.dumps(desired[key].body))
                if key == SIGNIN:
                    body["properties"]["query"] += "\n| where Account != 'svc-scan'"
                client.put(desired[key].resource_id, body, create=True)
            for key in (KASEYA, SIGNIN):
                d = desired[key]
                client.put(d.metadata_id, {"properties": {
                    "parentId": d.resource_id, "kind": "AnalyticsRule", "contentId": key.split("/")[1],
                    "version": "1.0.0", "source": CONTENT_HUB}}, create=True)


def _live(emulator, inventory, name: str) -> dict[str, dict]:
    """Rule id -> (rule etag, the metadata's source kind) in workspace `name`."""
    target = inventory.target(name)
    with _client(emulator, inventory, target) as client:
        rules = {r["name"]: r["etag"] for r in client.list_in(resource_ids.ALERT_RULES)}
        metadata = {m["properties"]["parentId"].rsplit("/", 1)[-1]: m["properties"]["source"]["kind"]
                    for m in client.list_in(resource_ids.METADATA)}
    return {rule: {"etag": etag, "source": metadata.get(rule)} for rule, etag in rules.items()}


@pytest.fixture
def onboarding(tmp_path: Path, emulator_factory):
    root = write_content(tmp_path / "content")
    (root / "solution.yaml").unlink()  # the active rules alone: no package to install
    shutil.rmtree(root / "hunting-queries")
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=2, subscriptions=1))
    inventory = load_inventory(tmp_path / "targets.yaml")
    content = load_content_unchecked(root)
    emulator = emulator_factory(emulator_config(inventory))
    _plant(emulator, inventory, content)
    return tmp_path, content, inventory, emulator


def _actions(fleet) -> dict[str, dict[str, Action]]:
    assert not fleet.errors, [w.error for w in fleet.errors]
    return {w.target.name: {i.key: i.action for i in w.plan.items} for w in fleet.workspaces}


def test_adopt_takes_over_the_equal_copies_in_every_workspace_writing_metadata_only(onboarding):
    _, content, inventory, emulator = onboarding
    targets, connection = inventory.select(), connect(emulator, inventory)

    plain = plan_fleet(content, inventory, targets, connection, "c1")
    assert _actions(plain) == {name: {KASEYA: Action.FOREIGN, SIGNIN: Action.FOREIGN, NRT: Action.ADOPT}
                               for name in ("ws00", "ws01")}  # no metadata: adopted without the flag, as ever
    kaseya = next(i for i in plain.workspaces[0].plan.items if i.key == KASEYA)
    assert "--adopt takes ownership" in kaseya.reason

    adopting = plan_fleet(content, inventory, targets, connection, "c1", adoption=Adoption(adopt=True))
    assert _actions(adopting) == {name: {KASEYA: Action.ADOPT, SIGNIN: Action.FOREIGN, NRT: Action.ADOPT}
                                  for name in ("ws00", "ws01")}
    signin = next(i for i in adopting.workspaces[1].plan.items if i.key == SIGNIN)
    assert "differs from the content, so it cannot be adopted" in signin.reason and not signin.writes
    assert "2 workspace(s), 2 with changes; 0 to create, 0 to update, 0 to prune, 4 to adopt" in adopting.summary()
    assert json.loads(adopting.to_json())["adoption"] == {"adopt": True, "adopt_from": []}

    before = {name: _live(emulator, inventory, name) for name in ("ws00", "ws01")}
    emulator.requests.reset()
    report = rollout(content, inventory, targets, connection, RolloutOptions(commit="c1", adoption=Adoption(True)))

    assert report.ok, report.summary()
    for result in report.results:
        assert (result.created, result.updated, result.writes) == (0, 2, 2), result
        after = _live(emulator, inventory, result.name)
        assert {r: a["etag"] for r, a in after.items()} == {r: b["etag"] for r, b in before[result.name].items()}
        assert after[KASEYA_RULE_ID]["source"] == after[NRT_RULE_ID]["source"] == "SourceRepository"  # ours now
        assert after[SIGNIN_RULE_ID]["source"] == "Solution"  # differs: not taken, not written

    sent = sorted((r.method, r.path.split("/providers/Microsoft.SecurityInsights/")[1].split("/")[0])
                  for r in emulator.requests if r.method != "GET")
    assert sent == [("PUT", "metadata")] * 4  # two per workspace; no rule written

    emulator.requests.reset()
    again = rollout(content, inventory, targets, connection, RolloutOptions(commit="c1", adoption=Adoption(True)))
    assert again.ok and all(r.writes == 0 for r in again.results)
    assert [r for r in emulator.requests if r.method != "GET"] == []
    settled = plan_fleet(content, inventory, targets, connection, "c1")  # no flag needed any more
    assert not settled.has_changes
    assert _actions(settled)["ws01"] == {KASEYA: Action.UNCHANGED, SIGNIN: Action.FOREIGN, NRT: Action.UNCHANGED}


def test_adopt_from_takes_over_only_the_repository_it_names(onboarding):
    _, content, inventory, emulator = onboarding
    target = inventory.target("ws00")
    kaseya = next(d for d in desired_resources(inventory.content_for(content, target), target) if d.key == KASEYA)
    with _client(emulator, inventory, target) as client:
        meta = client.get(kaseya.metadata_id)
        meta["properties"]["source"] = {"kind": "SourceRepository", "name": "fabrikam/detections", "sourceId": "x"}
        client.put(kaseya.metadata_id, {"properties": meta["properties"]}, etag=meta["etag"])
    connection = connect(emulator, inventory)

    other = _actions(plan_fleet(content, inventory, [target], connection, "c1", adoption=Adoption(True)))
    assert other["ws00"][KASEYA] is Action.FOREIGN
    named = Adoption(adopt_from=("Fabrikam/Detections",))
    assert _actions(plan_fleet(content, inventory, [target], connection, "c1", adoption=named))["ws00"][KASEYA] \
        is Action.ADOPT


def test_a_reviewed_fleet_plan_applies_the_adoption_it_shows_and_only_with_the_same_flags(onboarding):
    tmp_path, content, inventory, emulator = onboarding
    targets, connection = inventory.select(), connect(emulator, inventory)
    reviewed_file = tmp_path / "fleet-plan.json"
    reviewed_file.write_text(plan_fleet(content, inventory, targets, connection, "c-pr",
                                        adoption=Adoption(True)).to_json())
    reviewed = load_reviewed_plan(reviewed_file)

    forgot = rollout(content, inventory, [inventory.target("ws00")], connection,
                     RolloutOptions(commit="c-main", reviewed=reviewed))
    ws00 = forgot.results[0]
    assert ws00.plan_source is PlanSource.REPLANNED and ws00.updated == 1  # the NRT rule only
    assert ws00.replan_reason == "the review was planned with --adopt, this rollout with no --adopt"
    assert _live(emulator, inventory, "ws00")[KASEYA_RULE_ID]["source"] == "Solution"

    as_reviewed = rollout(content, inventory, [inventory.target("ws01")], connection,
                          RolloutOptions(commit="c-main", reviewed=reviewed, adoption=Adoption(True)))
    ws01 = as_reviewed.results[0]
    assert ws01.plan_source is PlanSource.REVIEWED and ws01.updated == 2, ws01.replan_reason
    live = _live(emulator, inventory, "ws01")
    assert live[KASEYA_RULE_ID]["source"] == "SourceRepository" and live[SIGNIN_RULE_ID]["source"] == "Solution"


def test_adoption_flags_matter_to_a_review_only_for_items_they_decide(onboarding):
    tmp_path, content, inventory, emulator = onboarding
    target = inventory.target("ws00")
    saved_file = tmp_path / "plan.json"
    saved_file.write_text(plan_fleet(content, inventory, [target], connect(emulator, inventory), "c1").to_json())
    saved = load_reviewed_plan(saved_file).entry("ws00")
    digest = json.loads(saved_file.read_text())["workspaces"][0]["content_digest"]
    with _client(emulator, inventory, target) as client:
        etags = read_live_state(client).etags()

    def decided(adoption, plan=saved):
        return decide(plan, target, digest, lambda: etags, tool_version=__version__, adoption=adoption)

    assert decided(Adoption()).plan is saved.plan
    assert decided(Adoption(adopt_from=("a/b",))).reason == \
        "the review was planned with no --adopt, this rollout with --adopt-from a/b"
    creates_only = dataclasses.replace(saved, plan=dataclasses.replace(saved.plan, items=tuple(
        dataclasses.replace(i, action=Action.CREATE) for i in saved.plan.items)))
    assert decided(Adoption(True), creates_only).plan is creates_only.plan  # nothing for the flag to decide


def test_a_damaged_adoption_field_is_refused_naming_file_and_field(tmp_path: Path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"format": "sentinel-packer/fleet-plan@1", "adoption": {"adopt": "yes"},
                                "workspaces": []}))
    with pytest.raises(ConfigError, match=r"plan\.json: field `adoption` must be"):
        load_reviewed_plan(path)


def test_plan_all_and_rollout_take_the_flags_on_the_command_line(onboarding):
    tmp_path, _, inventory, emulator = onboarding
    common = ["--targets", str(tmp_path / "targets.yaml"), "--content", str(tmp_path / "content"),
              "--base-url", emulator.base_url, "--ca-cert", emulator.ca_path, "--emulator-tenant", "target",
              "--commit", "c1"]
    runner = CliRunner()
    planned = runner.invoke(app, ["plan", "--all", "--adopt", "--format", "json", *common], catch_exceptions=False)
    assert planned.exit_code == 2, planned.output
    assert json.loads(planned.stdout)["totals"]["adopt"] == 4

    rolled = runner.invoke(app, ["rollout", "--select", "ws01", "--adopt", "--format", "json", *common],
                           catch_exceptions=False)
    assert rolled.exit_code == 0, rolled.output
    assert [(r["name"], r["updated"], r["writes"]) for r in json.loads(rolled.stdout)["results"]] == [("ws01", 2, 2)]
    assert _live(emulator, inventory, "ws01")[KASEYA_RULE_ID]["source"] == "SourceRepository"
    assert _live(emulator, inventory, "ws00")[KASEYA_RULE_ID]["source"] == "Solution"  # not selected
