"""`sentinel-packer plan` and `apply`: one workspace, like `terraform plan` / `apply`.

The target comes from the inventory (`--target NAME [--targets targets.yaml]`, with that
workspace's overlays and tenant credential) or from the command line (`--subscription
--resource-group --workspace --tenant --repository`). Content is validated first: nothing is
read from or written to a workspace for a content set with errors.

Targets, credentials and clients are resolved by packer.connect (DefaultAzureCredential or the
inventory's per-tenant auth, always checked to be a token of the target's tenant). Against the
emulator: `--base-url URL --ca-cert PATH --emulator-tenant TENANT` (or $SENTINEL_PACKER_BASE_URL,
$SENTINEL_PACKER_CA_CERT, $SENTINEL_PACKER_EMULATOR_TENANT; TENANT `target` means the target's
own tenant).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import typer

from packer.cli.output import make_console, write_output
from packer.errors import EXIT_ERROR, EXIT_NO_CHANGES, ConfigError

PLAN_FORMATS = ("table", "json", "markdown")
REQUIRE_KQL_ENV = "SENTINEL_PACKER_REQUIRE_KQL"  # packer.kql.analyser.REQUIRE_ENV (not imported: Node-free CLI start)
ADOPT_HELP = ("Take ownership of existing items equal to the content whose metadata another tool or Content Hub "
              "wrote (their metadata alone is written; items without metadata are adopted anyway).")
ADOPT_FROM_HELP = "Also take over items equal to the content that this repository (owner/name) owns; repeatable."
ON_CONFLICT_HELP = ("fail | ours | theirs: an upgrade of an item edited in the workspace, where both changed the "
                    "same field (fail: plan exits 1 and apply writes nothing).")



@dataclass(frozen=True)
class TargetOptions:
    target: str | None
    targets: Path
    subscription: str | None
    resource_group: str | None
    workspace: str | None
    tenant: str | None
    repository: str | None
    base_url: str | None
    ca_cert: str | None
    emulator_tenant: str | None
    concurrency: int
    repository_typed: bool = False  # --repository on the command line, not $GITHUB_REPOSITORY


def _target_options(
    target: Optional[str] = typer.Option(None, "--target", help="Workspace name in the inventory (targets.yaml)."),
    targets: Path = typer.Option(Path("targets.yaml"), "--targets", help="The inventory file."),
    subscription: Optional[str] = typer.Option(None, "--subscription", help="Subscription id (without --target)."),
    resource_group: Optional[str] = typer.Option(None, "--resource-group", help="Resource group (without --target)."),
    workspace: Optional[str] = typer.Option(None, "--workspace", help="Log Analytics workspace name (without --target)."),
    tenant: Optional[str] = typer.Option(None, "--tenant", help="Tenant id of the workspace (without --target)."),
    repository: Optional[str] = typer.Option(
        None, "--repository", envvar="GITHUB_REPOSITORY",
        help="This content repository's identity (owner/name): marks what this tool owns."),
    base_url: Optional[str] = typer.Option(None, "--base-url", envvar="SENTINEL_PACKER_BASE_URL",
                                           help="Management endpoint (default Azure; the emulator's URL in tests)."),
    ca_cert: Optional[str] = typer.Option(None, "--ca-cert", envvar="SENTINEL_PACKER_CA_CERT",
                                          help="CA bundle to trust (the emulator's certificate)."),
    emulator_tenant: Optional[str] = typer.Option(
        None, "--emulator-tenant", envvar="SENTINEL_PACKER_EMULATOR_TENANT",
        help="Use the emulator's test tokens ('target': the target's tenant; a tenant id: only that tenant's)."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, max=32, help="Requests in flight to the workspace."),
) -> TargetOptions:
    return TargetOptions(target, targets, subscription, resource_group, workspace, tenant, repository, base_url,
                         ca_cert, emulator_tenant, concurrency)


def _endpoint(options: TargetOptions):
    from packer.connect import Endpoint

    return Endpoint(options.base_url, options.ca_cert, options.emulator_tenant)


def _connect(options: TargetOptions, plan_target: Any = None):
    """The workspace (from --target, the flags, or a saved plan) with a tenant-checked credential."""
    from packer.connect import WorkspaceFlags, connect_workspace

    flags = WorkspaceFlags(options.subscription, options.resource_group, options.workspace, options.tenant,
                           options.repository, repository_typed=options.repository_typed)
    return connect_workspace(options.target, options.targets, flags=flags, plan_target=plan_target,
                             endpoint=_endpoint(options), concurrency=options.concurrency)


# --- commands -------------------------------------------------------------------------------


def plan(
    options: TargetOptions = typer.Option(None, hidden=True),
    content: Path = typer.Option(Path("content"), "--content", help="The content folder."),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json | markdown"),
    out: Optional[Path] = typer.Option(None, "--out", help="Save the plan (JSON) for `apply --plan`."),
    commit: Optional[str] = typer.Option(None, "--commit", help="Commit to record (default: git HEAD)."),
    show_unchanged: bool = typer.Option(False, "--show-unchanged", help="List unchanged items too (table)."),
    all_workspaces: bool = typer.Option(False, "--all", help="Fleet plan: every workspace of the inventory."),
    wave: Optional[str] = typer.Option(None, "--wave", help="Fleet plan: the workspaces of this wave."),
    select: Optional[str] = typer.Option(None, "--select", help="Fleet plan: workspace name globs, comma-separated."),
    require_kql: bool = typer.Option(
        False, "--require-kql", envvar=REQUIRE_KQL_ENV,
        help="Fail instead of falling back when Node.js or the Kusto.Language package is absent."),
    on_conflict: str = typer.Option("fail", "--on-conflict", help=ON_CONFLICT_HELP),
    adopt: bool = typer.Option(False, "--adopt", help=ADOPT_HELP),
    adopt_from: list[str] = typer.Option([], "--adopt-from", help=ADOPT_FROM_HELP),
    html: Optional[Path] = typer.Option(None, "--html", help="Fleet plan: write the fleet report page (HTML) here."),
) -> None:
    """Show what apply would change in one workspace (or, with --all/--wave/--select, in the
    fleet of the inventory). Exit 0: no changes, 2: changes, 1: error."""
    from packer.connect import current_commit, plan_exit_code
    from packer.views.plan import render_markdown, render_table

    if fmt not in PLAN_FORMATS:
        raise ConfigError(f"--format {fmt!r} is not supported; use one of: {', '.join(PLAN_FORMATS)}")
    if require_kql:  # every analysis of this run (validation, table check, fleet plan) reads it
        os.environ[REQUIRE_KQL_ENV] = "1"
    if all_workspaces or wave or select:
        _fleet_plan(options, content, fmt, out, commit or current_commit(), wave, select, html,
                    adoption=_adoption(adopt, adopt_from))
    if html is not None:
        raise ConfigError("--html writes the fleet report: use it with --all, --wave or --select")
    from packer.plan.merge import check_on_conflict

    check_on_conflict(on_conflict)
    result = _connect(options).plan(content, commit or current_commit(), on_conflict=on_conflict, adopt=adopt,
                                    adopt_from=tuple(adopt_from))
    if out is not None:
        write_output(out, result.to_json())
    if fmt == "json":
        typer.echo(result.to_json())
    elif fmt == "markdown":
        typer.echo(render_markdown(result), nl=False)
    else:
        render_table(result, make_console(), show_unchanged=show_unchanged)
    raise typer.Exit(plan_exit_code(result))


def _fleet_plan(options: TargetOptions, content: Path, fmt: str, out: Path | None, commit: str | None,
                wave: str | None, select: str | None, html: Path | None = None, adoption=None) -> None:
    """Many workspaces: the rollout layer's fleet plan (packer.rollout.fleet_plan), `adoption`
    (--adopt, --adopt-from) in each selected workspace."""
    from packer.connect import connect_fleet, plan_exit_code

    if options.target:
        raise ConfigError("--target plans one workspace; --all, --wave and --select plan the fleet: give one or the other")
    if not options.targets.is_file():
        raise ConfigError(f"the inventory {options.targets} does not exist (--targets)")
    connected = connect_fleet(options.targets, wave=wave, select=select, endpoint=_endpoint(options),
                              requests_per_workspace=options.concurrency)
    fleet = connected.plan(content, commit, adoption)
    if out is not None:
        write_output(out, fleet.to_json())
    if html is not None:
        from packer.views.fleet_report import fleet_report_html

        plans = {w.target.name: w.plan for w in fleet.workspaces if w.plan is not None}
        coverage = connected.coverage(content, fleet_plan=plans)  # offline: the plan says what is blocked
        write_output(html, fleet_report_html(title="Fleet plan", summary=fleet.summary(), plan=fleet,
                                             coverage=coverage))
    echo_fleet_plan(fleet, fmt)
    raise typer.Exit(plan_exit_code(fleet))


def echo_fleet_plan(fleet, fmt: str) -> None:
    """A fleet plan (packer.rollout.fleet_plan.FleetPlan) as `--format` asks: json, markdown or tables."""
    from packer.views.fleet_plan import fleet_plan_markdown, print_fleet_plan

    if fmt == "json":
        typer.echo(fleet.to_json())
    elif fmt == "markdown":
        typer.echo(fleet_plan_markdown(fleet), nl=False)
    else:
        print_fleet_plan(fleet, make_console())
        typer.echo(fleet.summary())  # plain echo: never wrapped


def apply(
    options: TargetOptions = typer.Option(None, hidden=True),
    content: Path = typer.Option(Path("content"), "--content", help="The content folder (without --plan)."),
    plan_file: Optional[Path] = typer.Option(None, "--plan", help="Apply this saved plan exactly."),
    prune: bool = typer.Option(False, "--prune", help="Delete items this repository deployed and no longer has."),
    on_drift: str = typer.Option("fail", "--on-drift", help="fail | overwrite | skip: items edited in the portal."),
    report_file: Optional[Path] = typer.Option(None, "--report", help="Write the JSON report here."),
    commit: Optional[str] = typer.Option(None, "--commit", help="Commit to record (default: git HEAD)."),
    on_conflict: str = typer.Option("fail", "--on-conflict", help=ON_CONFLICT_HELP),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json (the report, as --report writes it)."),
    adopt: bool = typer.Option(False, "--adopt", help=ADOPT_HELP),
    adopt_from: list[str] = typer.Option([], "--adopt-from", help=ADOPT_FROM_HELP),
) -> None:
    """Apply a saved plan, or plan and apply in one go. Exit 1 if any item failed."""
    from packer.apply import ON_DRIFT, apply_plan, check_saved_plan
    from packer.connect import current_commit
    from packer.plan.compute import compute_plan
    from packer.views.apply import apply_with_progress, print_apply_report
    from packer.views.plan import render_table

    if on_drift not in ON_DRIFT:
        raise ConfigError(f"--on-drift must be one of {', '.join(ON_DRIFT)}, not {on_drift!r}")
    from packer.plan.merge import check_on_conflict

    check_on_conflict(on_conflict)
    if fmt not in ("table", "json"):
        raise ConfigError(f"--format {fmt!r} is not supported; use table or json")
    console = make_console()
    saved = read_saved_plan(plan_file)
    workspace = _connect(options, saved.target if saved else None)
    workspace.check()
    content_set, base = (None, None) if saved else workspace.contents(content)
    with workspace.client() as client:
        if saved is not None:
            check_saved_plan(saved, client)  # refuse a stale plan before printing it as if it would run
        to_apply = saved or compute_plan(content_set, workspace.target, client, commit or current_commit(),
                                         package_content=base, on_conflict=on_conflict, adopt=adopt,
                                         adopt_from=tuple(adopt_from))
        if fmt == "json":
            report = apply_plan(to_apply, client, prune=prune, on_drift=on_drift, check_stale=False)
        else:
            render_table(to_apply, console)
            report = apply_with_progress(console, to_apply, lambda progress: apply_plan(
                to_apply, client, prune=prune, on_drift=on_drift, progress=progress, check_stale=False))
    if fmt == "json":
        typer.echo(report.to_json())
    else:
        print_apply_report(console, report)
    if report_file is not None:
        write_output(report_file, report.to_json())
    raise typer.Exit(EXIT_NO_CHANGES if report.ok else EXIT_ERROR)


def _adoption(adopt: bool, adopt_from: list[str]):
    """--adopt and --adopt-from as the planner takes them (packer.plan.model.Adoption)."""
    from packer.plan.model import Adoption

    return Adoption(adopt, tuple(adopt_from))


def read_saved_plan(plan_file: Path | None):
    """The plan saved in `plan_file` (packer.plan.model.Plan), or None when no file is given."""
    from packer.plan.model import Plan

    if plan_file is None:
        return None
    try:
        return Plan.from_json(plan_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {plan_file}: {exc.strerror or exc}") from None


def register(app: typer.Typer) -> None:
    app.command("plan")(_with_target_options(plan))
    app.command("apply")(_with_target_options(apply))


def _with_target_options(command):
    """Give a command the shared target options (typer has no option groups)."""
    import dataclasses
    import functools
    import inspect

    import typing

    def params(function) -> list[inspect.Parameter]:
        hints = typing.get_type_hints(function)  # annotations are strings here (__future__)
        return [p.replace(annotation=hints.get(p.name, p.annotation))
                for p in inspect.signature(function).parameters.values() if p.name != "options"]

    target_params = params(_target_options)
    own = params(command)

    @functools.wraps(command)
    def wrapper(_packer_ctx: typer.Context, **kwargs):
        options = _target_options(**{p.name: kwargs.pop(p.name) for p in target_params})
        source = _packer_ctx.get_parameter_source("repository")  # typed, or $GITHUB_REPOSITORY?
        options = dataclasses.replace(options, repository_typed=getattr(source, "name", "") == "COMMANDLINE")
        return command(options=options, **kwargs)

    context = inspect.Parameter("_packer_ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    wrapper.__signature__ = inspect.Signature([context] + own + target_params)
    return wrapper
