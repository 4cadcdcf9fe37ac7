"""plan and rollout through the action, exactly as content-pr.yml and content-rollout.yml call
them, against the emulator: a fleet of 2 tenants (one through Lighthouse) in 3 waves."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from packer.cli import app
from packer.github.outputs import parse_output_file
from packer.targets import load_inventory
from tests.fleetkit import emulator_config, fleet_inventory, write_content
from tests.github_steps import action_argv, step, step_argv, step_env, workflow
from tests.test_github_action import StepRun
from tests.test_github_comments import MARKER, PR, REPO, TOKEN, github  # noqa: F401 (fixture)

WAVES = ("canary", "early", "broad")
NO_REVIEW = {"needs.prepare.outputs.reviewed": "false"}  # a push that merged no reviewed pull request


@pytest.fixture
def fleet_repo(tmp_path, monkeypatch, emulator_factory):
    """A content repository checkout (content/ + targets.yaml) and an emulator holding its fleet:
    10 workspaces (canary 2, early 6, broad 2) over 2 tenants, one delegated through Lighthouse."""
    root = tmp_path / "repo"
    write_content(root / "content")
    (root / "targets.yaml").write_text(fleet_inventory(workspaces=10, subscriptions=2))
    emulator = emulator_factory(emulator_config(load_inventory(root / "targets.yaml")))
    monkeypatch.chdir(root)
    env = {"SENTINEL_PACKER_BASE_URL": emulator.base_url, "SENTINEL_PACKER_CA_CERT": str(emulator.ca_path),
           "SENTINEL_PACKER_EMULATOR_TENANT": "target", "GITHUB_REPOSITORY": "contoso/sentinel-content"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return root, emulator, env


def run_step(root: Path, argv: list[str], extra_env: dict[str, str] | None = None) -> StepRun:
    runner_dir = root.parent / "runner"
    runner_dir.mkdir(exist_ok=True)
    for name in ("output", "summary"):
        (runner_dir / name).write_text("")
    env = {"GITHUB_OUTPUT": str(runner_dir / "output"), "GITHUB_STEP_SUMMARY": str(runner_dir / "summary"),
           "GITHUB_ACTIONS": "true", **(extra_env or {})}
    result = CliRunner().invoke(app, argv, env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return StepRun(result.exit_code, result.output, parse_output_file((runner_dir / "output").read_text()),
                   (runner_dir / "summary").read_text(encoding="utf-8"))


def writes(emulator) -> int:
    totals = emulator.counters.total()
    return totals["writes"] + totals["deletes"]


def test_single_target_plan_through_the_action(fleet_repo):
    root, emulator, _ = fleet_repo
    with_ = {"command": "plan", "content": "content", "targets": "targets.yaml", "target": "ws03",
             "output-dir": "sentinel-packer-out"}

    first = run_step(root, action_argv(with_))

    assert first.exit_code == 0, first.stdout  # changes are not a failure of the step
    assert first.outputs["has-changes"] == "true" and first.outputs["exit-code"] == "2"
    saved = json.loads((root / first.outputs["plan-path"]).read_text(encoding="utf-8"))
    assert saved  # the JSON plan `apply --plan` takes
    markdown = (root / first.outputs["plan-markdown-path"]).read_text(encoding="utf-8")
    assert "RMM Kaseya outbound" in markdown and first.summary.strip() == markdown.strip()
    assert writes(emulator) == 0  # planning never writes

    applied = CliRunner().invoke(app, ["apply", "--target", "ws03", "--targets", "targets.yaml",
                                       "--plan", first.outputs["plan-path"]])
    assert applied.exit_code == 0, applied.output
    again = run_step(root, action_argv(with_))
    assert again.exit_code == 0 and again.outputs["has-changes"] == "false", again.stdout


def test_a_wave_and_a_name_glob_plan_only_those_workspaces_through_the_action(fleet_repo):
    root, emulator, _ = fleet_repo
    inventory = load_inventory(root / "targets.yaml")
    early = [t.name for t in inventory.select(wave="early")]
    run = run_step(root, action_argv({"command": "plan", "wave": "early", "select": f"{early[0]},{early[1]}"}))
    assert run.exit_code == 0, run.stdout
    fleet = json.loads((root / run.outputs["plan-path"]).read_text(encoding="utf-8"))
    assert [w["name"] for w in fleet["workspaces"]] == early[:2]
    everything = run_step(root, action_argv({"command": "plan"}), {"GITHUB_RUN_ID": "42", "GITHUB_SERVER_URL": "https://github.com"})
    fleet = json.loads((root / everything.outputs["plan-path"]).read_text(encoding="utf-8"))
    assert sorted(w["name"] for w in fleet["workspaces"]) == sorted(t.name for t in inventory.targets)
    # the page, uploaded with plan.* (content-pr.yml), linked from the job summary
    page = (root / everything.outputs["plan-path"]).with_name("plan.html").read_text(encoding="utf-8")
    assert all(f'data-ws="{t.name}"' in page for t in inventory.targets) and "ATT&amp;CK coverage" in page
    assert ("`plan.html` in [this run's artifacts](https://github.com/contoso/sentinel-content/actions/runs/42#artifacts)"
            in everything.summary)
    assert writes(emulator) == 0


def test_a_plan_that_cannot_run_is_not_published_as_a_plan(fleet_repo):
    root, _, _ = fleet_repo
    run = run_step(root, action_argv({"command": "plan", "target": "no-such-workspace"}))
    assert run.exit_code == 1
    assert run.outputs["plan-markdown-path"] == "" and run.outputs["plan-path"] == ""
    assert "The plan failed" in run.summary


def test_pull_request_fleet_plan_and_one_sticky_comment(fleet_repo, github, tmp_path):  # noqa: F811
    root, emulator, _ = fleet_repo
    plan_job = workflow("content-pr.yml")["jobs"]["plan"]
    comment_step = next(s for s in plan_job["steps"] if "github comment" in s.get("run", ""))
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": PR, "pull_request": {"number": PR}}))
    runner_env = {"GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_PATH": str(event), "GITHUB_API_URL": github.url}

    for push in range(2):  # two pushes to the pull request
        plan = run_step(root, action_argv(step(plan_job, "plan")["with"]))
        assert plan.exit_code == 0, plan.stdout
        assert plan.outputs["has-changes"] == "true"
        markdown = (root / plan.outputs["plan-markdown-path"]).read_text(encoding="utf-8")
        for name in ("ws00", "ws05", "ws09"):
            assert name in markdown
        context = {"github.token": TOKEN, "steps.plan.outputs.plan-markdown-path": plan.outputs["plan-markdown-path"]}
        posted = run_step(root, step_argv(comment_step, context), {**runner_env, **step_env(comment_step, context)})
        assert posted.exit_code == 0, posted.stdout
        assert TOKEN not in posted.stdout

    assert writes(emulator) == 0
    marked = github.marked(PR)
    assert len(marked) == 1 and github.writes() == ["POST"]  # same plan twice: created, then unchanged
    assert "ws09" in marked[0]["body"]


def _prepare_matrices(root: Path, env: dict[str, str]) -> dict[str, dict]:
    """Run the prepare job's matrix step as GitHub would: its bash script, with $PACKER the CLI."""
    matrix_step = step(workflow("content-rollout.yml")["jobs"]["prepare"], "matrix")
    script = matrix_step["run"]
    env = {**env, **step_env(matrix_step, {})}
    output = root.parent / "prepare-output"
    output.write_text("")
    bin_dir = str(Path(sys.executable).parent)
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=root,
                            env={**os.environ, **env, "GITHUB_OUTPUT": str(output),
                                 "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return {wave: json.loads(value) for wave, value in parse_output_file(output.read_text()).items()}


def test_rollout_wave_by_wave_over_the_job_matrix(fleet_repo):
    root, emulator, env = fleet_repo
    matrices = _prepare_matrices(root, env)
    assert set(matrices) == set(WAVES)
    jobs = workflow("content-rollout.yml")["jobs"]
    shards_run = []
    for wave in WAVES:
        rollout_step = next(s for s in jobs[wave]["steps"] if s.get("id") == "rollout")
        for shard in matrices[wave]["include"]:
            context = {"matrix.select": shard["select"], "matrix.shard": shard["shard"], **NO_REVIEW}
            run = run_step(root, action_argv(rollout_step["with"], context))
            assert run.exit_code == 0, run.stdout
            report = json.loads((root / run.outputs["report-json-path"]).read_text(encoding="utf-8"))
            assert report
            markdown = (root / run.outputs["report-path"]).read_text(encoding="utf-8").strip()
            assert run.summary.strip().startswith(markdown)
            page = root / Path(run.outputs["report-path"]).with_name("rollout-report.html")  # uploaded with rollout-report.*
            assert "`rollout-report.html` in this run's artifacts" in run.summary and "<table" in page.read_text()
            shards_run.append(shard["select"])
    deployed = sorted(name for select in shards_run for name in select.split(","))
    assert deployed == [f"ws{i:02d}" for i in range(10)]
    first_writes = writes(emulator)
    assert first_writes > 0

    for wave in WAVES:  # the same push rolled out again: nothing to do
        rollout_step = next(s for s in jobs[wave]["steps"] if s.get("id") == "rollout")
        for shard in matrices[wave]["include"]:
            context = {"matrix.select": shard["select"], "matrix.shard": shard["shard"], **NO_REVIEW}
            assert run_step(root, action_argv(rollout_step["with"], context)).exit_code == 0
    assert writes(emulator) == first_writes


def test_a_failing_canary_fails_its_job_and_still_reports(fleet_repo):
    root, emulator, env = fleet_repo
    canary = _prepare_matrices(root, env)["canary"]["include"]
    rollout_step = step(workflow("content-rollout.yml")["jobs"]["canary"], "rollout")
    emulator.faults.script("PUT", r"rg-sec-00/.*alertRules/", 400, times=1000)
    context = {"matrix.select": canary[0]["select"], "matrix.shard": canary[0]["shard"], **NO_REVIEW}

    failed = run_step(root, action_argv(rollout_step["with"], context))

    assert failed.exit_code == 1  # the wave job fails: `early` (needs: canary, !failure()) never starts
    assert failed.outputs["report-path"] and failed.outputs["report-json-path"]
    assert "ws00" in failed.summary
    emulator.faults.clear()
    again = run_step(root, action_argv(rollout_step["with"], context))  # re-run the job: resumes
    assert again.exit_code == 0, again.stdout


def test_validate_step_checks_the_inventory_too(fleet_repo):
    root, _, _ = fleet_repo
    inventory = root / "targets.yaml"
    lines = inventory.read_text().splitlines(keepends=True)
    line_no = next(i for i, line in enumerate(lines, 1) if line.strip() == "wave: early")
    lines[line_no - 1] = lines[line_no - 1].replace("early", "eraly")
    inventory.write_text("".join(lines))

    run = run_step(root, action_argv(step(workflow("content-pr.yml")["jobs"]["validate"], "validate")["with"]))

    assert run.exit_code == 1 and run.outputs["error-count"] != "0"
    assert any(line.startswith(f"::error file=targets.yaml,line={line_no},") and "eraly" in line
               for line in run.stdout.splitlines()), run.stdout


def test_a_workspace_that_cannot_be_planned_fails_the_step_but_the_plan_is_still_posted(fleet_repo):
    root, emulator, _ = fleet_repo
    emulator.faults.script("GET", r"rg-sec-05/", 403, times=1000)
    plan_step = step(workflow("content-pr.yml")["jobs"]["plan"], "plan")

    run = run_step(root, action_argv(plan_step["with"]))

    assert run.exit_code == 1  # the job fails...
    markdown_path = run.outputs["plan-markdown-path"]
    assert markdown_path and run.outputs["plan-path"]  # ...and the comment step still has a plan to post
    markdown = (root / markdown_path).read_text(encoding="utf-8")
    assert "ws05" in markdown and "could not be planned" in run.summary + markdown
