"""What the composite action does for each command: run it, then publish the result to the
job summary, the step outputs and (for validate) annotations.

Each command calls the same library functions as the CLI command of that name (packer.connect,
packer.validate, packer.package.build) and the same views, so the action and a terminal behave
identically; the driver sits beside the CLI, never calling it.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packer.errors import ConfigError, PackerError
from packer.github.annotations import findings_markdown, notice_command, read_sarif, warning_command, workflow_command
from packer.github.outputs import set_outputs, write_step_summary
from packer.plan.model import Adoption
from packer.views.output import error_details, write_output

COMMANDS = ("validate", "build", "plan", "rollout", "gate")
PLAN_EXIT_CHANGES = 2  # `plan` exits like `terraform plan -detailed-exitcode`


@dataclass(frozen=True)
class RolloutInputs:
    """The action's rollout policy inputs, checked before anything runs."""

    prune: bool = False
    on_drift: str = "fail"
    max_failures: int | None = None
    parallel: int = 8

    @classmethod
    def from_action(cls, prune: str, on_drift: str, max_failures: str, parallel: str) -> "RolloutInputs":
        if prune.strip().lower() not in ("true", "false", ""):
            raise ConfigError(f"input prune must be 'true' or 'false', not {prune!r}")
        if on_drift not in ("fail", "overwrite", "skip"):
            raise ConfigError(f"input on-drift must be fail, overwrite or skip, not {on_drift!r}")
        return cls(prune=prune.strip().lower() == "true", on_drift=on_drift,
                   max_failures=_count("max-failures", max_failures) if max_failures.strip() else None,
                   parallel=_count("parallel", parallel or "8"))


_REPOSITORY = re.compile(r"[\w.-]+/[\w.-]+")


def adoption_from_action(adopt: str, adopt_from: str) -> Adoption:
    """The inputs adopt ('true' | 'false') and adopt-from (owner/name repositories, one a line or
    comma-separated) as plan and rollout take them (--adopt, --adopt-from); checked before anything runs."""
    if adopt.strip().lower() not in ("true", "false", ""):
        raise ConfigError(f"input adopt must be 'true' or 'false', not {adopt!r}")
    repositories = tuple(r.strip() for r in re.split(r"[,\n]", adopt_from) if r.strip())
    for repository in repositories:
        if not _REPOSITORY.fullmatch(repository):
            raise ConfigError(f"input adopt-from: {repository!r} is not a repository (owner/name)")
    return Adoption(adopt.strip().lower() == "true", repositories)


def _count(name: str, text: str) -> int:
    if not text.strip().isdigit():
        raise ConfigError(f"input {name} must be a whole number, not {text!r}")
    return int(text)


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
    rollout: RolloutInputs = RolloutInputs()
    check_versions: str = ""  # a git ref: build fails when an item changed without a version bump
    reviewed_plan: Path | None = None  # rollout: the fleet plan reviewed on the pull request
    adoption: Adoption = Adoption()  # plan and rollout: --adopt / --adopt-from

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

    @property
    def plan_html(self) -> Path:
        """The fleet report page of a fleet plan (uploaded with plan.* by the workflows)."""
        return self.output_dir / "plan.html"

    @property
    def report_html(self) -> Path:
        """The fleet report page of a rollout (uploaded with rollout-report.*)."""
        return self.output_dir / "rollout-report.html"

    @property
    def gate_text(self) -> Path:
        return self.output_dir / "gate.txt"

    def shard_reports(self) -> list[Path]:
        """The wave's shard reports, as actions/download-artifact lays them out (one folder each)."""
        return sorted(p for p in self.output_dir.rglob("rollout-report.json") if p != self.report_json)


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

    result = build_content(inputs.content, inputs.dist_dir, None, kql=True,
                           check_versions_against=inputs.check_versions or None)
    for line in build_warnings(result):
        print(line, file=sys.stderr, flush=True)
    print("\n".join(build_lines(result)), flush=True)
    return 0


def _run_plan(inputs: ActionInputs) -> int:
    """One workspace (target), part of the fleet (wave and/or select), or all of it."""
    from packer.connect import Endpoint, connect_fleet, connect_workspace, current_commit, plan_exit_code
    from packer.views.fleet_plan import fleet_plan_markdown
    from packer.views.fleet_report import fleet_report_html
    from packer.views.plan import render_markdown

    endpoint, commit = Endpoint.from_environ(), current_commit()
    if inputs.target:
        plan = connect_workspace(inputs.target, inputs.targets, endpoint=endpoint).plan(
            inputs.content, commit, adopt=inputs.adoption.adopt, adopt_from=inputs.adoption.adopt_from)
        markdown = render_markdown(plan)
    else:
        if not inputs.targets.is_file():
            raise ConfigError(f"the inventory {inputs.targets} does not exist (--targets)")
        fleet = connect_fleet(inputs.targets, wave=inputs.wave, select=inputs.select, endpoint=endpoint)
        plan = fleet.plan(inputs.content, commit, inputs.adoption)
        markdown = fleet_plan_markdown(plan)
        plans = {w.target.name: w.plan for w in plan.workspaces if w.plan is not None}
        write_output(inputs.plan_html, fleet_report_html(title="Fleet plan", summary=plan.summary(), plan=plan,
                                                         coverage=fleet.coverage(inputs.content, fleet_plan=plans)))
    write_output(inputs.plan_json, plan.to_json())
    write_output(inputs.plan_markdown, markdown)
    print(markdown, end="", flush=True)
    return plan_exit_code(plan)


def _run_rollout(inputs: ActionInputs) -> int:
    from rich.console import Console

    from packer.connect import Endpoint, connect_fleet, current_commit
    from packer.rollout.engine import RolloutOptions
    from packer.rollout.reviewed import load_reviewed_plan
    from packer.views.fleet_report import fleet_report_html
    from packer.views.rollout import RichObserver, rollout_report_markdown

    reviewed = load_reviewed_plan(inputs.reviewed_plan) if inputs.reviewed_plan else None
    fleet = connect_fleet(inputs.targets, wave=inputs.wave, select=inputs.select, endpoint=Endpoint.from_environ())
    console = Console(highlight=False)
    policy = inputs.rollout
    options = RolloutOptions(parallel=policy.parallel, prune=policy.prune, on_drift=policy.on_drift,
                             max_failures=policy.max_failures, commit=current_commit(), reviewed=reviewed,
                             adoption=inputs.adoption)
    with RichObserver(console) as observer:
        report = fleet.rollout(inputs.content, options, observer)
    write_output(inputs.report_json, report.to_json())
    write_output(inputs.report_markdown, rollout_report_markdown(report))
    write_output(inputs.report_html, fleet_report_html(title="Rollout", summary=report.summary(), rollout=report,
                                                       coverage=fleet.coverage(inputs.content, live=True)))
    colour = "green" if report.ok else ("yellow" if report.within_thresholds else "red")
    console.print(f"[bold {colour}]{report.summary()}[/]", markup=True)
    return 0 if report.within_thresholds else 1  # a wave within its threshold passes; the gate sums shards


def _run_gate(inputs: ActionInputs) -> int:
    from packer.rollout.gate import wave_verdict
    from packer.targets import load_inventory

    if not inputs.wave:
        raise ConfigError("the gate command judges one wave: set the action's `wave` input")
    verdict = wave_verdict(load_inventory(inputs.targets), inputs.wave, inputs.shard_reports())
    write_output(inputs.gate_text, verdict.summary() + "\n")
    print(verdict.summary(), flush=True)
    return 0 if verdict.passed else 1


_RUNNERS = {"validate": _run_validate, "build": _run_build, "plan": _run_plan, "rollout": _run_rollout,
            "gate": _run_gate}


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
    results = _report_results(inputs.report_json)
    for r in (r for r in results if r.get("plan_source") == "re-planned"):
        reason = f"workspace {r.get('name', '?')} re-planned, not the reviewed plan: {r.get('replan_reason', '')}"
        print(notice_command("sentinel-packer rollout", reason), flush=True)
    for r in (r for r in results if r.get("status") in ("failed", "refused")):
        failure = f"workspace {r.get('name', '?')} {r['status']}: {r.get('error', '')}".rstrip(": ")
        print(warning_command("sentinel-packer rollout", failure), flush=True)
    return outputs, summary


def _report_results(report_json: Path) -> list[dict]:
    """The workspaces of a rollout report. Failed ones are printed as warnings (a wave within its
    threshold passes, so they would otherwise show only inside the summary), re-planned ones as
    notices naming the reason."""
    try:
        results = json.loads(_read(report_json) or "{}").get("results", [])
    except ValueError:
        return []
    return [r for r in results if isinstance(r, dict)]


def _publish_gate(inputs: ActionInputs, code: int) -> tuple[dict[str, str], str]:
    verdict = _read(inputs.gate_text).strip() or f"The gate could not judge the wave (exit code {code})."
    return {}, f"### sentinel-packer wave gate\n\n{verdict}\n"


def _report_page_link(inputs: ActionInputs, environ: Mapping[str, str] | None) -> str:
    """A line pointing to the fleet report page, which the workflow uploads with the run's artifacts."""
    page = inputs.plan_html if inputs.command == "plan" else inputs.report_html if inputs.command == "rollout" else None
    if page is None or not page.is_file():
        return ""
    env = os.environ if environ is None else environ
    where = "this run's artifacts"
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        run = f"{env.get('GITHUB_SERVER_URL', 'https://github.com')}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
        where = f"[this run's artifacts]({run}#artifacts)"
    return (f"\n**Fleet report page** (per wave and workspace: results, drift, blocked items, failures, ATT&CK "
            f"coverage; sortable and filterable by tenant): `{page.name}` in {where}.\n")


_PUBLISHERS = {"validate": _publish_validate, "build": _publish_build,
               "plan": _publish_plan, "rollout": _publish_rollout, "gate": _publish_gate}


def run_action(inputs: ActionInputs, environ: Mapping[str, str] | None = None) -> ActionResult:
    """Run the command, then write the summary and outputs; never hides the command's failure."""
    inputs.output_dir.mkdir(parents=True, exist_ok=True)
    for stale in (inputs.sarif_path, inputs.plan_json, inputs.plan_markdown, inputs.report_json, inputs.report_markdown,
                  inputs.gate_text, inputs.plan_html, inputs.report_html):
        stale.unlink(missing_ok=True)  # outputs must only ever name what this run wrote
    code = run_command(inputs)
    outputs, summary = _PUBLISHERS[inputs.command](inputs, code)
    summary += _report_page_link(inputs, environ)
    outputs["exit-code"] = str(code)
    write_step_summary(summary, environ)
    set_outputs(outputs, environ)
    step_code = 0 if (inputs.command == "plan" and code == PLAN_EXIT_CHANGES) else code
    return ActionResult(step_code, code, outputs, summary)
