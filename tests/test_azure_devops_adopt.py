"""Azure DevOps: templates/adoption.yml's adopt and adoptFrom reach content-pr.yml's fleet plan
and every wave of content-rollout.yml as the same --adopt / --adopt-from (the reviewed plan and
the rollout take over the same items), through the environment, never as script text. The
scripts run in bash with a stand-in for sentinel-packer that records its arguments."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.test_azure_devops import PIPELINES, pipeline

TEMPLATE = "templates/adoption.yml"


def _plan_task() -> dict:
    steps = pipeline("content-pr.yml")["stages"][1]["jobs"][0]["steps"]
    return next(s for s in steps if s.get("task") == "AzureCLI@2")


def _rollout_task() -> dict:
    wave = next(iter(pipeline("content-rollout.yml")["stages"][1].values()))[0]
    steps = wave["jobs"][0]["strategy"]["runOnce"]["deploy"]["steps"]
    return next(s for s in steps if s.get("task") == "AzureCLI@2")


def _defaults() -> dict[str, str]:
    return yaml.safe_load((PIPELINES / TEMPLATE).read_text(encoding="utf-8"))["variables"]


def _argv(task: dict, tmp_path: Path, variables: dict[str, str]) -> list[str]:
    """Run the task's script as the agent would: macros $(name) from `variables` (the template's
    adopt and adoptFrom reach the script as the task's env), template expressions compiled out."""
    recorder = tmp_path / "sentinel-packer"
    recorder.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]), file=sys.stderr)\n")
    recorder.chmod(0o755)
    macros = {"SENTINEL_PACKER": str(recorder), "outDir": str(tmp_path), "Pipeline.Workspace": str(tmp_path),
              "targetsFile": "targets.yaml", "contentDir": "content", **variables}
    script = re.sub(r"\$\{\{ iif\(parameters\.prune, '--prune', ''\) \}\}", "", task["inputs"]["inlineScript"])
    script = script.replace("${{ wave }}", "canary")
    script = re.sub(r"\$\(([\w.]+)\)", lambda m: macros[m.group(1)], script)
    env = {name: re.sub(r"\$\(([\w.]+)\)", lambda m: variables[m.group(1)], value) for name, value in task["env"].items()}
    result = subprocess.run(["bash", "--noprofile", "--norc", "-c", script], cwd=tmp_path, env={"PATH": "/usr/bin:/bin", **env},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stderr.strip().splitlines()[-1])


def _adoption_words(argv: list[str]) -> list[str]:
    return [w for i, w in enumerate(argv) if w.startswith("--adopt") or (i and argv[i - 1] == "--adopt-from")]


def test_both_pipelines_take_adoption_from_the_one_template_off_by_default():
    assert _defaults() == {"adopt": "false", "adoptFrom": ""}
    for name in ("content-pr.yml", "content-rollout.yml"):
        assert {"template": TEMPLATE} in pipeline(name)["variables"]
    assert _plan_task()["env"] == _rollout_task()["env"] == {"ADOPT": "$(adopt)", "ADOPT_FROM": "$(adoptFrom)"}


@pytest.mark.parametrize("task", [_plan_task, _rollout_task], ids=["plan", "rollout"])
def test_the_plan_and_every_wave_pass_the_same_flags(task, tmp_path):
    assert _adoption_words(_argv(task(), tmp_path, _defaults())) == []
    onboarding = {"adopt": "True", "adoptFrom": " contoso/detections, Fabrikam/rules ,"}
    assert _adoption_words(_argv(task(), tmp_path, onboarding)) == \
        ["--adopt", "--adopt-from", "contoso/detections", "--adopt-from", "Fabrikam/rules"]


@pytest.mark.parametrize("task", [_plan_task, _rollout_task], ids=["plan", "rollout"])
def test_a_hostile_repository_value_is_an_argument_never_code(task, tmp_path):
    argv = _argv(task(), tmp_path, {"adopt": "false", "adoptFrom": "a/b;touch$IFS'pwned',`touch pwned`"})
    assert not (tmp_path / "pwned").exists()
    assert _adoption_words(argv)[0] == "--adopt-from" and "touch" in " ".join(argv)
