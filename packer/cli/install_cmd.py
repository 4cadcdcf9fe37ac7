"""`sentinel-packer install PACKAGE.zip`: install a Content Hub package zip (ours from `build`, or
Microsoft's Solutions/<X>/Package/<version>.zip) into one workspace, with plan/apply's semantics:
`--plan-only` prints (and `--out` saves) the plan and exits 0 (nothing to do) or 2 (changes);
without it the plan is applied (exit 0, or 1 if anything failed); `--plan FILE` applies a saved
plan exactly. Target options are plan/apply's. See docs/install.md."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from packer.cli.output import make_console, write_output
from packer.cli.plan_cmd import (
    PLAN_FORMATS,
    TargetOptions,
    _connect,
    _with_target_options,
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
    fmt: str = typer.Option("table", "--format", "-f", help="table | json | markdown (the plan)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Save the plan (JSON) for `install --plan`."),
    parameter: List[str] = typer.Option([], "--parameter", "-p", help="NAME=VALUE for a mainTemplate parameter."),
    report_file: Optional[Path] = typer.Option(None, "--report", help="Write the JSON apply report here."),
    commit: Optional[str] = typer.Option(None, "--commit", help="Commit to record (default: git HEAD)."),
) -> None:
    """Install a Content Hub package zip into one workspace (plan, then apply)."""
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


def register(app: typer.Typer) -> None:
    app.command("install")(_with_target_options(install))
