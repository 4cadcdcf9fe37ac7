"""`sentinel-packer export`: a workspace's (or a fleet's) Sentinel content as content files.

- packer.export.convert: live bodies -> content documents (pure)
- packer.export.workspace: one workspace, written and proven by a round trip
- packer.export.fleet: the fleet, de-forked into one rule + overlays in targets.yaml
"""
from packer.export.workspace import ExportedItem, WorkspaceExport, export_workspace, read_workspace

__all__ = ["ExportedItem", "WorkspaceExport", "export_workspace", "read_workspace"]
