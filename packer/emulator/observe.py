"""What tests and users look at: per-workspace/subscription counters and the request log."""
from __future__ import annotations

import threading
from collections import defaultdict
from typing import NamedTuple

COUNTER_NAMES = ("reads", "writes", "deletes", "throttled", "errors")
_LOG_LIMIT = 200_000


class RequestRecord(NamedTuple):
    method: str
    path: str
    status: int
    api_version: str | None
    tenant: str | None


class Counters:
    """Counts per scope. A scope is a workspace resource id or `/subscriptions/{id}` (both lower-case).

    `counters[key]` accepts a workspace resource id, a workspace name (when unique), a subscription
    id or `/subscriptions/{id}`, and returns a dict of COUNTER_NAMES.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTER_NAMES, 0))

    def add(self, scopes: tuple[str, ...], name: str) -> None:
        with self._lock:
            for scope in scopes:
                self._counts[scope][name] += 1

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {scope: dict(counts) for scope, counts in self._counts.items()}

    def restore(self, data: dict[str, dict[str, int]]) -> None:
        with self._lock:
            for scope, counts in data.items():
                self._counts[scope].update({k: int(v) for k, v in counts.items() if k in COUNTER_NAMES})

    def __getitem__(self, key: str) -> dict[str, int]:
        wanted = key.lower().rstrip("/")
        if not wanted.startswith("/"):
            candidates = [f"/subscriptions/{wanted}"]
            candidates += [s for s in self._counts if s.endswith(f"/workspaces/{wanted}")]
        else:
            candidates = [wanted]
        with self._lock:
            for scope in candidates:
                if scope in self._counts:
                    return dict(self._counts[scope])
        return dict.fromkeys(COUNTER_NAMES, 0)

    def total(self) -> dict[str, int]:
        """Sums over subscriptions (each request counts once there)."""
        totals = dict.fromkeys(COUNTER_NAMES, 0)
        for scope, counts in self.snapshot().items():
            if "/" not in scope.removeprefix("/subscriptions/"):
                for name in COUNTER_NAMES:
                    totals[name] += counts[name]
        return totals


class RequestLog(list):
    """A list of RequestRecord, newest last, trimmed to the most recent entries in long runs."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def record(self, entry: RequestRecord) -> None:
        with self._lock:
            self.append(entry)
            if len(self) > _LOG_LIMIT:
                del self[: _LOG_LIMIT // 2]

    def reset(self) -> None:
        with self._lock:
            self.clear()
