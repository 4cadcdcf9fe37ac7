"""Which tables each query reads, analysed once per query text for the whole fleet.

compute_plan asks per rule it is about to write; across a fleet the same few hundred queries
come back for every workspace, and the KQL analyser answers one request at a time, so the
answers are shared by every workspace of a run (overlays that change a query get their own)."""
from __future__ import annotations

import threading

from packer.content.model import ContentItem, ContentSet
from packer.plan.tables import default_tables_needed


class SharedTablesNeeded:
    def __init__(self) -> None:
        self._answers: dict[tuple[str, frozenset[str]], frozenset[str]] = {}
        self._lock = threading.Lock()

    def for_content(self, content: ContentSet):
        """The `tables_needed` callable compute_plan takes, for one workspace's content."""
        parsers = content.parsers
        aliases = frozenset(p.function_alias.lower() for p in parsers)

        def tables_needed(item: ContentItem) -> set[str]:
            query = getattr(item, "query", "") or ""
            key = (query, aliases)
            with self._lock:
                known = self._answers.get(key)
            if known is None:
                known = frozenset(default_tables_needed(query, parsers))
                with self._lock:
                    self._answers[key] = known
            return set(known)

        return tables_needed
