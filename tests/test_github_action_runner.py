"""The composite action's own bash steps, run as a GitHub runner runs them (bash -eo pipefail,
GITHUB_OUTPUT / GITHUB_ENV / GITHUB_PATH / GITHUB_STEP_SUMMARY files, RUNNER_TEMP), with
sentinel-packer really installed from the action's path into its own virtualenv.

This is the one slow test of the suite (a real `pip install` of the project, about a minute):
it is the only way to know that `uses: owner/sentinel-packer@<sha>` installs that code and that
the workflow's later steps keep their own PATH and Python."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CONTENT, PROJECT_ROOT
from tests.github_steps import action
from packer.github.outputs import parse_output_file

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _evaluate(text: str, context: dict[str, str]) -> str:
    def value(match: re.Match) -> str:
        expression = match.group(1)
        for alternative in (part.strip() for part in expression.split("||")):  # `a || b`: first non-empty
            found = context.get(alternative, alternative.strip("'") if alternative.startswith("'") else None)
            if found is None and _skipped_step_output(alternative, context):
                found = ""  # as on GitHub: a skipped step's outputs are empty
            if found is None:
                raise KeyError(f"the simulated runner has no value for ${{{{ {alternative} }}}}")
            if found:
                return found
        return ""
    return _EXPRESSION.sub(value, str(text))


def _skipped_step_output(expression: str, context: dict[str, str]) -> bool:
    parts = expression.split(".")
    return len(parts) == 4 and parts[0] == "steps" and parts[2] == "outputs" and context.get(f"steps.{parts[1]}") == "skipped"


def _condition(expression: str, context: dict[str, str]) -> bool:
    """The few `if:` forms action.yml uses: `x == 'v'` and `x != 'v'`."""
    match = re.fullmatch(r"\s*([\w.-]+)\s*(==|!=)\s*'([^']*)'\s*", expression)
    assert match, f"the simulated runner cannot evaluate if: {expression}"
    equal = context[match.group(1)] == match.group(3)
    return equal if match.group(2) == "==" else not equal


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    root = tmp_path_factory.mktemp("runner")
    workspace, temp = root / "workspace", root / "temp"
    shutil.copytree(CONTENT, workspace / "content")
    temp.mkdir()
    files = {name: root / name for name in ("output", "env", "path", "summary")}
    for path in files.values():
        path.write_text("")
    return workspace, temp, files


def _run_action(runner, inputs: dict[str, str]) -> dict[str, str]:
    """Every step of action.yml in order; `uses:` steps (setup-python, cache) are the runner's
    business and are taken as not having set anything (python-version is empty here)."""
    workspace, temp, files = runner
    spec = action()
    given = {name: inputs.get(name, str(entry.get("default", ""))) for name, entry in spec["inputs"].items()}
    context = {f"inputs.{k}": v for k, v in given.items()} | {
        "runner.os": "Linux", "runner.temp": str(temp), "github.action_path": str(PROJECT_ROOT),
        "github.action_ref": "", "github.workspace": str(workspace), "steps.python.outputs.python-path": ""}
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "VIRTUAL_ENV", "PIP_"))}
    base_env["PATH"] = os.pathsep.join(p for p in base_env["PATH"].split(os.pathsep)
                                       if not p.startswith(os.environ.get("VIRTUAL_ENV", "\0")))
    runner_env = {"GITHUB_OUTPUT": str(files["output"]), "GITHUB_ENV": str(files["env"]),
                  "GITHUB_PATH": str(files["path"]), "GITHUB_STEP_SUMMARY": str(files["summary"]),
                  "RUNNER_TEMP": str(temp), "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace)}
    outputs: dict[str, str] = {}
    for step in spec["runs"]["steps"]:
        if "if" in step and not _condition(step["if"], context):
            if "id" in step:
                context[f"steps.{step['id']}"] = "skipped"
            continue
        if "uses" in step:
            continue
        files["output"].write_text("")
        env = base_env | runner_env | {k: _evaluate(v, context) for k, v in step.get("env", {}).items()}
        result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                                cwd=workspace, env=env, capture_output=True, text=True, timeout=600)
        step_outputs = parse_output_file(files["output"].read_text())
        if "id" in step:
            context |= {f"steps.{step['id']}.outputs.{k}": v for k, v in step_outputs.items()}
            outputs |= step_outputs
        assert result.returncode == 0, f"step {step.get('name')!r} failed:\n{result.stdout}\n{result.stderr}"
    return outputs


def test_the_action_installs_itself_from_its_path_and_leaves_path_and_python_alone(runner):
    workspace, temp, files = runner
    python_before = shutil.which("python3")

    outputs = _run_action(runner, {"command": "validate", "kql": "false", "python-version": ""})

    executable = Path(outputs["executable"])
    assert executable == temp / "sentinel-packer-venv" / "bin" / "sentinel-packer" and executable.is_file()
    assert (temp / "sentinel-packer-venv" / ".requested").read_text().strip() == f"local:{PROJECT_ROOT}"
    assert outputs["exit-code"] == "0" and outputs["error-count"] == "0"
    assert Path(workspace / outputs["sarif-path"]).is_file()
    assert "sentinel-packer" in files["summary"].read_text()
    installed = subprocess.run([str(executable.parent / "python"), "-c", "import packer; print(packer.__file__)"],
                               capture_output=True, text=True, check=True, cwd=temp).stdout  # not the source tree on sys.path
    assert str(temp) in installed  # a real install into the action's venv, not the source tree
    # Nothing for later steps: no PATH entry, no environment variable (KQL was off), same python3.
    assert files["path"].read_text() == "" and files["env"].read_text() == ""
    assert shutil.which("python3") == python_before

    again = _run_action(runner, {"command": "build", "kql": "false", "python-version": ""})  # second use in a job
    assert again["executable"] == outputs["executable"] and again["exit-code"] == "0"
    assert Path(workspace / again["package-path"]).suffix == ".zip"
