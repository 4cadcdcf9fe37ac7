"""Pipeline policies that shape traffic: an optional shared rate limiter, acquired per attempt.

ARM throttles per subscription and principal (reads 25/s, writes 10/s, deletes 10/s refill).
The rollout layer shares one limiter between every workspace of a subscription; it is acquired
inside azure-core's retry loop, so a retried request spends budget like a first attempt.
"""
from __future__ import annotations

from typing import Callable, Protocol, Union

from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy

READ = "read"
WRITE = "write"
DELETE = "delete"
# Sentinel's own budget for automation-rule writes and deletes per subscription (about 100 per
# 5 minutes), spent on top of ARM's write or delete token (docs/fleet.md, "Pacing").
AUTOMATION_RULE_WRITE = "automation-rule-write"


class RateLimiter(Protocol):
    """Blocks until one request of `operation` (read | write | delete) may be sent."""

    def acquire(self, operation: str) -> None: ...


LimiterLike = Union[RateLimiter, Callable[[str], None]]


def operation_of(method: str) -> str:
    method = method.upper()
    if method == "DELETE":
        return DELETE
    if method in ("PUT", "PATCH", "POST"):
        return WRITE
    return READ


class RateLimitPolicy(SansIOHTTPPolicy):
    """Acquires the limiter before every attempt. By default only writes and deletes are
    limited (reads are plentiful: 250 burst, 25/s); pass `operations` to limit reads too."""

    def __init__(self, limiter: LimiterLike, operations: frozenset[str] = frozenset({WRITE, DELETE})):
        super().__init__()
        self._acquire = limiter.acquire if hasattr(limiter, "acquire") else limiter
        self._operations = operations

    def on_request(self, request: PipelineRequest) -> None:
        operation = operation_of(request.http_request.method)
        if operation in self._operations:
            if operation != READ and is_automation_rule(request.http_request.url):
                self._acquire(AUTOMATION_RULE_WRITE)
            self._acquire(operation)


def is_automation_rule(url: str) -> bool:
    return "/providers/microsoft.securityinsights/automationrules/" in url.lower()
