"""Which tables a rule's query reads, for the per-workspace table probe (blocked items).

`default_tables_needed` uses `packer.kql.tables_used(query, parsers)` (Kusto.Language's binder,
which also follows calls into the content's parsers) when Node.js and the npm package are
installed, else a small tokenizer:
identifiers in source positions (a statement's first word, `union`, `join`, `lookup`
operands), minus let-bound names, the content's parser functions and KQL's own sources
(datatable, print, range...). The tokenizer errs towards fewer tables: it never blocks a rule
for a name it is unsure of.
"""
from __future__ import annotations

import re
import threading
from packer.content.model import Parser

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


def default_tables_needed(query: str, parsers: tuple[Parser, ...] = ()) -> set[str]:
    functions = frozenset(p.function_alias for p in parsers) | frozenset(p.function_name for p in parsers)
    if _kql_available():
        from packer.kql import tables_used

        try:
            with _KQL_LOCK:  # one worker process answers in order: never two requests in flight
                return set(tables_used(query, parsers=parsers)) - set(functions)
        except Exception:  # the analyser is optional here: fall back, never fail a plan
            _KQL_STATE["available"] = False
    return tokenized_tables(query, functions)


_KQL_STATE: dict[str, bool] = {}
_KQL_LOCK = threading.Lock()


def _kql_available() -> bool:
    if "available" not in _KQL_STATE:
        try:
            from packer.kql import tables_used  # noqa: F401
            from packer.kql.analyser import find_node

            find_node()
            _KQL_STATE["available"] = True
        except Exception:
            _KQL_STATE["available"] = False
    return _KQL_STATE["available"]


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
