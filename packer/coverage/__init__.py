"""ATT&CK coverage per workspace, counting only what runs there (docs/coverage.md)."""
from packer.coverage.attack import AttackCatalog, load_attack
from packer.coverage.compute import (
    CoverageReport,
    RuleCoverage,
    RuleState,
    WorkspaceCoverage,
    live_coverage,
    offline_coverage,
    repository_coverage,
)

__all__ = ["AttackCatalog", "CoverageReport", "RuleCoverage", "RuleState", "WorkspaceCoverage", "live_coverage",
           "load_attack", "offline_coverage", "repository_coverage"]
