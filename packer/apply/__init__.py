"""Apply a plan to a workspace: exactly its writes, safely ordered, reported per item."""
from packer.apply.report import ApplyReport, ItemResult, Outcome
from packer.apply.run import (
    ON_DRIFT,
    ConflictDetected,
    DriftDetected,
    StalePlan,
    apply_plan,
    check_conflicts,
    check_saved_plan,
)

__all__ = ["ApplyReport", "ConflictDetected", "DriftDetected", "check_conflicts", "ItemResult", "ON_DRIFT", "Outcome", "StalePlan", "apply_plan",
           "check_saved_plan"]
