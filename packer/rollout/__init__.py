"""Fleet rollout: waves, per-subscription budgets, fleet plans and reports, job matrices."""
