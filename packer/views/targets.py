"""What `targets list` prints: the inventory's workspaces with tenant, auth, wave and overlay."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table


def print_targets(inventory, targets, console: Console) -> None:
    """`inventory`: a packer.targets.Inventory; `targets`: the workspaces of it to list."""
    table = Table()
    for column in ("workspace", "tenant", "auth", "wave", "subscription", "resource group / workspace", "overlay"):
        table.add_column(column, overflow="fold")
    for target in targets:
        entry = inventory.entry(target.name)
        table.add_row(target.name, entry.tenant.name, entry.tenant.auth.kind.value, target.wave or "",
                      target.subscription_id, f"{target.resource_group}/{target.workspace}",
                      "" if entry.overlay.is_empty else "yes")
    console.print(table)
