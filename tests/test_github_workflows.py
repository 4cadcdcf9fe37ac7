"""The invariants of the workflows, the action and the pre-commit hook that keep CI/CD safe.

actionlint (.ci/lint) checks syntax, expressions and scripts; these tests check intent: OIDC
only, one rollout at a time, waves in order behind environments, one sticky comment."""
from __future__ import annotations

import re

import pytest
import yaml

from packer import __version__
from tests.conftest import PROJECT_ROOT
from tests.github_steps import ACTION, WORKFLOWS, action, load_yaml, step, steps_using, workflow

ALL_WORKFLOWS = sorted(WORKFLOWS.glob("*.yml"))
WAVES = ["canary", "early", "broad"]


def permissions(doc: dict, job: dict) -> dict:
    return job.get("permissions", doc.get("permissions", {})) or {}


def test_the_expected_workflows_exist():
    assert {p.name for p in ALL_WORKFLOWS} >= {"ci.yml", "content-pr.yml", "content-rollout.yml", "release.yml"}


@pytest.mark.parametrize("path", [*ALL_WORKFLOWS, ACTION], ids=lambda p: p.name)
def test_no_client_secret_anywhere(path):
    text = path.read_text(encoding="utf-8").lower()
    for forbidden in ("client-secret", "client_secret", "clientsecret", "creds:", "secrets.azure"):
        assert forbidden not in text, f"{path.name} mentions {forbidden}"


@pytest.mark.parametrize("path", [*ALL_WORKFLOWS, ACTION], ids=lambda p: p.name)
def test_actions_are_pinned_to_a_version_tag(path):
    doc = load_yaml(path)
    steps = doc["runs"]["steps"] if path == ACTION else [s for j in doc["jobs"].values() for s in j["steps"]]
    used = [s["uses"] for s in steps if "uses" in s]
    assert used
    for uses in used:
        assert uses.startswith("./") or re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+(\.\d+){0,2}", uses), uses


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_every_azure_login_is_oidc_with_id_token_write(path):
    doc = load_yaml(path)
    for name, job in doc["jobs"].items():
        for login in steps_using(job, "azure/login@"):
            assert permissions(doc, job).get("id-token") == "write", f"{path.name}:{name} lacks id-token: write"
            given = login["with"]
            assert set(given) >= {"client-id", "tenant-id", "subscription-id"}
            for key in ("client-id", "tenant-id", "subscription-id"):
                assert re.fullmatch(r"\$\{\{ vars\.AZURE_[A-Z_]+ \}\}", given[key]), given[key]


def test_workflows_default_to_read_only_token():
    for path in ALL_WORKFLOWS:
        doc = load_yaml(path)
        expected = {"contents": "write"} if path.name == "release.yml" else {"contents": "read"}
        assert doc["permissions"] == expected, path.name


def rollout_jobs() -> dict[str, dict]:
    return {name: job for name, job in workflow("content-rollout.yml")["jobs"].items() if name in WAVES}


def test_rollout_runs_on_main_and_never_twice_at_once():
    doc = workflow("content-rollout.yml")
    assert doc["on"]["push"]["branches"] == ["main"]
    assert doc["concurrency"]["group"].startswith("sentinel-packer-rollout")
    assert doc["concurrency"]["cancel-in-progress"] is False  # never stop a wave half-way


def test_each_wave_is_an_environment_job_with_oidc_and_its_own_matrix():
    doc = workflow("content-rollout.yml")
    prepare = doc["jobs"]["prepare"]
    matrix_script = step(prepare, "matrix")["run"]
    assert "sentinel-packer targets matrix" in matrix_script and "--wave" in matrix_script
    assert rollout_jobs().keys() == set(WAVES)
    for wave, job in rollout_jobs().items():
        assert job["environment"] == wave
        assert permissions(doc, job).get("id-token") == "write"
        assert steps_using(job, "azure/login@"), wave
        assert prepare["outputs"][wave] == f"${{{{ steps.matrix.outputs.{wave} }}}}"
        assert job["strategy"]["matrix"] == f"${{{{ fromJSON(needs.prepare.outputs.{wave}) }}}}"
        assert job["strategy"]["fail-fast"] is False  # a failed shard does not cancel its wave
        rollout = [s for s in steps_using(job, "./") if s["with"]["command"] == "rollout"]
        assert len(rollout) == 1
        assert rollout[0]["with"]["wave"] == wave
        assert rollout[0]["with"]["select"] == "${{ matrix.select }}"


def test_waves_run_in_order():
    jobs = rollout_jobs()
    for earlier, later in zip(WAVES, WAVES[1:]):
        needs = jobs[later]["needs"]
        assert earlier in needs and "prepare" in needs
        assert "!failure()" in jobs[later]["if"], "a failed wave must stop the next one"
    for job in jobs.values():  # outputs are read only once prepare succeeded (fromJSON('') fails)
        condition = job["if"]
        assert condition.index("needs.prepare.result == 'success'") < condition.index("fromJSON(")


def test_pull_request_workflow_validates_builds_plans_and_keeps_one_comment():
    doc = workflow("content-pr.yml")
    assert "pull_request" in doc["on"] and "pull_request_target" not in doc["on"]
    jobs = doc["jobs"]

    validate = jobs["validate"]
    assert permissions(doc, validate)["security-events"] == "write"
    upload = steps_using(validate, "github/codeql-action/upload-sarif@")[0]
    assert upload["with"]["sarif_file"] == "${{ steps.validate.outputs.sarif-path }}"
    assert "!cancelled()" in upload["if"]  # uploaded even when validation fails
    assert "head.repo.full_name == github.repository" in upload["if"]  # forks cannot upload
    assert step(validate, "validate")["with"]["command"] == "validate"

    build = jobs["build"]
    assert step(build, "build")["with"]["command"] == "build"
    assert steps_using(build, "actions/upload-artifact@")[0]["with"]["path"] == "${{ steps.build.outputs.package-dir }}"

    plan = jobs["plan"]
    assert permissions(doc, plan) == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    plan_step = step(plan, "plan")
    assert plan_step["with"]["command"] == "plan" and not plan_step["with"].get("target")  # the whole fleet
    comment = [s for s in plan["steps"] if "sentinel-packer github comment" in s.get("run", "")]
    assert len(comment) == 1
    assert "--marker" in comment[0]["run"]
    assert comment[0]["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    assert comment[0]["env"]["PLAN_MARKDOWN"] == "${{ steps.plan.outputs.plan-markdown-path }}"
    assert "head.repo.full_name == github.repository" in plan["if"]  # no fork PR gets a token


def test_pull_request_plan_uses_the_read_only_identity():
    login = steps_using(workflow("content-pr.yml")["jobs"]["plan"], "azure/login@")[0]
    assert login["with"]["client-id"] == "${{ vars.AZURE_PLAN_CLIENT_ID }}"
    for job in rollout_jobs().values():
        assert steps_using(job, "azure/login@")[0]["with"]["client-id"] == "${{ vars.AZURE_CLIENT_ID }}"


def test_release_attaches_the_built_package_on_tags():
    doc = workflow("release.yml")
    assert doc["on"]["push"]["tags"] == ["v*"]
    job = doc["jobs"]["release"]
    assert step(job, "build")["with"]["command"] == "build"
    publish = next(s for s in job["steps"] if "gh release create" in s.get("run", ""))
    assert publish["env"]["PACKAGE_DIR"] == "${{ steps.build.outputs.package-dir }}"


def test_ci_runs_the_project_entry_point_on_pull_requests_and_pushes():
    doc = workflow("ci.yml")
    assert "pull_request" in doc["on"] and "push" in doc["on"]
    runs = [s["run"] for s in doc["jobs"]["test"]["steps"] if "run" in s]
    assert runs == ["python3 .ci/fetch-shared ../shared", "bash .ci/run"]  # the corpus first (tests/test_ci_shared.py)


def test_action_inputs_reach_the_command_and_outputs_come_from_it():
    spec = action()
    run = next(s for s in spec["runs"]["steps"] if s.get("id") == "run")
    assert run["run"].startswith('sentinel-packer github run "$PACKER_COMMAND"')
    for name in ("content", "targets", "target", "wave", "select", "output-dir"):
        variable = "PACKER_" + name.upper().replace("-", "_")
        assert run["env"][variable] == f"${{{{ inputs.{name} }}}}"
        assert f'--{name} "${variable}"' in run["run"]
    for name, output in spec["outputs"].items():
        assert output["value"] == f"${{{{ steps.run.outputs.{name} }}}}"
    assert {"has-changes", "plan-path", "report-path"} <= spec["outputs"].keys()


def test_action_installs_the_pinned_current_version():
    spec = action()
    assert spec["inputs"]["version"]["default"] == __version__
    install = next(s for s in spec["runs"]["steps"] if s.get("name") == "Install sentinel-packer")
    assert '"sentinel-packer==$PACKER_VERSION"' in install["run"]
    assert '"$ACTION_PATH"' in install["run"] and install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert '>> "$GITHUB_PATH"' in install["run"]  # later steps (the sticky comment) find the CLI
    assert all("shell" in s for s in spec["runs"]["steps"] if "run" in s)


def test_pre_commit_hooks_validate_content_yaml_and_the_inventory():
    hooks = {h["id"]: h for h in yaml.safe_load((PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    content, inventory = hooks["sentinel-packer-validate"], hooks["sentinel-packer-validate-targets"]
    for hook in (content, inventory):
        assert hook["language"] == "python" and hook["entry"] == "sentinel-packer validate"
    assert content["pass_filenames"] is False and content["args"] == ["content"]  # the whole set, cross-file checks
    assert inventory["pass_filenames"] is True
    content_files, inventory_files = re.compile(content["files"]), re.compile(inventory["files"])
    for path in ("content/analytic-rules/a.yaml", "content/hunting-queries/b.yml", "content/solution.yaml",
                 "content/workbooks/w.yaml"):
        assert content_files.search(path) and not inventory_files.search(path), path
    assert inventory_files.search("targets.yaml") and not content_files.search("targets.yaml")
    for path in ("README.md", "content/workbooks/w.json", "tests/data/x.yaml", ".github/workflows/ci.yml"):
        assert not content_files.search(path) and not inventory_files.search(path), path


def test_pre_commit_entry_is_a_real_command():
    from typer.testing import CliRunner

    from packer.cli import app

    result = CliRunner().invoke(app, ["validate", "--help"])
    assert result.exit_code == 0 and "--format" in result.output


def test_action_installs_the_kql_analyser_pinned_like_the_project():
    import json

    pinned = json.loads((PROJECT_ROOT / "package.json").read_text(encoding="utf-8"))["dependencies"]
    install = next(s for s in action()["runs"]["steps"] if s.get("name") == "Install the KQL analyser")
    name, _, version = install["env"]["KQL_PACKAGE"].rpartition("@")
    assert pinned == {name: version}
    assert "SENTINEL_PACKER_NODE_MODULES=" in install["run"]
