"""Which tables (and columns) a rule's query reads, for the per-workspace probe (blocked items).

`query_needs` reads the answer validation's KQL pass recorded (ContentSet.facts); only a query
it did not see (changed by an overlay, or validated without KQL) is analysed here:

`default_query_needs` uses `packer.kql.references(query, parsers)` (Kusto.Language's binder,
which also follows calls into the content's parsers) when Node.js and the npm package are
installed, else a small tokenizer:
identifiers in source positions (a statement's first word, `union`, `join`, `lookup`
operands), minus let-bound names, the content's parser functions and KQL's own sources
(datatable, print, range...). The tokenizer errs towards fewer tables: it never blocks a rule
for a name it is unsure of.

Columns (`QueryNeeds.columns`) come from Kusto.Language only (`packer.kql.references`); without
Node.js no column is checked. They are the columns of a schema-known table that the query (or a
parser it calls) names and that the binder traces back to that table: columns the query makes
itself (extend, project X = ..., summarize aliases, project-rename) and columns a parser
outputs are new symbols and never reported. Known limit: after `union` (and on the key of a
join) the binder merges same-named columns of several tables into new ones, so those
references are not attributed to any table and not checked (fewer checks, never a false block).
Tables missing from the schema folders have no known columns: only their existence is checked.
`WorkspaceTables` holds what `workspaces/{ws}/tables` lists and says why a rule is blocked.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

from packer.content.model import ContentSet, Parser
from packer.kql.schema import STANDARD_COLUMNS

_COMMENT = re.compile(r"//[^\n]*")
_STRING = re.compile(r"@?'(?:[^'\\\n]|\\.)*'|@?\"(?:[^\"\\\n]|\\.)*\"")
_LET = re.compile(r"\blet\s+([A-Za-z_]\w*)\s*=", re.I)
_IDENT = r"[A-Za-z_][\w]*"
_OPTION = r"(?:\s+(?:kind|withsource|isfuzzy|hint\.\w+)\s*=\s*\w+)*"
_JOIN = re.compile(rf"\b(?:join|lookup){_OPTION}\s*\(?\s*({_IDENT})", re.I)
_UNION = re.compile(rf"\bunion{_OPTION}\s+([^|;)]*)", re.I)
_NOT_TABLES = frozenset({
    "let", "datatable", "print", "range", "externaldata", "materialize", "toscalar", "view", "union",
    "evaluate", "set", "declare", "alias", "pattern", "restrict", "search", "find", "true", "false",
    "workspace", "app", "cluster", "database", "table", "_getwatchlist",
})


# blocked_reason's wording, and its recognizer for readers that only have the message (a rollout's skipped items)
MISSING_TABLES = "table(s) missing in this workspace"
LACKS_COLUMN = " lacks column"


def is_blocked_reason(message: str) -> bool:
    """Whether `message` is a WorkspaceTables.blocked_reason (a missing table or column)."""
    return message.startswith(MISSING_TABLES) or LACKS_COLUMN in message


@dataclass(frozen=True)
class QueryNeeds:
    """What a query needs from a workspace: tables, and by table the columns it reads by name."""

    tables: frozenset[str]
    columns: Mapping[str, frozenset[str]] = field(default_factory=dict)


def default_query_needs(query: str, parsers: tuple[Parser, ...] = (), schema_dirs: tuple[Path, ...] = (),
                        require_kql: bool | None = None) -> QueryNeeds:
    """Kusto.Language's answer when installed (one request), else the tokenizer's (no columns).
    `schema_dirs`: the user's table schema folders (`content_schema_dirs`), as validate used them.
    Only an absent Node.js or package falls back (and raises with `require_kql` or
    $SENTINEL_PACKER_REQUIRE_KQL); a broken analysis raises KqlFailed."""
    functions = _function_names(parsers)
    if _kql_available(require_kql):
        from packer.kql import references

        # through the analysis cache: threads of a fleet run asking for the same query wait for
        # one analysis (packer.kql.analyser), and a query analysed in an earlier run is read back
        refs = references(query, parsers=parsers, schema_dirs=schema_dirs)
        tables = frozenset(refs.tables | refs.unknown_tables) - functions
        return QueryNeeds(tables, {t: frozenset(c) for t, c in refs.columns.items() if t in tables})
    return QueryNeeds(frozenset(tokenized_tables(query, functions)))


def query_needs(content: ContentSet, query: str, schema_dirs: tuple[Path, ...] = ()) -> QueryNeeds:
    """What validation's KQL pass recorded for `query` with this content's parsers, read as data;
    a query it did not see (changed by an overlay, or validated without KQL) is analysed now."""
    facts = content.facts(query)
    if facts is None:
        return default_query_needs(query, content.parsers, schema_dirs)
    functions = _function_names(content.parsers)
    tables = facts.tables - functions
    return QueryNeeds(tables, {t: c for t, c in facts.columns.items() if t in tables})


def needs_reader(content: ContentSet, items: Iterable | None = None) -> Callable[[str], QueryNeeds]:
    """`query_needs` for queries of `content`, with the schema folders of `items` (default all of
    its items) found once: validation's answer, else the analysis cache's (once per query)."""
    dirs = content_schema_dirs(content.items if items is None else items)
    return lambda query: query_needs(content, query, dirs)


def _function_names(parsers: Iterable[Parser]) -> frozenset[str]:
    """The names a query calls these parsers by (alias and function name): not tables."""
    return frozenset(n for p in parsers for n in (p.function_alias, p.function_name))


def content_schema_dirs(items: Iterable) -> tuple[Path, ...]:
    """The table schema folders validate's KQL check used for these items ($SENTINEL_PACKER_KQL_SCHEMAS,
    <content>/kql-schemas): the same folders mean the same warm worker, and the user's tables' columns."""
    from packer.kql.check import user_schema_dirs

    return tuple(user_schema_dirs(items))


_KQL_STATE: dict[str, bool | str] = {}


def _kql_available(require_kql: bool | None = None) -> bool:
    from packer.kql.analyser import KqlUnavailable, find_node, kql_required

    if "available" not in _KQL_STATE:
        try:
            find_node()
            _KQL_STATE["available"] = True
        except KqlUnavailable as exc:
            _KQL_STATE["available"] = False
            _KQL_STATE["reason"] = exc.reason
    if not _KQL_STATE["available"] and kql_required(require_kql):
        raise KqlUnavailable(f"{_KQL_STATE['reason']} (KQL analysis is required: --require-kql or "
                             "SENTINEL_PACKER_REQUIRE_KQL)")
    return bool(_KQL_STATE["available"])


def tokenized_tables(query: str, functions: frozenset[str] = frozenset()) -> set[str]:
    text = _STRING.sub("''", _COMMENT.sub("", query))
    bound = {m.group(1).lower() for m in _LET.finditer(text)}
    excluded = bound | {f.lower() for f in functions} | _NOT_TABLES
    candidates: list[str] = []
    for statement in text.split(";"):
        statement = _LET.sub("", statement.strip(), count=1).strip()
        first = re.match(rf"\(?\s*({_IDENT})\s*(\||$)", statement)
        if first:
            candidates.append(first.group(1))
    candidates += [m.group(1) for m in _JOIN.finditer(text)]
    for match in _UNION.finditer(text):
        candidates += [part.strip() for part in match.group(1).split(",") if re.fullmatch(_IDENT, part.strip())]
    return {name for name in candidates if name.lower() not in excluded and not name.startswith("_")}


def missing_tables(needed: set[str], available: frozenset[str]) -> list[str]:
    return sorted(t for t in needed if t.lower() not in available)


# Every Log Analytics table has these; the Tables API does not list them all in a schema.
ALWAYS_PRESENT_COLUMNS = frozenset(name.lower() for name in STANDARD_COLUMNS)


@dataclass(frozen=True)
class WorkspaceTables:
    """A workspace's tables as `workspaces/{ws}/tables` lists them: lower-cased table name ->
    lower-cased column names (schema.columns + schema.standardColumns), or None when the
    table's schema lists no column (its columns are then not checked). Names compare
    case-insensitively: a rule is never blocked for a name that differs only in case."""

    columns: Mapping[str, frozenset[str] | None]

    @classmethod
    def from_bodies(cls, bodies: Iterable[dict]) -> "WorkspaceTables":
        return cls({str(b["name"]).lower(): _schema_columns(b) for b in bodies if b.get("name")})

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.columns)

    def missing_columns(self, needed: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
        """Table (as the query spells it) -> columns it reads that this workspace's table lacks.
        Tables the workspace lacks altogether are `missing_tables`' business, not listed here."""
        out = {}
        for table, columns in needed.items():
            have = self.columns.get(table.lower())
            if have is None:
                continue
            lacking = sorted(c for c in columns if c.lower() not in have and c.lower() not in ALWAYS_PRESENT_COLUMNS)
            if lacking:
                out[table] = lacking
        return out

    def blocked_reason(self, needs: QueryNeeds) -> str | None:
        """Why a query cannot run here ("DeviceNetworkEvents lacks column RemoteUrl"), or None."""
        parts = []
        missing = missing_tables(set(needs.tables), self.names)
        if missing:
            parts.append(f"{MISSING_TABLES}: {', '.join(missing)}")
        parts += self.column_problems(needs.columns)
        return "; ".join(parts) or None

    def column_problems(self, needed: Mapping[str, Iterable[str]]) -> list[str]:
        """One "<table> lacks column(s) <names>" per table whose columns fall short."""
        return [f"{table}{LACKS_COLUMN}{'s' if len(columns) > 1 else ''} {', '.join(columns)}"
                for table, columns in sorted(self.missing_columns(needed).items())]


def _schema_columns(body: dict) -> frozenset[str] | None:
    schema = (body.get("properties") or {}).get("schema") or {}
    listed = [*(schema.get("columns") or []), *(schema.get("standardColumns") or [])]
    names = frozenset(str(c.get("name", "")).lower() for c in listed if isinstance(c, dict) and c.get("name"))
    return names or None
