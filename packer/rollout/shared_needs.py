"""Which tables (and columns) each query reads, for the whole fleet.

Queries validation analysed are read from its facts (packer.content.model.QueryFacts). What is
shared here is the analysis of the queries it did not see: those an overlay changed.

compute_plan asks per rule it is about to write; across a fleet the same few hundred queries
come back for every workspace, and the KQL analyser answers one request at a time, so the
answers are shared by every workspace of a run (overlays that change a query get their own).
One analysis answers both questions: `for_content` (tables) and `columns_for_content` read the
same cached answer."""
from __future__ import annotations

import threading
from concurrent.futures import Future

from packer.content.model import ContentItem, ContentSet
from packer.plan.query_needs import QueryNeeds, content_schema_dirs, default_query_needs, query_needs


class SharedTablesNeeded:
    def __init__(self) -> None:
        self._answers: dict[tuple, Future[QueryNeeds]] = {}
        self._lock = threading.Lock()

    def for_content(self, content: ContentSet):
        """The `tables_needed` callable compute_plan takes, for one workspace's content."""
        needs = self.needs_for(content)
        return lambda item: set(needs(item).tables)

    def columns_for_content(self, content: ContentSet):
        """The `columns_needed` callable compute_plan takes (table -> columns), for one workspace's content."""
        needs = self.needs_for(content)
        return lambda item: {table: set(columns) for table, columns in needs(item).columns.items()}

    def needs_for(self, content: ContentSet):
        """item -> QueryNeeds (tables and columns), for one workspace's content."""
        parsers = content.parsers
        # the parsers' text too: an overlay may change a parser's query in one workspace only
        functions = frozenset((p.function_alias.lower(), p.function_name.lower(), p.query) for p in parsers)
        dirs = content_schema_dirs(content.packaged)

        def needs(item: ContentItem) -> QueryNeeds:
            query = getattr(item, "query", "") or ""
            if content.facts(query) is not None:  # validation analysed it: read its answer as data
                return query_needs(content, query, dirs)
            key = (query, functions, dirs)
            # parallel workspaces reach the same rules at the same time: the first asks, the rest
            # wait for its answer instead of queueing the same query on the one worker again
            with self._lock:
                answer = self._answers.get(key)
                asking = answer is None
                if asking:
                    answer = self._answers[key] = Future()
            if asking:
                try:
                    answer.set_result(default_query_needs(query, parsers, dirs))
                except BaseException as exc:
                    answer.set_exception(exc)
            return answer.result()

        return needs
