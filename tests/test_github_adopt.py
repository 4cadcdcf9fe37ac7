"""Onboarding through the action, as content-pr.yml and content-rollout.yml call it: the inputs
adopt and adopt-from reach plan (fleet and one workspace) and rollout, and the pull request's
reviewed plan is applied as reviewed when the rollout passes the same ones (both workflows read
the same repository variables)."""
from __future__ import annotations

import json
import shutil

import pytest

from packer.errors import ConfigError
from packer.github.action import adoption_from_action
from packer.plan.model import Adoption
from tests.github_steps import action_argv, step, workflow
from tests.test_github_fleet import run_step
from tests.test_rollout_adopt import KASEYA, NRT, SIGNIN, _live, onboarding  # noqa: F401 (fixture)

ADOPT_VARS = {"vars.SENTINEL_PACKER_ADOPT": "true"}


@pytest.fixture
def repo(onboarding, monkeypatch):  # noqa: F811
    """The onboarding fleet (2 canary workspaces holding Content Hub copies) as a checkout."""
    root, _, inventory, emulator = onboarding
    monkeypatch.chdir(root)
    for name, value in {"SENTINEL_PACKER_BASE_URL": emulator.base_url, "SENTINEL_PACKER_CA_CERT": str(emulator.ca_path),
                        "SENTINEL_PACKER_EMULATOR_TENANT": "target"}.items():
        monkeypatch.setenv(name, value)
    return root, inventory, emulator


def _plan_step() -> dict:
    return step(workflow("content-pr.yml")["jobs"]["plan"], "plan")["with"]


def _rollout_step(wave: str = "canary") -> dict:
    return step(workflow("content-rollout.yml")["jobs"][wave], "rollout")["with"]


def _actions(plan_json: dict) -> dict[str, str]:
    return {i["key"]: i["action"] for i in plan_json["items"]}


def test_adoption_inputs_are_parsed_and_checked_before_anything_runs():
    assert adoption_from_action("false", "") == Adoption()
    assert adoption_from_action("", "") == Adoption()
    assert adoption_from_action("TRUE", "") == Adoption(adopt=True)
    assert adoption_from_action("false", " contoso/detections,\nFabrikam/sentinel-rules\n\n") == \
        Adoption(False, ("contoso/detections", "Fabrikam/sentinel-rules"))
    with pytest.raises(ConfigError, match="input adopt must be"):
        adoption_from_action("yes", "")
    with pytest.raises(ConfigError, match=r"input adopt-from: 'contoso' is not a repository \(owner/name\)"):
        adoption_from_action("false", "contoso")


def test_the_workflows_plan_and_roll_out_with_the_same_adoption_inputs_off_by_default():
    jobs = workflow("content-rollout.yml")["jobs"]
    rollout_jobs = [job for job in jobs.values() if any(s.get("id") == "rollout" for s in job.get("steps", []))]
    assert len(rollout_jobs) == 3
    for name in ("adopt", "adopt-from"):
        assert all(step(job, "rollout")["with"][name] == _plan_step()[name] for job in rollout_jobs)
    argv = action_argv(_plan_step())  # the repository variables unset
    assert argv[argv.index("--adopt") + 1] == "false" and argv[argv.index("--adopt-from") + 1] == ""
    context = {"vars.SENTINEL_PACKER_ADOPT_FROM": "a/b\nc/d", "matrix.select": "ws00",
               "needs.prepare.outputs.reviewed": "false"}
    argv = action_argv(_rollout_step(), context)
    assert argv[argv.index("--adopt-from") + 1] == "a/b\nc/d"  # one word: no shell splitting


def test_the_pull_request_plan_adopts_and_the_rollout_applies_it_as_reviewed(repo):
    root, inventory, emulator = repo
    plain = run_step(root, action_argv(_plan_step()))
    assert plain.exit_code == 0, plain.stdout
    assert json.loads((root / plain.outputs["plan-path"]).read_text())["adoption"] == {"adopt": False, "adopt_from": []}

    plan = run_step(root, action_argv(_plan_step(), ADOPT_VARS))
    assert plan.exit_code == 0, plan.stdout
    saved = json.loads((root / plan.outputs["plan-path"]).read_text())
    assert saved["adoption"] == {"adopt": True, "adopt_from": []}
    assert [_actions(w["plan"])[KASEYA] for w in saved["workspaces"]] == ["adopt", "adopt"]
    assert "4 to adopt" in plan.summary

    reviewed = root / "sentinel-packer-reviewed"
    reviewed.mkdir()
    shutil.copy(root / plan.outputs["plan-path"], reviewed / "plan.json")  # the download-artifact step
    context = {"matrix.select": "ws00,ws01", "needs.prepare.outputs.reviewed": "true", **ADOPT_VARS}
    run = run_step(root, action_argv(_rollout_step(), context))
    assert run.exit_code == 0, run.stdout
    report = json.loads((root / run.outputs["report-json-path"]).read_text())
    assert [(r["name"], r["plan_source"]) for r in report["results"]] == [("ws00", "reviewed"), ("ws01", "reviewed")]
    for name in ("ws00", "ws01"):
        live = _live(emulator, inventory, name)
        assert live[KASEYA.split("/")[1]]["source"] == "SourceRepository"  # adopted
        assert live[SIGNIN.split("/")[1]]["source"] == "Solution"  # differs from the content: left alone


def test_a_single_workspace_plan_takes_the_inputs_too(repo):
    root, _, _ = repo
    without = run_step(root, action_argv({"command": "plan", "target": "ws00"}))
    assert _actions(json.loads((root / without.outputs["plan-path"]).read_text()))[KASEYA] == "foreign"
    adopting = run_step(root, action_argv({"command": "plan", "target": "ws00", "adopt": "true"}))
    assert adopting.exit_code == 0, adopting.stdout
    assert _actions(json.loads((root / adopting.outputs["plan-path"]).read_text())) \
        == {KASEYA: "adopt", NRT: "adopt", SIGNIN: "foreign"}


def test_a_malformed_adopt_from_fails_naming_the_input_and_nothing_is_written(repo):
    root, _, emulator = repo
    emulator.requests.reset()
    with pytest.raises(ConfigError, match="input adopt-from: 'contoso detections' is not a repository"):
        run_step(root, action_argv({"command": "rollout", "adopt-from": "contoso detections"}))
    assert not (root / "sentinel-packer-out").exists()
    assert [r for r in emulator.requests if r.method != "GET"] == []
