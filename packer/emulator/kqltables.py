"""Which tables a KQL query reads, found well enough to imitate Sentinel's "table does not exist" check.

A small tokenizer, not a parser. A table reference is an identifier where a tabular source is
expected: at the start of a statement or of a `let x =` value, after `union` (its comma-separated
operands), after `join`/`lookup` (and their kind=/hint. options), and first inside a parenthesised
operand of those or of materialize()/toscalar(). Not seen: tables inside function bodies stored in
the workspace, `table("name")` with a non-literal argument, `workspace("x").T` cross-workspace
references (skipped), and wildcards (`union Device*`, skipped). `union isfuzzy=true` operands are
optional: only when none of them exists is it an error, as in KQL.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"""
    (?P<ws>\s+|//[^\n]*)
  | (?P<str>@?'(?:[^'\\\n]|\\.)*'|@?"(?:[^"\\\n]|\\.)*"|```.*?```)
  | (?P<ident>[A-Za-z_$][A-Za-z0-9_$]*(?:\*[A-Za-z0-9_$*]*)?|\*)
  | (?P<num>\d[\w.]*)
  | (?P<punct>[|;,()\[\]{}=:.!<>+\-/%~])
""", re.X | re.S)

_SOURCE_WRAPPERS = {"materialize", "toscalar", "view"}
_NOT_TABLES = {"let", "set", "declare", "alias", "pattern", "restrict", "print", "range", "datatable", "union",
               "find", "search", "evaluate", "externaldata", "external_data", "true", "false", "dynamic",
               "database", "cluster", "workspace", "app", "table", "materialized_view"}


@dataclass(frozen=True)
class TableUse:
    name: str
    fuzzy_group: int | None = None  # operands of one `union isfuzzy=true` share a group


def _tokens(query: str) -> list[tuple[str, str]]:
    out = []
    for match in _TOKEN.finditer(query):
        kind = match.lastgroup
        if kind != "ws":
            out.append((kind, match.group()))
    return out


def _matching(tokens: list[tuple[str, str]], start: int) -> int:
    """Index of the bracket closing the one at start."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    opener, depth = tokens[start][1], 0
    for i in range(start, len(tokens)):
        if tokens[i][1] == opener:
            depth += 1
        elif tokens[i][1] == pairs[opener]:
            depth -= 1
            if depth == 0:
                return i
    return len(tokens) - 1


class _Scanner:
    def __init__(self, query: str):
        self.t = _tokens(query)
        self.uses: list[TableUse] = []
        self.let_names: set[str] = set()
        self.groups = 0

    def text(self, i: int) -> str:
        return self.t[i][1] if i < len(self.t) else ""

    def kind(self, i: int) -> str:
        return self.t[i][0] if i < len(self.t) else ""

    def skip_options(self, i: int) -> int:
        """Skip `name=value` options (kind=inner, isfuzzy=true, hint.strategy=shuffle, withsource=X)."""
        while self.kind(i) == "ident":
            j = i + 1
            while self.text(j) == "." and self.kind(j + 1) == "ident":
                j += 2
            if self.text(j) != "=":
                return i
            i = j + 2
        return i

    def source(self, i: int, group: int | None = None) -> int:
        """Read one tabular source starting at i; returns the index after its first token(s)."""
        tok, kind = self.text(i), self.kind(i)
        if tok == "(":
            return self.source(i + 1, group)
        if kind == "str" and group is None:
            return i + 1
        if kind != "ident":
            return i
        nxt = self.text(i + 1)
        if tok.lower() in _SOURCE_WRAPPERS and nxt == "(":
            end = _matching(self.t, i + 1)
            if self.text(end + 1) == "{":  # view () { body }
                return self.source(end + 2, group)
            return self.source(i + 2, group)
        if tok.lower() == "table" and nxt == "(" and self.kind(i + 2) == "str":
            self.uses.append(TableUse(self.text(i + 2).strip("@'\""), group))
            return i + 4
        if tok.lower() == "union":
            return self.union(i + 1)
        if nxt in ("(", ".", ":") or tok.lower() in _NOT_TABLES or "*" in tok:
            return i + 1
        self.uses.append(TableUse(tok, group))
        return i + 1

    def union(self, i: int) -> int:
        start = i
        i = self.skip_options(i)
        fuzzy = any(self.text(j).lower() == "isfuzzy" and self.text(j + 2).lower() == "true" for j in range(start, i))
        group = None
        if fuzzy:
            self.groups += 1
            group = self.groups
        while True:
            if self.text(i) == "(":
                self.source(i + 1, group)
                i = _matching(self.t, i) + 1
            else:
                i = self.source(i, group)
            if self.text(i) != ",":
                return i
            i += 1

    def statement_start(self, i: int) -> int:
        if self.text(i).lower() == "let" and self.kind(i + 1) == "ident" and self.text(i + 2) == "=":
            self.let_names.add(self.text(i + 1))
            j = i + 3
            if self.text(j) == "(":
                end = _matching(self.t, j)
                if self.text(end + 1) == "{":  # a function: (params) { statements }
                    self.let_names.update(self.text(k) for k in range(j + 1, end)
                                          if self.kind(k) == "ident" and self.text(k + 1) == ":")
                    return self.statement_start(end + 2)
            return self.source(j)
        if self.text(i).lower() in ("set", "declare", "alias", "pattern", "restrict"):
            return i + 1
        return self.source(i)

    def scan(self) -> list[TableUse]:
        i, at_start = 0, True
        while i < len(self.t):
            tok = self.text(i)
            if at_start:
                i, at_start = self.statement_start(i), False
                continue
            if tok == ";" or tok == "{":
                at_start = True
            elif tok == "|" and self.text(i + 1).lower() in ("join", "lookup"):
                i = self.source(self.skip_options(i + 2))
                continue
            elif tok == "|" and self.text(i + 1).lower() == "union":
                i = self.union(i + 2)
                continue
            elif tok.lower() in ("toscalar", "materialize") and self.text(i + 1) == "(":
                i = self.source(i + 2)
                continue
            i += 1
        return [u for u in self.uses if u.name not in self.let_names]


def table_references(query: str) -> list[TableUse]:
    return _Scanner(query).scan()


_BUILTIN_FUNCTION = re.compile(r"^_?(im|asim)[A-Z_]", re.I)


def missing_tables(query: str, tables: frozenset[str], functions: frozenset[str] = frozenset()) -> list[str]:
    """Referenced names that are neither a table nor a workspace function (KQL names are case-sensitive)."""
    known = tables | functions

    def exists(name: str) -> bool:
        return name in known or bool(_BUILTIN_FUNCTION.match(name))

    missing: list[str] = []
    fuzzy: dict[int, list[str]] = {}
    fuzzy_found: set[int] = set()
    for use in table_references(query):
        if use.fuzzy_group is not None:
            fuzzy.setdefault(use.fuzzy_group, []).append(use.name)
            if exists(use.name):
                fuzzy_found.add(use.fuzzy_group)
        elif not exists(use.name) and use.name not in missing:
            missing.append(use.name)
    for group, names in fuzzy.items():
        if group not in fuzzy_found:
            missing.extend(n for n in names if n not in missing)
    return missing
