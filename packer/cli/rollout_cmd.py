"""`sentinel-packer targets matrix|list`, `rollout` and `doctor`: the fleet commands.
(`plan --all | --wave W | --select GLOB`, in packer.cli.plan_cmd, uses the same rollout library.)"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from packer.cli.output import make_console, write_output
from packer.errors import ConfigError
from packer.remote.preflight import preflight_fleet
from packer.validate import load_content

targets_app = typer.Typer(help="The fleet inventory (targets.yaml).", no_args_is_help=True)

TARGETS_OPTION = typer.Option(Path("targets.yaml"), "--targets", help="The fleet inventory.")
CONTENT_OPTION = typer.Option(Path("content"), "--content", help="The content folder.")
WAVE_OPTION = typer.Option("", "--wave", help="Only this wave's workspaces.")
SELECT_OPTION = typer.Option("", "--select", help="Workspace name globs, comma-separated (e.g. a matrix shard).")
BASE_URL_OPTION = typer.Option(None, "--base-url", envvar="SENTINEL_PACKER_BASE_URL",
                               help="Management endpoint (default Azure; the emulator's URL in tests).")
CA_OPTION = typer.Option(None, "--ca-cert", envvar="SENTINEL_PACKER_CA_CERT", help="CA bundle to trust (the emulator's).")
EMULATOR_TENANT_OPTION = typer.Option(
    None, "--emulator-tenant", envvar="SENTINEL_PACKER_EMULATOR_TENANT",
    help="Use the emulator's test tokens ('target': each workspace's token tenant; a tenant id: only that tenant's).")


# --- targets ----------------------------------------------------------------------------------


@targets_app.command("matrix")
def matrix(
    targets: Path = TARGETS_OPTION,
    wave: str = WAVE_OPTION,
    shard_size: int = typer.Option(10, "--shard-size", help="Workspaces per shard (whole subscriptions per shard)."),
) -> None:
    """Print the inventory as a GitHub Actions job matrix: {"include": [{shard, wave, select}...]}."""
    from packer.rollout.matrix import job_matrix
    from packer.targets import load_inventory

    typer.echo(json.dumps(job_matrix(load_inventory(targets), wave=wave or None, shard_size=shard_size)))


@targets_app.command("list")
def list_targets(targets: Path = TARGETS_OPTION, wave: str = WAVE_OPTION, select: str = SELECT_OPTION) -> None:
    """List the workspaces of the inventory with their tenant, wave and overlay."""
    from rich.table import Table

    from packer.targets import load_inventory

    inventory = load_inventory(targets)
    table = Table()
    for column in ("workspace", "tenant", "auth", "wave", "subscription", "resource group / workspace", "overlay"):
        table.add_column(column, overflow="fold", no_wrap=column == "workspace")
    for target in inventory.select(wave=wave or None, glob=select or None):
        entry = inventory.entry(target.name)
        table.add_row(target.name, entry.tenant.name, entry.tenant.auth.kind.value, target.wave or "",
                      target.subscription_id, f"{target.resource_group}/{target.workspace}",
                      "" if entry.overlay.is_empty else "yes")
    make_console().print(table)


# --- shared plumbing --------------------------------------------------------------------------


def fleet_connection(inventory, base_url: str | None, ca_cert: str | None, emulator_tenant: str | None,
                     rate_scale: float = 1.0, pacing: bool = True):
    """Credentials per tenant (azure-identity, or the emulator's tokens), budgets per subscription."""
    from packer.auth import CredentialProvider, azure_credential
    from packer.remote.api_versions import ARM_ENDPOINT
    from packer.rollout.budget import ArmLimits, FleetBudgets
    from packer.rollout.connection import FleetConnection

    factory = azure_credential
    if emulator_tenant:
        from packer.cli.plan_cmd import emulator_credential

        def factory(tenant):
            return emulator_credential(emulator_tenant, tenant.tenant_id)

    limits = ArmLimits().scaled(rate_scale) if pacing else None
    return FleetConnection(CredentialProvider(inventory, factory), base_url or ARM_ENDPOINT, ca_cert,
                           budgets=FleetBudgets(limits))


def _inventory(targets: Path, content: Path, wave: str, select: str):
    """The inventory and the chosen workspaces; the content is loaded after the connection check."""
    from packer.targets import load_inventory

    inventory = load_inventory(targets)
    if not content.is_dir():
        raise ConfigError(f"--content {content} is not a folder")
    return inventory, inventory.select(wave=wave or None, glob=select or None)


def _commit(commit: str | None) -> str | None:
    from packer.cli.plan_cmd import current_commit

    return commit or current_commit()


# --- rollout ----------------------------------------------------------------------------------


def rollout_command(
    targets: Path = TARGETS_OPTION,
    content: Path = CONTENT_OPTION,
    wave: str = WAVE_OPTION,
    select: str = SELECT_OPTION,
    parallel: int = typer.Option(8, "--parallel", min=1, max=256, help="Workspaces deployed at once within a wave."),
    prune: bool = typer.Option(False, "--prune", help="Delete items this repository deployed and no longer has."),
    on_drift: str = typer.Option("fail", "--on-drift", help="fail | overwrite | skip: items edited in the portal."),
    max_failures: Optional[int] = typer.Option(None, "--max-failures", min=0,
                                               help="Failed workspaces a wave tolerates (overrides targets.yaml)."),
    report_json: Optional[Path] = typer.Option(None, "--report-json", help="Write the fleet report (JSON) here."),
    report_md: Optional[Path] = typer.Option(None, "--report-md", help="Write the fleet report (Markdown) here."),
    commit: Optional[str] = typer.Option(None, "--commit", help="Commit to record (default: git HEAD)."),
    rate_scale: float = typer.Option(1.0, "--rate-scale", min=0.01,
                                     help="Multiply ARM's per-subscription limits (only for emulators configured so)."),
    base_url: Optional[str] = BASE_URL_OPTION,
    ca_cert: Optional[str] = CA_OPTION,
    emulator_tenant: Optional[str] = EMULATOR_TENANT_OPTION,
) -> None:
    """Deploy to the fleet wave by wave; stop when a wave crosses its failure threshold.
    Exit 0: every workspace succeeded; 1: a workspace failed or the rollout stopped."""
    from packer.apply import ON_DRIFT
    from packer.rollout.engine import RolloutOptions, rollout
    from packer.rollout.progress import RichObserver

    if on_drift not in ON_DRIFT:
        raise ConfigError(f"--on-drift must be one of {', '.join(ON_DRIFT)}, not {on_drift!r}")
    inventory, chosen = _inventory(targets, content, wave, select)
    connection = fleet_connection(inventory, base_url, ca_cert, emulator_tenant, rate_scale)
    preflight_fleet(connection, chosen, emulator_tenant)
    content_set = load_content(content)
    options = RolloutOptions(parallel=parallel, prune=prune, on_drift=on_drift, max_failures=max_failures,
                             commit=_commit(commit))
    console = make_console()
    with RichObserver(console) as observer:
        report = rollout(content_set, inventory, chosen, connection, options, observer)
    if report_json is not None:
        write_output(report_json, report.to_json())
    if report_md is not None:
        write_output(report_md, report.to_markdown())
    console.print(f"[bold {'green' if report.ok else 'red'}]{escape(report.summary())}[/]", markup=True, soft_wrap=True)
    raise typer.Exit(0 if report.ok else 1)


# --- doctor -----------------------------------------------------------------------------------


def doctor_command(
    target: Optional[str] = typer.Option(None, "--target", help="One workspace of the inventory."),
    all_: bool = typer.Option(False, "--all", help="Every workspace of the inventory."),
    targets: Path = TARGETS_OPTION,
    content: Path = CONTENT_OPTION,
    base_url: Optional[str] = BASE_URL_OPTION,
    ca_cert: Optional[str] = CA_OPTION,
    emulator_tenant: Optional[str] = EMULATOR_TENANT_OPTION,
) -> None:
    """Check that workspaces can take the content, and print what to fix. Exit 1 if any cannot."""
    from packer.rollout.doctor import doctor

    if bool(target) == all_:
        raise ConfigError("give exactly one of --target NAME or --all")
    inventory, everything = _inventory(targets, content, wave="", select="")
    chosen = [inventory.target(target)] if target else everything
    connection = fleet_connection(inventory, base_url, ca_cert, emulator_tenant)
    preflight_fleet(connection, chosen, emulator_tenant)
    results = doctor(load_content(content), inventory, chosen, connection)
    console = make_console()
    marks = {True: ("ok", "green"), False: ("FAIL", "red"), None: ("?", "yellow")}
    for result in results:
        console.print(f"[bold]{escape(result.target)}[/]", soft_wrap=True)
        for check in result.checks:
            label, style = marks[check.ok]
            console.print(f"  [{style}]{label:<4}[/] {escape(check.name)}: {escape(check.detail)}", soft_wrap=True)
            if check.ok is False and check.fix:
                console.print(f"       fix: {escape(check.fix)}", soft_wrap=True)
    bad = [r.target for r in results if not r.ok]
    console.print(f"[bold {'red' if bad else 'green'}]{len(results) - len(bad)} of {len(results)} workspace(s) ready[/]",
                  soft_wrap=True)
    raise typer.Exit(1 if bad else 0)


def register(app: typer.Typer) -> None:
    app.add_typer(targets_app, name="targets")
    app.command("rollout")(rollout_command)
    app.command("doctor")(doctor_command)
