"""Fault injection: latency, a share of 5xx answers, dropped connections, scripted failures.

Reproducible: whether the n-th request with a given method and path fails is decided by a random
generator seeded with (seed, method, path, n), so it does not depend on how threads interleave.
"""
from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, replace

from packer.emulator.config import FaultConfig, ScriptedFault


@dataclass(frozen=True)
class FaultDecision:
    latency_s: float = 0.0
    status: int | None = None
    retry_after: int | None = None
    drop: bool = False
    after: bool = False  # drop only once the request was carried out (the write landed)


NO_FAULT = FaultDecision()


@dataclass
class _Script:
    method: str
    pattern: re.Pattern
    status: int
    remaining: int
    retry_after: int | None
    drop: bool
    after: bool = False
    delay_s: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and self.method in ("*", method) and bool(self.pattern.search(path))


class Faults:
    """Runtime control of fault injection (emu.faults)."""

    def __init__(self, config: FaultConfig):
        self._lock = threading.Lock()
        self.seed = config.seed
        self.latency_ms = config.latency_ms
        self.error_rate = config.error_rate
        self.error_statuses = tuple(config.error_statuses) or (500,)
        self.drop_rate = config.drop_rate
        self._scripts: list[_Script] = []
        self._seen: dict[tuple[str, str], int] = {}
        for item in config.scripted:
            self._add(item)

    def _add(self, item: ScriptedFault) -> None:
        with self._lock:
            self._scripts.append(_Script(item.method.upper(), re.compile(item.path), item.status, item.times,
                                         item.retry_after, item.drop, item.after, item.delay_s))

    def script(self, method: str, path_regex: str, status: int, times: int = 1, retry_after: int | None = None) -> None:
        """The next `times` requests matching method ('*' for any) and path regex get `status`."""
        self._add(ScriptedFault(method.upper(), path_regex, status, times, retry_after))

    def drop_connection(self, method: str, path_regex: str, times: int = 1) -> None:
        """The next `times` matching requests get their connection closed with no answer."""
        self._add(ScriptedFault(method.upper(), path_regex, 0, times, None, drop=True))

    def drop_after_write(self, method: str, path_regex: str, times: int = 1) -> None:
        """The next `times` matching requests are carried out (a PUT's write lands), then their
        connection closes with no answer: the client cannot know, and must read before writing again."""
        self._add(ScriptedFault(method.upper(), path_regex, 0, times, None, drop=True, after=True))

    def slow(self, method: str, path_regex: str, seconds: float, times: int = 1) -> None:
        """The next `times` matching requests are answered `seconds` late."""
        self._add(ScriptedFault(method.upper(), path_regex, 0, times, None, delay_s=seconds))

    def set_error_rate(self, rate: float, statuses: tuple[int, ...] | None = None) -> None:
        self.error_rate = rate
        if statuses:
            self.error_statuses = tuple(statuses)

    def set_latency(self, ms: float) -> None:
        self.latency_ms = ms

    def set_drop_rate(self, rate: float) -> None:
        self.drop_rate = rate

    def clear(self) -> None:
        with self._lock:
            self._scripts.clear()
            self.error_rate = self.drop_rate = self.latency_ms = 0.0

    @property
    def pending_scripts(self) -> int:
        return sum(s.remaining for s in self._scripts)

    def decide(self, method: str, path: str) -> FaultDecision:
        decision = NO_FAULT
        if self.latency_ms:
            decision = FaultDecision(latency_s=self.latency_ms / 1000)
        if self._scripts:
            with self._lock:
                for script in self._scripts:
                    if script.matches(method, path):
                        script.remaining -= 1
                        return replace(decision, status=None if script.drop or not script.status else script.status,
                                       retry_after=script.retry_after, drop=script.drop, after=script.after,
                                       latency_s=decision.latency_s + script.delay_s)
        if self.error_rate or self.drop_rate:
            key = (method, path.lower())
            with self._lock:
                nth = self._seen[key] = self._seen.get(key, 0) + 1
            rng = random.Random(f"{self.seed}|{method}|{key[1]}|{nth}")
            if rng.random() < self.drop_rate:
                return replace(decision, drop=True)
            if rng.random() < self.error_rate:
                return replace(decision, status=rng.choice(self.error_statuses))
        return decision
