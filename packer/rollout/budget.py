"""Per-subscription request budgets shared by every worker of a rollout.

ARM throttles with token buckets per subscription and principal (writes and deletes: 200 tokens,
10 per second refill; reads: 250, 25/s); Sentinel adds its own, much smaller, budget for
automation-rule writes (about 100 per 5 minutes per subscription), which such a write spends
besides ARM's write token. A rollout that sends faster than the refill only buys
429s and back-off; one that paces itself exactly at the bucket's rate finishes at the bound.
So every WorkspaceClient of one subscription shares one SubscriptionBudget, whose buckets mirror
ARM's; `acquire` blocks the calling worker until its request may go.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from packer.remote.limits import AUTOMATION_RULE_WRITE, DELETE, READ, WRITE

OPERATIONS = (READ, WRITE, DELETE, AUTOMATION_RULE_WRITE)


@dataclass(frozen=True)
class BucketSpec:
    size: float
    refill_per_second: float


@dataclass(frozen=True)
class ArmLimits:
    """ARM's documented limits; `scaled(f)` multiplies sizes and rates (for an emulator run faster)."""

    reads: BucketSpec = BucketSpec(250, 25)
    writes: BucketSpec = BucketSpec(200, 10)
    deletes: BucketSpec = BucketSpec(200, 10)
    # Sentinel's automation-rule writes: about 100 per 5 minutes per subscription (the emulator's
    # number, INFERRED: docs/emulator.md), budgeted apart from ARM's bucket they also spend.
    automation_rule_writes: BucketSpec = BucketSpec(100, 100 / 300)

    def scaled(self, factor: float) -> "ArmLimits":
        def scale(spec: BucketSpec) -> BucketSpec:
            return BucketSpec(spec.size * factor, spec.refill_per_second * factor)

        return ArmLimits(scale(self.reads), scale(self.writes), scale(self.deletes),
                         scale(self.automation_rule_writes))

    def spec(self, operation: str) -> BucketSpec:
        return {READ: self.reads, WRITE: self.writes, DELETE: self.deletes,
                AUTOMATION_RULE_WRITE: self.automation_rule_writes}[operation]


class _Bucket:
    def __init__(self, spec: BucketSpec, clock=time.monotonic):
        self.spec = spec
        self.tokens = spec.size
        self._clock = clock
        self.stamp = clock()

    def reserve(self) -> float:
        """Take one token (possibly going into debt); the seconds to wait before using it."""
        now = self._clock()
        self.tokens = min(self.spec.size, self.tokens + (now - self.stamp) * self.spec.refill_per_second)
        self.stamp = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.spec.refill_per_second


class SubscriptionBudget:
    """The RateLimiter of one subscription: `acquire(operation)` blocks until a token is due.

    Reservations are handed out in arrival order (a worker waiting for its token does not hold
    the lock), so N workers share the subscription's rate fairly and never exceed it together.
    """

    def __init__(self, subscription_id: str, limits: ArmLimits, clock=time.monotonic, sleep=time.sleep):
        self.subscription_id = subscription_id
        self._buckets = {op: _Bucket(limits.spec(op), clock) for op in OPERATIONS}
        self._lock = threading.Lock()
        self._sleep = sleep
        self.granted = dict.fromkeys(OPERATIONS, 0)
        self.waited_seconds = 0.0

    def acquire(self, operation: str) -> None:
        with self._lock:
            wait = self._buckets[operation].reserve()
            self.granted[operation] += 1
            self.waited_seconds += wait
        if wait > 0:
            self._sleep(wait)


class FleetBudgets:
    """One SubscriptionBudget per subscription, created on first use; None limits = unpaced."""

    def __init__(self, limits: ArmLimits | None = ArmLimits()):
        self.limits = limits
        self._budgets: dict[str, SubscriptionBudget] = {}
        self._lock = threading.Lock()

    def for_subscription(self, subscription_id: str) -> SubscriptionBudget | None:
        if self.limits is None:
            return None
        key = subscription_id.lower()
        with self._lock:
            if key not in self._budgets:
                self._budgets[key] = SubscriptionBudget(key, self.limits)
            return self._budgets[key]

    def budgets(self) -> list[SubscriptionBudget]:
        with self._lock:
            return list(self._budgets.values())
