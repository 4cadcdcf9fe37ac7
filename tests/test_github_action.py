"""The composite action's command lines, run exactly as the workflows call them: the argv comes
from action.yml's run step fed with each workflow step's `with:`, and GITHUB_STEP_SUMMARY /
GITHUB_OUTPUT point at temp files. Checks the summary, the outputs, the annotations and the SARIF
(against the OASIS SARIF 2.1.0 schema)."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from packer.cli import app
from packer.github.outputs import parse_output_file
from tests.conftest import CONTENT, PROJECT_ROOT
from tests.github_steps import action, action_argv, step, workflow

SARIF_SCHEMA = json.loads((PROJECT_ROOT / "tests" / "data" / "sarif-2.1.0-rtm.5.json").read_text(encoding="utf-8"))


@dataclass
class StepRun:
    exit_code: int
    stdout: str
    outputs: dict[str, str]
    summary: str


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """A checkout of a content repository: this project's own content/, as the runner sees it."""
    root = tmp_path / "repo"
    shutil.copytree(CONTENT, root / "content")
    monkeypatch.chdir(root)
    return root


def run_action_step(workspace: Path, with_: dict, context: dict[str, str] | None = None) -> StepRun:
    """One `uses: ./` step: action.yml's command line with the runner's files in the workspace."""
    runner_dir = workspace.parent / "runner"
    runner_dir.mkdir(exist_ok=True)
    for name in ("output", "summary"):
        (runner_dir / name).write_text("")
    env = {"GITHUB_OUTPUT": str(runner_dir / "output"), "GITHUB_STEP_SUMMARY": str(runner_dir / "summary"),
           "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace)}
    result = CliRunner().invoke(app, action_argv(with_, context), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return StepRun(result.exit_code, result.output, parse_output_file((runner_dir / "output").read_text()),
                   (runner_dir / "summary").read_text(encoding="utf-8"))


def pr_step(job: str, step_id: str) -> dict:
    return step(workflow("content-pr.yml")["jobs"][job], step_id)["with"]


def test_validate_as_the_pull_request_workflow_runs_it(workspace):
    # the bundled pack validates clean; a typographic quote gives the run a warning to annotate
    rule = workspace / "content" / "analytic-rules" / "rmm_Kaseya_netconn.yaml"
    rule.write_text(rule.read_text(encoding="utf-8").replace("Kaseya''s", "Kaseya\u2019s"), encoding="utf-8")
    run = run_action_step(workspace, pr_step("validate", "validate"))

    assert run.exit_code == 0, run.stdout
    assert run.outputs["error-count"] == "0" and run.outputs["exit-code"] == "0"
    sarif_path = workspace / run.outputs["sarif-path"]
    sarif = json.loads(sarif_path.read_text(encoding="utf-8"))
    jsonschema.validate(sarif, SARIF_SCHEMA)
    results = sarif["runs"][0]["results"]
    assert "validate: passed" in run.summary
    assert f"0 error(s), {sum(r['level'] == 'warning' for r in results)} warning(s)" in run.summary
    annotations = [line for line in run.stdout.splitlines() if line.startswith("::")]
    assert annotations and len(annotations) == len(results)  # the content pack has warnings to annotate
    assert all(re.match(r"::warning file=content/[\w/.-]+\.yaml,line=\d+", line) for line in annotations)


def test_a_broken_rule_fails_with_an_annotation_on_its_line(workspace):
    rule = sorted((workspace / "content" / "analytic-rules").glob("*.yaml"))[0]
    lines = rule.read_text(encoding="utf-8").splitlines(keepends=True)
    line_no = next(i for i, line in enumerate(lines, 1) if line.startswith("severity:"))
    lines[line_no - 1] = "severity: Hgh\n"
    rule.write_text("".join(lines), encoding="utf-8")

    run = run_action_step(workspace, pr_step("validate", "validate"))

    assert run.exit_code == 1
    assert int(run.outputs["error-count"]) >= 1 and run.outputs["exit-code"] == "1"
    sarif = json.loads((workspace / run.outputs["sarif-path"]).read_text(encoding="utf-8"))
    jsonschema.validate(sarif, SARIF_SCHEMA)
    relative = rule.relative_to(workspace).as_posix()
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error ")]
    assert any(line.startswith(f"::error file={relative},line={line_no},") and "severity" in line
               for line in errors), errors
    assert "validate: failed" in run.summary and f"`{relative}:{line_no}`" in run.summary


def test_build_as_the_pull_request_workflow_runs_it(workspace):
    run = run_action_step(workspace, pr_step("build", "build"))

    assert run.exit_code == 0, run.stdout
    package = workspace / run.outputs["package-path"]
    assert package.suffix == ".zip" and package.is_file()
    assert package.is_relative_to(workspace / run.outputs["package-dir"])
    digest = hashlib.sha256(package.read_bytes()).hexdigest()
    assert f"`{package.name}`" in run.summary and digest in run.summary


def test_build_of_invalid_content_fails_without_a_package(workspace):
    (workspace / "content" / "solution.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    run = run_action_step(workspace, pr_step("build", "build"))
    assert run.exit_code != 0
    assert run.outputs["package-path"] == ""
    assert "no package was produced" in run.summary


def test_release_builds_the_same_way(workspace):
    release = workflow("release.yml")["jobs"]["release"]
    run = run_action_step(workspace, step(release, "build")["with"])
    assert run.exit_code == 0 and list((workspace / run.outputs["package-dir"]).rglob("*.zip"))


def test_every_output_the_action_declares_is_set_by_some_command(tmp_path):
    from packer.github.action import _PUBLISHERS, ActionInputs

    produced = {"exit-code", "executable"}  # executable: the install step's (test_github_action_runner.py)
    for command, publish in _PUBLISHERS.items():
        produced |= set(publish(ActionInputs(command, output_dir=tmp_path), 1)[0])
    assert set(action()["outputs"]) == produced


def test_the_action_driver_runs_the_library_not_the_cli():
    """The driver sits beside the CLI: it must work without packer.cli ever being imported."""
    import subprocess
    import sys

    code = ("import sys, packer.github.action; "
            "sys.exit(1 if any(m == 'packer.cli' or m.startswith('packer.cli.') for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT).returncode == 0


def test_an_unknown_command_is_refused_before_anything_runs(workspace):
    result = CliRunner().invoke(app, ["github", "run", "deploy"])
    assert result.exit_code != 0
    assert "validate, build, plan, rollout" in str(result.exception)
    assert not (workspace / "sentinel-packer-out").exists()


def test_rollout_policy_inputs_are_checked_before_anything_runs():
    from packer.errors import ConfigError
    from packer.github.action import RolloutInputs

    policy = RolloutInputs.from_action(prune="true", on_drift="skip", max_failures="2", parallel="4")
    assert policy == RolloutInputs(prune=True, on_drift="skip", max_failures=2, parallel=4)
    assert RolloutInputs.from_action(prune="", on_drift="fail", max_failures="", parallel="").max_failures is None
    for bad in ({"prune": "yes"}, {"on_drift": "ignore"}, {"max_failures": "-1"}, {"parallel": "many"}):
        arguments = {"prune": "false", "on_drift": "fail", "max_failures": "", "parallel": "8", **bad}
        with pytest.raises(ConfigError, match="input"):
            RolloutInputs.from_action(**arguments)


def test_the_gate_command_sums_the_downloaded_shard_reports(tmp_path, monkeypatch):
    """download-artifact puts each shard's report in its own folder under the output dir."""
    from packer.github.action import ActionInputs, run_action
    from packer.rollout.report import REPORT_FORMAT
    from tests.fleetkit import fleet_inventory

    monkeypatch.chdir(tmp_path)
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=10, subscriptions=2))
    reports = tmp_path / "out" / "reports"
    early = [f"ws{i:02d}" for i in range(2, 8)]
    for shard, names in enumerate((early[:3], early[3:])):
        folder = reports / f"rollout-early-shard{shard}"
        folder.mkdir(parents=True)
        results = [{"name": n, "status": "failed" if n in ("ws02", "ws05") else "succeeded"} for n in names]
        (folder / "rollout-report.json").write_text(json.dumps({"format": REPORT_FORMAT, "results": results}))
    summary = tmp_path / "summary"
    summary.write_text("")
    result = run_action(ActionInputs("gate", targets=Path("targets.yaml"), wave="early", output_dir=Path("out")),
                        {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(tmp_path / "output")})
    assert result.exit_code == 1  # early allows 1 failed workspace; the shards had 2 between them
    assert "Wave 'early' FAILED: 2 failed workspace(s) of 6" in summary.read_text()
