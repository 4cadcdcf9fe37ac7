"""`sentinel-packer install PACKAGE.zip`: install a Content Hub package zip (ours from `build`, or
Microsoft's Solutions/<X>/Package/<version>.zip) into one workspace, with plan/apply's semantics:
`--plan-only` prints (and `--out` saves) the plan and exits 0 (nothing to do) or 2 (changes);
without it the plan is applied (exit 0, or 1 if anything failed); `--plan FILE` applies a saved
plan exactly. Target options are plan/apply's. With `--all`, `--wave W` or `--select GLOBS`
instead of one workspace, the package is installed across the inventory's fleet wave by wave
(packer.rollout.install), with rollout's exit codes. See docs/install.md."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import typer

from packer.cli.output import make_console, write_output
from packer.cli.plan_cmd import (
    PLAN_FORMATS,
    TargetOptions,
    _connect,
    _endpoint,
    _with_target_options,
    echo_fleet_plan,
    read_saved_plan,
)
from packer.errors import EXIT_ERROR, EXIT_NO_CHANGES, ConfigError


def parse_parameters(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--parameter {pair!r}: give NAME=VALUE")
        values[name.strip()] = value
    return values


def install(
    options: TargetOptions = typer.Option(None, hidden=True),
    package: Optional[Path] = typer.Argument(None, help="The package zip (mainTemplate.json + createUiDefinition.json)."),
    plan_only: bool = typer.Option(False, "--plan-only", help="Only plan: print (and --out save) it; exit 2 on changes."),
    plan_file: Optional[Path] = typer.Option(None, "--plan", help="Apply this saved install plan exactly."),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json | markdown (the plan; a fleet install: its report)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Save the plan (JSON) for `install --plan`."),
    parameter: List[str] = typer.Option([], "--parameter", "-p", help="NAME=VALUE for a mainTemplate parameter."),
    report_file: Optional[Path] = typer.Option(None, "--report", help="Write the JSON apply report here (a fleet install: the fleet report)."),
    commit: Optional[str] = typer.Option(None, "--commit", help="Commit to record (default: git HEAD)."),
    all_workspaces: bool = typer.Option(False, "--all", help="Fleet install: every workspace of the inventory."),
    wave: Optional[str] = typer.Option(None, "--wave", help="Fleet install: the workspaces of this wave."),
    select: Optional[str] = typer.Option(None, "--select", help="Fleet install: workspace name globs, comma-separated."),
    parallel: int = typer.Option(8, "--parallel", min=1, max=256, help="Fleet install: workspaces at once in a wave."),
    max_failures: Optional[int] = typer.Option(None, "--max-failures", min=0,
                                               help="Fleet install: failed workspaces a wave tolerates "
                                                    "(overrides targets.yaml)."),
) -> None:
    """Install a Content Hub package zip into one workspace (plan, then apply), or with --all,
    --wave or --select into the inventory's fleet, wave by wave."""
    from packer.apply import apply_plan, check_saved_plan
    from packer.connect import current_commit, plan_exit_code
    from packer.package.install import read_package
    from packer.plan.install_plan import compute_install_plan
    from packer.views.apply import apply_with_progress, print_apply_report
    from packer.views.plan import render_markdown, render_table

    if fmt not in PLAN_FORMATS:
        raise ConfigError(f"--format {fmt!r} is not supported; use one of: {', '.join(PLAN_FORMATS)}")
    if (package is None) == (plan_file is None):
        raise ConfigError("give the package zip, or --plan FILE to apply a saved install plan (not both)")
    if plan_file is not None and plan_only:
        raise ConfigError("--plan applies a saved plan; --plan-only makes one: give one or the other")
    values = parse_parameters(parameter)
    fleet = FleetChoice(all_workspaces, wave, select, parallel, max_failures)
    if fleet.chosen:
        _fleet_install(options, fleet, package, plan_file, plan_only, fmt, out, values, report_file, commit)
    if max_failures is not None:
        raise ConfigError("--max-failures is a fleet install's: use it with --all, --wave or --select")
    saved = read_saved_plan(plan_file)
    loaded = read_package(package) if package is not None else None  # a bad zip fails before any request
    workspace = _connect(options, saved.target if saved else None)
    workspace.check()
    console = make_console()
    with workspace.client() as client:
        if saved is not None:
            check_saved_plan(saved, client)  # refuse a stale plan before printing it as if it would run
        planned = saved or compute_install_plan(loaded, workspace.target, client, parameters=values,
                                                commit=commit or current_commit())
        if out is not None:
            write_output(out, planned.to_json())
        if plan_only:
            if fmt == "json":
                typer.echo(planned.to_json())
            elif fmt == "markdown":
                typer.echo(render_markdown(planned), nl=False)
            else:
                render_table(planned, console)
            raise typer.Exit(plan_exit_code(planned))
        render_table(planned, console)
        report = apply_with_progress(console, planned, lambda progress: apply_plan(
            planned, client, progress=progress, check_stale=False))
    print_apply_report(console, report)
    if report_file is not None:
        write_output(report_file, report.to_json())
    raise typer.Exit(EXIT_NO_CHANGES if report.ok else EXIT_ERROR)


@dataclass(frozen=True)
class FleetChoice:
    all_workspaces: bool
    wave: str | None
    select: str | None
    parallel: int
    max_failures: int | None

    @property
    def chosen(self) -> bool:
        return bool(self.all_workspaces or self.wave or self.select)


def _fleet_install(options: TargetOptions, fleet_choice: FleetChoice, package: Path | None, plan_file: Path | None,
                   plan_only: bool, fmt: str, out: Path | None, values: dict[str, str], report_file: Path | None,
                   commit: str | None) -> None:
    """Many workspaces: plan (--plan-only: exit 0/2/1 as `plan --all`) or install wave by wave
    (exit 0 when every wave stayed within its failure threshold, 1 otherwise, as `rollout`)."""
    from packer.connect import connect_fleet, current_commit, plan_exit_code
    from packer.package.install import read_package

    if options.target:
        raise ConfigError("--target installs into one workspace; --all, --wave and --select into the fleet: "
                          "give one or the other")
    if plan_file is not None or package is None:
        raise ConfigError("a fleet install (--all, --wave, --select) plans each workspace afresh: give the package "
                          "zip, not --plan")
    if out is not None and not plan_only:
        raise ConfigError("--out saves the fleet plan: use it with --plan-only")
    loaded = read_package(package)  # a bad zip fails before any request
    if not options.targets.is_file():
        raise ConfigError(f"the inventory {options.targets} does not exist (--targets)")
    fleet = connect_fleet(options.targets, wave=fleet_choice.wave, select=fleet_choice.select,
                          endpoint=_endpoint(options), requests_per_workspace=options.concurrency)
    commit = commit or current_commit()
    if plan_only:
        planned = fleet.plan_install(loaded, values, commit)
        if out is not None:
            write_output(out, planned.to_json())
        echo_fleet_plan(planned, fmt)
        raise typer.Exit(plan_exit_code(planned))
    report = _install_with_progress(fleet, loaded, values, fleet_choice, commit, fmt)
    if report_file is not None:
        write_output(report_file, report.to_json())
    _print_fleet_report(report, fmt)
    raise typer.Exit(EXIT_NO_CHANGES if report.within_thresholds else EXIT_ERROR)


def _install_with_progress(fleet, loaded, values: dict[str, str], fleet_choice: FleetChoice, commit: str | None,
                           fmt: str):
    from packer.rollout.engine import RolloutOptions
    from packer.views.rollout import RichObserver

    rollout_options = RolloutOptions(parallel=fleet_choice.parallel, max_failures=fleet_choice.max_failures,
                                     commit=commit)
    if fmt != "table":  # json and markdown print the report alone
        return fleet.install(loaded, values, rollout_options)
    with RichObserver(make_console()) as observer:
        return fleet.install(loaded, values, rollout_options, observer)


def _print_fleet_report(report, fmt: str) -> None:
    from packer.views.rollout import print_rollout_summary, rollout_report_markdown

    if fmt == "json":
        typer.echo(report.to_json())
        return
    if fmt == "markdown":
        typer.echo(rollout_report_markdown(report), nl=False)
        return
    print_rollout_summary(report, make_console())


def register(app: typer.Typer) -> None:
    app.command("install")(_with_target_options(install))
