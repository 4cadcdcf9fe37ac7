"""Plan: what applying the content to one workspace would change, as a saveable value."""
from packer.plan.compute import compute_plan
from packer.plan.model import CHANGING, Action, FieldChange, Plan, PlanItem, Write

__all__ = ["CHANGING", "Action", "FieldChange", "Plan", "PlanItem", "Write", "compute_plan"]
