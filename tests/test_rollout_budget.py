"""Per-subscription budgets: a full bucket bursts, then requests are paced at the refill rate."""
from __future__ import annotations

from packer.rollout.budget import ArmLimits, BucketSpec, FleetBudgets, SubscriptionBudget


class FakeClock:
    """Time stands still unless a test moves it; sleeps are recorded, not slept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def _budget(size: float, rate: float) -> tuple[SubscriptionBudget, list[float], FakeClock]:
    clock = FakeClock()
    limits = ArmLimits(writes=BucketSpec(size, rate))
    return SubscriptionBudget("sub", limits, clock=clock, sleep=clock.sleep), clock.slept, clock


def test_burst_then_paced_at_the_refill_rate() -> None:
    budget, slept, _ = _budget(size=3, rate=10)
    for _ in range(6):
        budget.acquire("write")
    # three from the full bucket, then each one a further 1/10 s later (reserved in order)
    assert [round(s, 6) for s in slept] == [0.1, 0.2, 0.3]
    assert budget.granted["write"] == 6


def test_tokens_come_back_with_time() -> None:
    budget, slept, clock = _budget(size=2, rate=10)
    budget.acquire("write")
    budget.acquire("write")
    clock.now = 0.5  # 5 tokens' worth of refill, capped at the bucket size of 2
    budget.acquire("write")
    budget.acquire("write")
    assert slept == []
    budget.acquire("write")
    assert [round(s, 6) for s in slept] == [0.1]


def test_reads_writes_and_deletes_have_separate_buckets() -> None:
    budget, slept, _ = _budget(size=1, rate=1)
    budget.acquire("write")
    budget.acquire("delete")
    budget.acquire("read")
    assert slept == []


def test_scaled_limits_and_one_budget_per_subscription() -> None:
    limits = ArmLimits().scaled(5)
    assert (limits.writes.size, limits.writes.refill_per_second, limits.reads.refill_per_second) == (1000, 50, 125)
    budgets = FleetBudgets(limits)
    assert budgets.for_subscription("ABC") is budgets.for_subscription("abc")
    assert budgets.for_subscription("abc") is not budgets.for_subscription("def")
    assert FleetBudgets(None).for_subscription("abc") is None


def test_workers_start_spread_over_subscriptions() -> None:
    from packer.rollout.engine import interleaved_by_subscription
    from packer.targets import Target

    targets = [Target(f"w{i}", "t", sub, "rg", f"w{i}", "r") for i, sub in enumerate("aaabbc")]
    assert [t.name for t in interleaved_by_subscription(targets)] == ["w0", "w3", "w5", "w1", "w4", "w2"]


def test_automation_rule_writes_are_paced_by_their_own_bucket_and_spend_arm_writes_too() -> None:
    from packer.remote.limits import AUTOMATION_RULE_WRITE, RateLimitPolicy

    clock = FakeClock()
    limits = ArmLimits(writes=BucketSpec(100, 10), automation_rule_writes=BucketSpec(2, 0.5))
    budget = SubscriptionBudget("sub", limits, clock=clock, sleep=clock.sleep)
    policy = RateLimitPolicy(budget)

    class Request:  # what RateLimitPolicy reads of an azure-core PipelineRequest
        def __init__(self, method: str, url: str):
            self.http_request = type("HttpRequest", (), {"method": method, "url": url})()

    rule = "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/" \
           "workspaces/w/providers/Microsoft.SecurityInsights/automationRules/{}?api-version=2024-09-01"
    for i in range(4):
        policy.on_request(Request("PUT", rule.format(i)))
    policy.on_request(Request("PUT", rule.format(0).replace("automationRules", "alertRules")))
    policy.on_request(Request("GET", rule.format(0)))  # reads are not limited by default
    # two from the automation bucket's burst, then one per 2 s; ARM's bucket had plenty
    assert [round(s, 6) for s in clock.slept] == [2.0, 4.0]
    assert budget.granted[AUTOMATION_RULE_WRITE] == 4 and budget.granted["write"] == 5
    assert ArmLimits().scaled(3).automation_rule_writes == BucketSpec(300, 1.0)
