"""Deployment targets: single workspaces and the fleet inventory (targets.yaml)."""
from packer.targets.inventory import AuthKind, Inventory, Tenant, TenantAuth, Wave, WorkspaceEntry
from packer.targets.load import DEFAULT_TARGETS_FILE, InventoryError, inventory_errors, is_inventory, load_inventory, validate_inventory
from packer.targets.model import Target

__all__ = [
    "DEFAULT_TARGETS_FILE",
    "AuthKind",
    "Inventory",
    "InventoryError",
    "Target",
    "Tenant",
    "TenantAuth",
    "Wave",
    "WorkspaceEntry",
    "inventory_errors",
    "is_inventory",
    "load_inventory",
    "validate_inventory",
]
