"""Asynchronous operations, ARM's Azure-AsyncOperation pattern: the write answers at once with a
status URL, polled until `status` is terminal (Succeeded here).

Used by custom tables (tables.py: done at once, the first poll says Succeeded) and by watchlist
uploads and deletes (watchlists.py: the items appear, or the watchlist and its items go, only when
the operation completes). An operation
completes after `polls` status polls have answered InProgress, or once `seconds` have passed
whether anyone polls or not (the service works on without being asked); its `complete`
callback then does the deferred work. Status bodies follow OperationStatusResult
(common-types/resource-management/v5/types.json): id, name, resourceId, status, percentComplete,
startTime and, once done, endTime.
"""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable

from packer.emulator.stamping import utc_now


@dataclass
class Operation:
    name: str
    status_id: str                       # the status URL's path: the status body's `id`
    resource_id: str                     # what the operation works on
    polls_left: int
    deadline: float                      # time.monotonic() after which it completes unpolled
    complete: Callable[[], None] | None
    start_time: str
    end_time: str | None = None
    kind: str = "write"                  # "upload", "delete"...: decides what a request meanwhile gets

    @property
    def done(self) -> bool:
        return self.end_time is not None

    def body(self) -> dict:
        status = {"id": self.status_id, "name": self.name, "resourceId": self.resource_id,
                  "status": "Succeeded" if self.done else "InProgress",
                  "percentComplete": 100.0 if self.done else 0.0, "startTime": self.start_time}
        if self.done:
            status["endTime"] = self.end_time
        return status


class Operations:
    """The operations started since the emulator started (in memory: a restart completes none)."""

    def __init__(self, lock: threading.RLock | None = None, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = lock or threading.RLock()  # the store's: completing writes to it
        self._by_name: dict[str, Operation] = {}
        self._pending: dict[str, Operation] = {}  # what settle() looks at: every request calls it

    def start(self, status_collection: str, resource_id: str, complete: Callable[[], None] | None = None,
              polls: int = 0, seconds: float = 0.0, kind: str = "write") -> Operation:
        """A new operation whose status is at `{status_collection}/{name}`. With polls=0 it is done at once."""
        name = str(uuid.uuid4())
        operation = Operation(name, f"{status_collection}/{name}", resource_id, max(0, polls),
                              self._clock() + seconds, complete, utc_now(), kind=kind)
        with self._lock:
            self._by_name[name] = operation
            self._pending[name] = operation
            if operation.polls_left == 0:
                self._finish(operation)
        return operation

    def status(self, name: str, status_id: str) -> dict:
        """The answer to one poll: each poll of an unfinished operation uses up one of its polls.
        An unknown name (started before a restart) answers Succeeded, as a finished one does."""
        with self._lock:
            self.settle()
            operation = self._by_name.get(name.lower())
            if operation is None:
                now = utc_now()
                return {"id": status_id, "name": name, "status": "Succeeded", "percentComplete": 100.0,
                        "startTime": now, "endTime": now}
            if not operation.done:
                if operation.polls_left > 0:
                    operation.polls_left -= 1
                    return operation.body()
                self._finish(operation)
            return operation.body()

    def settle(self) -> None:
        """Complete every operation whose time is up."""
        with self._lock:
            now = self._clock()
            for operation in list(self._pending.values()):
                if now >= operation.deadline:
                    self._finish(operation)

    def running_on(self, resource_id: str) -> Operation | None:
        with self._lock:
            self.settle()
            key = resource_id.lower()
            return next((o for o in self._pending.values() if o.resource_id.lower() == key), None)

    def clear(self) -> None:
        with self._lock:
            self._by_name.clear()
            self._pending.clear()

    def _finish(self, operation: Operation) -> None:
        if operation.complete is not None:
            operation.complete()
        operation.end_time = utc_now()
        self._pending.pop(operation.name, None)


def accepted_headers(base_url: str, status_id: str, api_version: str, location: bool = True) -> dict[str, str]:
    """Azure-AsyncOperation (and Location, where the spec lists it) naming the status URL;
    Retry-After 0 keeps tests fast."""
    url = f"{base_url}{status_id}?api-version={api_version}"
    headers = {"Azure-AsyncOperation": url, "Retry-After": "0"}
    if location:
        headers["Location"] = url
    return headers
