"""Deployment targets: single workspaces and the fleet inventory (targets.yaml)."""
from packer.targets.model import Target

__all__ = ["Target"]
