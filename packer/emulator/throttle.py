"""ARM's token-bucket throttling: a bucket per (subscription, operation) and per (principal, operation).

A request takes one token from each bucket that applies; when any is empty the answer is 429 with
Retry-After (whole seconds until a token is back). Remaining counts go out on every response.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

from packer.emulator.config import ThrottlingConfig


def operation_of(method: str) -> str:
    if method in ("GET", "HEAD", "OPTIONS"):
        return "reads"
    return "deletes" if method == "DELETE" else "writes"


class TokenBucket:
    def __init__(self, size: float, refill_per_second: float, now: float):
        self.size = size
        self.refill = refill_per_second
        self.tokens = size
        self.stamp = now

    def _top_up(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.size, self.tokens + (now - self.stamp) * self.refill)
            self.stamp = now

    def available(self, now: float) -> bool:
        self._top_up(now)
        return self.tokens >= 1

    def seconds_until_token(self) -> int:
        return max(1, math.ceil((1 - self.tokens) / self.refill))


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    remaining: int
    retry_after: int = 0
    scope: str = ""


class Throttler:
    """`clock` (seconds, monotonic) refills the buckets; tests pass their own to be independent
    of how fast the machine runs."""

    def __init__(self, config: ThrottlingConfig, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self._clock = clock
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def _bucket(self, key: str, operation: str, now: float) -> TokenBucket:
        bucket = self._buckets.get((key, operation))
        if bucket is None:
            spec = self.config.bucket(operation)
            bucket = self._buckets[(key, operation)] = TokenBucket(spec.size, spec.refill_per_second, now)
        return bucket

    def take(self, subscription: str, principal: str, operation: str) -> Verdict:
        if not self.config.enabled:
            return Verdict(True, int(self.config.bucket(operation).size) - 1)
        scopes = [(f"subscription '{subscription}'", "sub:" + subscription.lower())]
        if self.config.per_principal and principal:
            scopes.append((f"subscription '{subscription}' actor '{principal}'", f"oid:{subscription.lower()}:{principal}"))
        with self._lock:
            now = self._clock()
            buckets = [(label, self._bucket(key, operation, now)) for label, key in scopes]
            for label, bucket in buckets:
                if not bucket.available(now):
                    return Verdict(False, 0, bucket.seconds_until_token(), label)
            for _, bucket in buckets:
                bucket.tokens -= 1
            return Verdict(True, int(buckets[0][1].tokens))

    def take_automation_rule_write(self, subscription: str) -> Verdict:
        """Sentinel's per-subscription automation-rule write budget (ThrottlingConfig.automation_rule_writes)."""
        if not self.config.enabled:
            return Verdict(True, 0)
        with self._lock:
            now = self._clock()
            bucket = self._bucket("automation:" + subscription.lower(), "automation_rule_writes", now)
            if not bucket.available(now):
                return Verdict(False, 0, bucket.seconds_until_token(), f"subscription '{subscription}'")
            bucket.tokens -= 1
            return Verdict(True, int(bucket.tokens))

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
