"""Read the workflows and action.yml, and turn their steps into the exact command lines GitHub
would run, so tests call sentinel-packer with the workflows' own flags (tests/test_github_*)."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from tests.conftest import PROJECT_ROOT

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
ACTION = PROJECT_ROOT / "action.yml"
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_CHOICE = re.compile(r"([\w.-]+) == '([^']*)' && '([^']*)' \|\| '([^']*)'")


def load_yaml(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:  # YAML 1.1 reads the key `on` as boolean true
        data["on"] = data.pop(True)
    return data


def workflow(name: str) -> dict:
    return load_yaml(WORKFLOWS / name)


def action() -> dict:
    return load_yaml(ACTION)


def resolve(text: str, context: dict[str, str]) -> str:
    """Substitute `${{ expr }}` from `context`; an expression the test did not provide fails."""
    def value(match: re.Match) -> str:
        expression = match.group(1)
        if expression in context:
            return context[expression]
        chosen = _CHOICE.fullmatch(expression)  # `a == 'v' && 'then' || 'else'`, a given
        if chosen and chosen.group(1) in context:
            return chosen.group(3) if context[chosen.group(1)] == chosen.group(2) else chosen.group(4)
        # `inputs.x || 'v'`: a dispatch input absent on push; `vars.X || 'v'`: a repository variable unset
        left, bar, default = expression.partition("||")
        if bar and default.strip().startswith("'") and left.strip().startswith(("inputs.", "vars.")):
            return context.get(left.strip()) or default.strip().strip("'")
        raise KeyError(f"the test gave no value for ${{{{ {expression} }}}}")

    return _EXPRESSION.sub(value, str(text))


def steps_using(job: dict, prefix: str) -> list[dict]:
    return [s for s in job.get("steps", []) if str(s.get("uses", "")).startswith(prefix)]


def step(job: dict, step_id: str) -> dict:
    return next(s for s in job["steps"] if s.get("id") == step_id)


def action_inputs(with_: dict, context: dict[str, str]) -> dict[str, str]:
    """The action's inputs for a `uses: ./` step: its `with:` (resolved) over the defaults."""
    spec = action()["inputs"]
    unknown = set(with_) - set(spec)
    assert not unknown, f"inputs not declared by action.yml: {unknown}"
    return {name: resolve(with_[name], context) if name in with_ else str(entry.get("default", ""))
            for name, entry in spec.items()}


def command_line(run: str, env: dict[str, str]) -> list[str]:
    """A one-command `run:` script split as bash would, `"$VAR"` words taken from `env`."""
    words = []
    for word in shlex.split(run.replace("\\\n", " ")):
        if word.startswith("$"):
            name = word[1:].strip("{}")
            assert name in env, f"{name} is not in the step's env"
            words.append(env[name])
        else:
            assert "$" not in word, f"cannot expand {word!r} outside bash"
            words.append(word)
    return words


def action_argv(with_: dict, context: dict[str, str] | None = None) -> list[str]:
    """The sentinel-packer argv that action.yml's run step executes for these inputs."""
    inputs = action_inputs(with_, context or {})
    run_step = next(s for s in action()["runs"]["steps"] if s.get("id") == "run")
    values = {f"inputs.{k}": v for k, v in inputs.items()} | {"steps.install.outputs.executable": "sentinel-packer",
                                                               "steps.kql.outputs.node-modules": "",
                                                               "github.workspace": ".", "runner.temp": "/tmp"}
    env = {name: resolve(value, values) for name, value in run_step.get("env", {}).items()}
    argv = command_line(run_step["run"], env)
    assert argv[0] == "sentinel-packer"
    return argv[1:]


def executables(run_step: dict) -> dict[str, str]:
    """`${{ steps.X.outputs.executable }}` (the action's installed CLI) stands for `sentinel-packer`."""
    found = _EXPRESSION.findall(" ".join(str(v) for v in run_step.get("env", {}).values()))
    return {expression: "sentinel-packer" for expression in found if expression.endswith(".outputs.executable")}


def step_argv(run_step: dict, context: dict[str, str]) -> list[str]:
    """The sentinel-packer argv of a workflow `run:` step that calls it directly."""
    context = executables(run_step) | context
    env = {name: resolve(value, context) for name, value in run_step.get("env", {}).items()}
    argv = command_line(run_step["run"], env)
    assert argv[0] == "sentinel-packer"
    return argv[1:]


def step_env(run_step: dict, context: dict[str, str]) -> dict[str, str]:
    context = executables(run_step) | context
    return {name: resolve(value, context) for name, value in run_step.get("env", {}).items()}
