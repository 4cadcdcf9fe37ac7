"""sentinel-packer: Microsoft Sentinel content as code.

The library's entry points, importable from `packer` (README, "Python"):

- validate_paths, load_content: check content and get the validated ContentSet
- build_content, build_solution_input: the Content Hub package and ARM templates
- connect_workspace, connect_fleet (with Endpoint, WorkspaceFlags): one workspace or the fleet of
  an inventory, with `.plan(content)`, `.apply(plan)`, `.rollout(content)`, `.doctor(content)`,
  `.export(out)`, `.coverage(content, live=)` (ATT&CK coverage, packer.coverage)
- export_workspace: a workspace's content written as content files, with what it cannot hold
- compute_plan, apply_plan, Plan: the plan as a value, and applying it exactly
- load_inventory, apply_overlays, RolloutOptions
- the errors a caller can act on: PackerError, ConfigError, ContentError, ValidationFailed

They are loaded on first use (PEP 562), so `import packer` stays cheap and every stage can read
`packer.__version__` without importing the stages above it.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "validate_paths": "packer.validate",
    "load_content": "packer.validate",
    "Problem": "packer.problems",
    "ValidationReport": "packer.validate",
    "build_content": "packer.package.build",
    "build_solution_input": "packer.package.build",
    "Endpoint": "packer.connect",
    "WorkspaceFlags": "packer.connect",
    "connect_workspace": "packer.connect",
    "connect_fleet": "packer.connect",
    "compute_plan": "packer.plan.compute",
    "export_workspace": "packer.export",
    "Plan": "packer.plan.model",
    "apply_plan": "packer.apply",
    "RolloutOptions": "packer.rollout.engine",
    "load_inventory": "packer.targets",
    "apply_overlays": "packer.overlay",
    "PackerError": "packer.errors",
    "ConfigError": "packer.errors",
    "ContentError": "packer.errors",
    "ValidationFailed": "packer.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'packer' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
