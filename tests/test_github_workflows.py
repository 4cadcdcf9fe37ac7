"""The invariants of the workflows, the action and the pre-commit hook that keep CI/CD safe.

actionlint (.ci/lint) checks syntax, expressions and scripts; these tests check intent: OIDC
only, one rollout at a time, waves in order behind environments, one sticky comment."""
from __future__ import annotations

import re

import pytest
import yaml

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
def test_actions_are_pinned_to_a_commit_sha_with_its_version_in_a_comment(path):
    """A tag can be moved to other code; a commit cannot. Dependabot updates SHA pins and keeps
    the `# vX.Y.Z` comment in step."""
    lines = path.read_text(encoding="utf-8").splitlines()
    used = [line.split("uses:", 1)[1].strip() for line in lines if re.match(r"\s*(- )?uses:", line)]
    assert used
    for uses in used:
        assert uses == "./" or re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+( .*)?", uses), uses


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
    """No azure/login in the waves: its token cannot be refreshed after about an hour, and the
    broad wave may run for two. The tenants' `auth: oidc` asks for a fresh assertion per token."""
    doc = workflow("content-rollout.yml")
    prepare = doc["jobs"]["prepare"]
    matrix_step = step(prepare, "matrix")
    assert '"$PACKER" targets matrix' in matrix_step["run"] and "--wave" in matrix_step["run"]
    assert matrix_step["env"]["PACKER"] == "${{ steps.validate.outputs.executable }}"
    assert rollout_jobs().keys() == set(WAVES)
    for wave, job in rollout_jobs().items():
        assert job["environment"] == wave
        assert permissions(doc, job).get("id-token") == "write"
        assert not steps_using(job, "azure/login@"), wave
        assert prepare["outputs"][wave] == f"${{{{ steps.matrix.outputs.{wave} }}}}"
        assert job["strategy"]["matrix"] == f"${{{{ fromJSON(needs.prepare.outputs.{wave}) }}}}"
        assert job["strategy"]["fail-fast"] is False  # a failed shard does not cancel its wave
        rollout = [s for s in steps_using(job, "./") if s["with"]["command"] == "rollout"]
        assert len(rollout) == 1
        assert rollout[0]["with"]["wave"] == wave
        assert rollout[0]["with"]["select"] == "${{ matrix.select }}"


def test_waves_run_in_order_each_behind_the_previous_waves_gate():
    all_jobs = workflow("content-rollout.yml")["jobs"]
    jobs = rollout_jobs()
    for earlier, later in zip(WAVES, WAVES[1:]):
        needs = jobs[later]["needs"]
        assert f"gate-{earlier}" in needs and "prepare" in needs
        assert "!failure()" in jobs[later]["if"], "a failed gate must stop the next wave"
    for wave in WAVES:
        gate = all_jobs[f"gate-{wave}"]
        assert wave in gate["needs"] and "!cancelled()" in gate["if"]  # judges a wave whose shard failed too
        download = steps_using(gate, "actions/download-artifact@")[0]["with"]
        assert download["pattern"] == f"rollout-{wave}-*"
        judged = [s for s in steps_using(gate, "./") if s["with"]["command"] == "gate"]
        assert len(judged) == 1 and judged[0]["with"]["wave"] == wave
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
    assert upload["continue-on-error"] is True  # private repositories without code scanning
    assert "head.repo.full_name == github.repository" in upload["if"]  # forks cannot upload
    assert step(validate, "validate")["with"]["command"] == "validate"

    build = jobs["build"]
    assert step(build, "build")["with"]["command"] == "build"
    assert steps_using(build, "actions/upload-artifact@")[0]["with"]["path"] == "${{ steps.build.outputs.package-dir }}"

    plan = jobs["plan"]
    assert permissions(doc, plan) == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    plan_step = step(plan, "plan")
    assert plan_step["with"]["command"] == "plan" and not plan_step["with"].get("target")  # the whole fleet
    comment = [s for s in plan["steps"] if '"$PACKER" github comment' in s.get("run", "")]
    assert len(comment) == 1
    assert comment[0]["env"]["PACKER"] == "${{ steps.plan.outputs.executable }}"
    assert "--marker" in comment[0]["run"]
    assert comment[0]["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    assert comment[0]["env"]["PLAN_MARKDOWN"] == "${{ steps.plan.outputs.plan-markdown-path }}"
    assert "head.repo.full_name == github.repository" in plan["if"]  # no fork PR gets a token


def test_pull_request_plan_uses_the_read_only_identity_and_waves_the_deploying_one():
    """Through the tool's own OIDC exchange (a fresh assertion per token), not azure/login."""
    plan = workflow("content-pr.yml")["jobs"]["plan"]
    assert plan["env"] == {"SENTINEL_PACKER_AUTH": "oidc", "AZURE_CLIENT_ID": "${{ vars.AZURE_PLAN_CLIENT_ID }}"}
    assert not steps_using(plan, "azure/login@")
    for job in rollout_jobs().values():
        assert job["env"] == {"SENTINEL_PACKER_AUTH": "oidc", "AZURE_CLIENT_ID": "${{ vars.AZURE_CLIENT_ID }}"}
        assert not steps_using(job, "azure/login@")


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
    assert run["run"].startswith('"$PACKER" github run "$PACKER_COMMAND"')
    assert run["env"]["PACKER"] == "${{ steps.install.outputs.executable }}"
    for name in ("content", "targets", "target", "wave", "select", "output-dir", "prune", "on-drift",
                 "max-failures", "parallel", "check-versions", "reviewed-plan", "adopt", "adopt-from"):
        variable = "PACKER_" + name.upper().replace("-", "_")
        assert run["env"][variable] == f"${{{{ inputs.{name} }}}}"
        assert f'--{name} "${variable}"' in run["run"]
    for name, output in spec["outputs"].items():
        step_id = "install" if name == "executable" else "run"
        assert output["value"] == f"${{{{ steps.{step_id}.outputs.{name} }}}}"
    assert {"has-changes", "plan-path", "report-path"} <= spec["outputs"].keys()


def test_action_installs_from_its_own_checkout_unless_a_release_is_pinned():
    """No default PyPI version: a name nobody has published yet must never be installed in a job
    that holds the deploying identity (tests/test_github_action_runner.py runs the install)."""
    spec = action()
    assert spec["inputs"]["version"]["default"] == ""
    install = next(s for s in spec["runs"]["steps"] if s.get("name") == "Install sentinel-packer")
    assert '"sentinel-packer==$PACKER_VERSION"' in install["run"]
    assert '"$ACTION_PATH"' in install["run"] and install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert "GITHUB_PATH" not in install["run"]  # later steps use the `executable` output
    python = next(s for s in spec["runs"]["steps"] if s.get("id") == "python")
    assert python["with"]["update-environment"] is False
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


def test_action_installs_the_kql_analyser_from_the_projects_lockfile():
    install = next(s for s in action()["runs"]["steps"] if s.get("name") == "Install the KQL analyser")
    assert 'cp "$ACTION_PATH/package.json" "$ACTION_PATH/package-lock.json"' in install["run"]
    assert "npm ci --prefix" in install["run"] and "npm install" not in install["run"]
    assert "GITHUB_ENV" not in install["run"]  # only the run step sees it
    run = next(s for s in action()["runs"]["steps"] if s.get("id") == "run")
    assert run["env"]["SENTINEL_PACKER_NODE_MODULES"] == "${{ steps.kql.outputs.node-modules }}"


def test_a_ci_job_installs_every_dependency_at_its_floor():
    import subprocess
    import sys
    import tomllib

    printed = subprocess.run([sys.executable, str(PROJECT_ROOT / ".ci" / "lowest_constraints.py")],
                             capture_output=True, text=True, check=True).stdout.split()
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    names = {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in declared}
    assert {line.split("==")[0] for line in printed} == names
    for requirement in declared:  # a floor that lets pip pick a pre-release is no floor
        assert not re.search(r">=\s*[\d.]+(a|b|rc)\d", requirement), requirement
    job = workflow("ci.yml")["jobs"]["lowest-dependencies"]
    script = next(s["run"] for s in job["steps"] if "run" in s)
    assert "python .ci/lowest_constraints.py" in script and "-c " in script and "pytest" in script
