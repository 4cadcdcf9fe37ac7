"""Sentinel's fixed vocabularies (tactics, severities, kinds), matched as Microsoft's CI does."""
from __future__ import annotations

# The SecurityInsights AttackTactic enum (2022-08 CI model and the REST API agree).
TACTICS: tuple[str, ...] = (
    "Reconnaissance",
    "ResourceDevelopment",
    "InitialAccess",
    "Execution",
    "Persistence",
    "PrivilegeEscalation",
    "DefenseEvasion",
    "CredentialAccess",
    "Discovery",
    "LateralMovement",
    "Collection",
    "Exfiltration",
    "CommandAndControl",
    "Impact",
    "ImpairProcessControl",
    "InhibitResponseFunction",
    "PreAttack",
)
SEVERITIES: tuple[str, ...] = ("Informational", "Low", "Medium", "High")
RULE_KINDS: tuple[str, ...] = ("Scheduled", "NRT")
TRIGGER_OPERATORS: dict[str, str] = {
    "gt": "GreaterThan",
    "lt": "LessThan",
    "eq": "Equal",
    "ne": "NotEqual",
    "GreaterThan": "GreaterThan",
    "LessThan": "LessThan",
    "Equal": "Equal",
    "NotEqual": "NotEqual",
}
AGGREGATION_KINDS: tuple[str, ...] = ("SingleAlert", "AlertPerResult")

_TACTIC_BY_LOWER = {t.lower(): t for t in TACTICS}


def canonical_tactic(name: str) -> str | None:
    """`CommandandControl` -> `CommandAndControl` (Json.NET enum binding is case-insensitive)."""
    return _TACTIC_BY_LOWER.get(name.strip().lower())
