"""`sentinel-packer validate`: check content the way Azure-Sentinel's CI does, and report every problem.

Public API (other stages depend on these names):
- validate_paths(paths, kql=True) -> ValidationReport
- load_content(root) -> ContentSet, raising packer.errors.ValidationFailed (with .report)
- Problem, ValidationReport
"""
from packer.validate.problems import ERROR, WARNING, Problem, ValidationReport
from packer.validate.runner import load_content, validate_paths

__all__ = ["ERROR", "WARNING", "Problem", "ValidationReport", "load_content", "validate_paths"]
