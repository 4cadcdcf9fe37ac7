"""The emulator's resources, keyed by lower-cased resource id (ARM ids are case-insensitive).

Bodies are plain JSON dicts, replaced whole on every write (never mutated in place), so readers
can serialise them without copying. `put` from tests goes through the same stamping as a PUT
over HTTP: server fields filled and a new etag ("portal-side edits").

Besides the flat id -> body map, resources are indexed by their collection (the id without its
last segment), so a GET, PUT or DELETE costs the same with 20 or 20,000 resources stored, and a
list reads only its own collection. Every change happens under `lock`; readers take a snapshot
of one collection under it and iterate that.
"""
from __future__ import annotations

import copy
import itertools
import threading
from typing import Callable, Iterator

Stamp = Callable[[str, dict, "dict | None"], dict]


def _collection_of(key: str) -> str:
    return key.rpartition("/")[0]


class ResourceStore:
    def __init__(self, stamp: Stamp | None = None):
        self._items: dict[str, dict] = {}                    # key -> body, in creation order
        self._collections: dict[str, dict[str, dict]] = {}   # collection key -> {key -> body}, creation order
        self._created: dict[str, int] = {}                   # key -> creation number (orders a multi-collection list)
        self._counter = itertools.count()
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
            self.write(resource_id, stored)
            return copy.deepcopy(stored)

    def delete(self, resource_id: str) -> bool:
        key = resource_id.lower()
        with self._lock:
            if self._items.pop(key, None) is None:
                return False
            del self._created[key]
            collection_key = _collection_of(key)
            collection = self._collections[collection_key]
            del collection[key]
            if not collection:  # keeps prefix lists scanning live collections only
                del self._collections[collection_key]
            return True

    def list(self, prefix: str = "") -> list[dict]:
        """Every resource whose id starts with prefix (case-insensitive), in creation order."""
        return [copy.deepcopy(b) for b in self.iter_under(prefix, children_only=False)]

    def ids(self) -> list[str]:
        with self._lock:
            return [body.get("id", key) for key, body in self._items.items()]

    def __len__(self) -> int:
        return len(self._items)

    # Internal API used by the request handlers: no copies, callers never mutate.
    def read(self, resource_id: str) -> dict | None:
        return self._items.get(resource_id.lower())

    def write(self, resource_id: str, body: dict) -> None:
        key = resource_id.lower()
        with self._lock:
            if key not in self._items:
                self._created[key] = next(self._counter)
            self._items[key] = body
            self._collections.setdefault(_collection_of(key), {})[key] = body

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def iter_under(self, prefix: str, children_only: bool = True) -> Iterator[dict]:
        """The resources in collection `prefix` (children_only), or all whose id starts with `prefix/`.
        A snapshot: writes after the call do not change what it yields."""
        base = prefix.lower().rstrip("/")
        with self._lock:
            if children_only:
                return iter(list(self._collections.get(base, {}).values()))
            return iter(self._under_locked(base + "/" if base else ""))

    def _under_locked(self, base: str) -> list[dict]:
        keys = [key for collection_key, collection in self._collections.items()
                if (collection_key + "/").startswith(base) for key in collection]
        keys.sort(key=self._created.__getitem__)
        return [self._items[key] for key in keys]

    def dump(self) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(b) for b in self._items.values()]

    def load(self, bodies: list[dict]) -> None:
        with self._lock:
            self.clear()
            for body in bodies:
                if isinstance(body, dict) and body.get("id"):
                    self.write(body["id"], body)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._collections.clear()
            self._created.clear()
