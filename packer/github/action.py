"""What the composite action does for each command: run it, then publish the result to the
job summary, the step outputs and (for validate) annotations.

Each command calls the same library functions as the CLI command of that name (packer.connect,
packer.validate, packer.package.build) and the same views, so the action and a terminal behave
identically; the driver sits beside the CLI, never calling it.
"""
from __future__ import annotations

import hashlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packer.errors import ConfigError, PackerError
from packer.github.annotations import findings_markdown, read_sarif, workflow_command
from packer.github.outputs import set_outputs, write_step_summary
from packer.views.output import error_details, write_output

COMMANDS = ("validate", "build", "plan", "rollout")
PLAN_EXIT_CHANGES = 2  # `plan` exits like `terraform plan -detailed-exitcode`


@dataclass(frozen=True)
class ActionInputs:
    """The composite action's inputs, as `sentinel-packer github run` receives them."""

    command: str
    content: Path = Path("content")
    targets: Path = Path("targets.yaml")
    target: str = ""
    wave: str = ""
    select: str = ""
    output_dir: Path = Path("sentinel-packer-out")

    def __post_init__(self) -> None:
        if self.command not in COMMANDS:
            raise ConfigError(f"unknown action command {self.command!r}: use one of {', '.join(COMMANDS)}")

    @property
    def sarif_path(self) -> Path:
        return self.output_dir / "validate.sarif"

    @property
    def dist_dir(self) -> Path:
        return self.output_dir / "dist"

    @property
    def plan_json(self) -> Path:
        return self.output_dir / "plan.json"

    @property
    def plan_markdown(self) -> Path:
        return self.output_dir / "plan.md"

    @property
    def report_json(self) -> Path:
        return self.output_dir / "rollout-report.json"

    @property
    def report_markdown(self) -> Path:
        return self.output_dir / "rollout-report.md"


@dataclass(frozen=True)
class ActionResult:
    exit_code: int  # what the step exits with (plan's "changes" is success here)
    command_exit_code: int  # what the wrapped command returned
    outputs: dict[str, str]
    summary: str


def run_command(inputs: ActionInputs) -> int:
    """Run the action's command through the library; returns its exit code. A library error is
    printed as the CLI prints it (validation problems, then `error: ...`) and gives its exit code."""
    try:
        return _RUNNERS[inputs.command](inputs)
    except PackerError as exc:
        print(f"{error_details(exc)}error: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code


def _run_validate(inputs: ActionInputs) -> int:
    from packer.validate import validate_paths
    from packer.views.validation import render, summary

    inventory = [inputs.targets] if inputs.targets.is_file() else []  # the inventory too, when there is one
    report = validate_paths([inputs.content, *inventory], kql=True)
    write_output(inputs.sarif_path, render(report, "sarif"))
    print(summary(report), file=sys.stderr, flush=True)
    return 1 if report.errors else 0


def _run_build(inputs: ActionInputs) -> int:
    from packer.package.build import build_content
    from packer.views.build import build_lines, build_warnings

    result = build_content(inputs.content, inputs.dist_dir, None, kql=True)
    for line in build_warnings(result):
        print(line, file=sys.stderr, flush=True)
    print("\n".join(build_lines(result)), flush=True)
    return 0


def _run_plan(inputs: ActionInputs) -> int:
    """One workspace (target), part of the fleet (wave and/or select), or all of it."""
    from packer.connect import Endpoint, connect_fleet, connect_workspace, current_commit, plan_exit_code
    from packer.views.fleet_plan import fleet_plan_markdown
    from packer.views.plan import render_markdown

    endpoint, commit = Endpoint.from_environ(), current_commit()
    if inputs.target:
        plan = connect_workspace(inputs.target, inputs.targets, endpoint=endpoint).plan(inputs.content, commit)
        markdown = render_markdown(plan)
    else:
        if not inputs.targets.is_file():
            raise ConfigError(f"the inventory {inputs.targets} does not exist (--targets)")
        fleet = connect_fleet(inputs.targets, wave=inputs.wave, select=inputs.select, endpoint=endpoint)
        plan = fleet.plan(inputs.content, commit)
        markdown = fleet_plan_markdown(plan)
    write_output(inputs.plan_json, plan.to_json())
    write_output(inputs.plan_markdown, markdown)
    print(markdown, end="", flush=True)
    return plan_exit_code(plan)


def _run_rollout(inputs: ActionInputs) -> int:
    from rich.console import Console

    from packer.connect import Endpoint, connect_fleet, current_commit
    from packer.rollout.engine import RolloutOptions
    from packer.views.rollout import RichObserver

    fleet = connect_fleet(inputs.targets, wave=inputs.wave, select=inputs.select, endpoint=Endpoint.from_environ())
    console = Console(highlight=False)
    with RichObserver(console) as observer:
        report = fleet.rollout(inputs.content, RolloutOptions(commit=current_commit()), observer)
    write_output(inputs.report_json, report.to_json())
    write_output(inputs.report_markdown, report.to_markdown())
    console.print(f"[bold {'green' if report.ok else 'red'}]{report.summary()}[/]", markup=True)
    return 0 if report.ok else 1


_RUNNERS = {"validate": _run_validate, "build": _run_build, "plan": _run_plan, "rollout": _run_rollout}


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def _publish_validate(inputs: ActionInputs, code: int) -> tuple[dict[str, str], str]:
    if not inputs.sarif_path.is_file():
        return {"sarif-path": "", "error-count": ""}, f"### sentinel-packer validate\n\nNo SARIF log was written (exit code {code}).\n"
    findings = read_sarif(inputs.sarif_path)
    for finding in findings:
        print(workflow_command(finding), flush=True)
    errors = sum(1 for f in findings if f.level == "error")
    return ({"sarif-path": str(inputs.sarif_path), "error-count": str(errors)}, findings_markdown(findings))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _publish_build(inputs: ActionInputs, code: int) -> tuple[dict[str, str], str]:
    packages = sorted(p for p in inputs.dist_dir.rglob("*.zip")) if inputs.dist_dir.is_dir() else []
    lines = ["### sentinel-packer build", ""]
    if code != 0 or not packages:
        lines.append(f"The build failed (exit code {code}); no package was produced.")
    else:
        lines += ["| Package | Size | SHA-256 |", "| --- | ---: | --- |"]
        lines += [f"| `{p.name}` | {p.stat().st_size:,} B | `{_sha256(p)}` |" for p in packages]
    outputs = {"package-dir": str(inputs.dist_dir), "package-path": str(packages[0]) if packages else ""}
    return outputs, "\n".join(lines) + "\n"


def _publish_plan(inputs: ActionInputs, code: int) -> tuple[dict[str, str], str]:
    # A plan exists when the command saved one (--out), even if some workspace could not be
    # planned (exit 1, its error listed in the plan); a run that stopped earlier has none and
    # must never be posted as if it were a plan.
    planned = inputs.plan_json.is_file() and bool(_read(inputs.plan_markdown).strip())
    outputs = {"has-changes": "true" if code == PLAN_EXIT_CHANGES else "false",
               "plan-path": str(inputs.plan_json) if planned else "",
               "plan-markdown-path": str(inputs.plan_markdown) if planned else ""}
    if planned:
        return outputs, _read(inputs.plan_markdown)
    return outputs, f"### sentinel-packer plan\n\nThe plan failed (exit code {code}); see the step's log.\n"


def _publish_rollout(inputs: ActionInputs, code: int) -> tuple[dict[str, str], str]:
    outputs = {"report-path": str(inputs.report_markdown) if inputs.report_markdown.is_file() else "",
               "report-json-path": str(inputs.report_json) if inputs.report_json.is_file() else ""}
    summary = _read(inputs.report_markdown) or f"### sentinel-packer rollout\n\nNo report was written (exit code {code}).\n"
    return outputs, summary


_PUBLISHERS = {"validate": _publish_validate, "build": _publish_build,
               "plan": _publish_plan, "rollout": _publish_rollout}


def run_action(inputs: ActionInputs, environ: Mapping[str, str] | None = None) -> ActionResult:
    """Run the command, then write the summary and outputs; never hides the command's failure."""
    inputs.output_dir.mkdir(parents=True, exist_ok=True)
    for stale in (inputs.sarif_path, inputs.plan_json, inputs.plan_markdown, inputs.report_json, inputs.report_markdown):
        stale.unlink(missing_ok=True)  # outputs must only ever name what this run wrote
    code = run_command(inputs)
    outputs, summary = _PUBLISHERS[inputs.command](inputs, code)
    outputs["exit-code"] = str(code)
    write_step_summary(summary, environ)
    set_outputs(outputs, environ)
    step_code = 0 if (inputs.command == "plan" and code == PLAN_EXIT_CHANGES) else code
    return ActionResult(step_code, code, outputs, summary)
