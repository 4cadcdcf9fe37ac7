"""Per-tenant and per-workspace overlays on the shared content (see docs/fleet.md)."""
from packer.overlay.apply import apply_overlays
from packer.overlay.model import EMPTY_OVERLAY, Exclusion, Overlay, Override, Selector, WatchlistItemsFile
from packer.overlay.params import QueryParameter, declared_parameters, substitute

__all__ = [
    "EMPTY_OVERLAY",
    "Exclusion",
    "Overlay",
    "Override",
    "QueryParameter",
    "Selector",
    "WatchlistItemsFile",
    "apply_overlays",
    "declared_parameters",
    "substitute",
]
