"""The emulator's resources, keyed by lower-cased resource id (ARM ids are case-insensitive).

Bodies are plain JSON dicts, replaced whole on every write (never mutated in place), so readers
can serialise them without copying. `put` from tests goes through the same stamping as a PUT
over HTTP: server fields filled and a new etag ("portal-side edits").
"""
from __future__ import annotations

import copy
import threading
from typing import Callable, Iterator

Stamp = Callable[[str, dict, "dict | None"], dict]


class ResourceStore:
    def __init__(self, stamp: Stamp | None = None):
        self._items: dict[str, dict] = {}
        self._lock = threading.RLock()
        self._stamp = stamp

    # Test- and user-facing API: copies in, copies out.
    def get(self, resource_id: str) -> dict | None:
        body = self._items.get(resource_id.lower())
        return copy.deepcopy(body) if body is not None else None

    def put(self, resource_id: str, body: dict) -> dict:
        """Store `body` as if written through the API (outside the HTTP surface): server fields, new etag."""
        with self._lock:
            existing = self._items.get(resource_id.lower())
            stored = self._stamp(resource_id, copy.deepcopy(body), existing) if self._stamp else copy.deepcopy(body)
            self._items[resource_id.lower()] = stored
            return copy.deepcopy(stored)

    def delete(self, resource_id: str) -> bool:
        with self._lock:
            return self._items.pop(resource_id.lower(), None) is not None

    def list(self, prefix: str = "") -> list[dict]:
        """Every resource whose id starts with prefix (case-insensitive), in creation order."""
        return [copy.deepcopy(b) for b in self.iter_under(prefix, children_only=False)]

    def ids(self) -> list[str]:
        return [body.get("id", key) for key, body in list(self._items.items())]

    def __len__(self) -> int:
        return len(self._items)

    # Internal API used by the request handlers: no copies, callers never mutate.
    def read(self, resource_id: str) -> dict | None:
        return self._items.get(resource_id.lower())

    def write(self, resource_id: str, body: dict) -> None:
        self._items[resource_id.lower()] = body

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def iter_under(self, prefix: str, children_only: bool = True) -> Iterator[dict]:
        base = prefix.lower().rstrip("/") + "/" if prefix else ""
        for key, body in list(self._items.items()):
            if key.startswith(base) and (not children_only or "/" not in key[len(base):]):
                yield body

    def dump(self) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(b) for b in self._items.values()]

    def load(self, bodies: list[dict]) -> None:
        with self._lock:
            self._items = {b["id"].lower(): b for b in bodies if isinstance(b, dict) and b.get("id")}

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
