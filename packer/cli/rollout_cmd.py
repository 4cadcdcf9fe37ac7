"""`sentinel-packer targets matrix`, `rollout` and `doctor`: the fleet commands."""
from __future__ import annotations

import json
from pathlib import Path

import typer

targets_app = typer.Typer(help="The fleet inventory (targets.yaml).", no_args_is_help=True)

TARGETS_OPTION = typer.Option(Path("targets.yaml"), "--targets", help="The fleet inventory.")


@targets_app.command("matrix")
def matrix(
    targets: Path = TARGETS_OPTION,
    wave: str = typer.Option("", "--wave", help="Only this wave's workspaces (run one matrix job per wave)."),
    shard_size: int = typer.Option(10, "--shard-size", help="Workspaces per shard (whole subscriptions per shard)."),
) -> None:
    """Print the inventory as a GitHub Actions job matrix: {"include": [{shard, wave, select}...]}."""
    from packer.rollout.matrix import job_matrix
    from packer.targets import load_inventory

    typer.echo(json.dumps(job_matrix(load_inventory(targets), wave=wave or None, shard_size=shard_size)))


@targets_app.command("list")
def list_targets(
    targets: Path = TARGETS_OPTION,
    wave: str = typer.Option("", "--wave", help="Only this wave."),
    select: str = typer.Option("", "--select", help="Workspace name globs, comma-separated."),
) -> None:
    """List the workspaces of the inventory with their tenant, wave and overlay."""
    from rich.console import Console
    from rich.table import Table

    from packer.targets import load_inventory

    inventory = load_inventory(targets)
    table = Table("workspace", "tenant", "auth", "wave", "subscription", "resource group / workspace", "overlay")
    for target in inventory.select(wave=wave or None, glob=select or None):
        entry = inventory.entry(target.name)
        table.add_row(target.name, entry.tenant.name, entry.tenant.auth.kind.value, target.wave or "",
                      target.subscription_id, f"{target.resource_group}/{target.workspace}",
                      "" if entry.overlay.is_empty else "yes")
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(targets_app, name="targets")
