"""Apply a plan to a workspace: exactly its writes, safely ordered, reported per item."""
from packer.apply.report import ApplyReport, ItemResult, Outcome
from packer.apply.run import ON_DRIFT, DriftDetected, StalePlan, apply_plan, check_saved_plan

__all__ = ["ApplyReport", "DriftDetected", "ItemResult", "ON_DRIFT", "Outcome", "StalePlan", "apply_plan",
           "check_saved_plan"]
