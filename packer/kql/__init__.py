"""Offline KQL analysis with Microsoft's Kusto.Language (npm `@kusto/language-service-next`).

Entry points:
- `check_content(items, schema_dirs=None) -> (problems, status)`: analyse the queries of
  analytic rules, hunting queries, parsers and workbook KqlItems; problems point at
  file:line:column inside the query text. `check.analyse_content` is the same pass, also
  returning per query what it reads (packer.content.model.QueryFacts: tables, columns, the
  parsers it calls, output columns); `packer.validate` keeps those on the ContentSet, so plan,
  rollout and doctor read them instead of analysing the query again.
- `tables_used(query, parsers=(), schema_dirs=()) -> set[str]`: the workspace tables a query
  reads, through calls into the given parsers (and `workspace('x').T`) too. Tables missing from
  the schema folders are included (they are still tables the query needs).
- `columns_used(query, parsers=(), schema_dirs=()) -> dict[table, set[column]]`: the columns of
  known tables the query references by name. Use both to mark an item `blocked` in a
  workspace whose `workspaces/{ws}/tables` lacks a table or column.
- `KqlAnalyser` for many queries in one warm worker; `KqlUnavailable` when Node.js 20+ or the
  npm package is missing (its message says to run `npm ci` in the project root): the only
  reason analysis is skipped, and an error with --require-kql / $SENTINEL_PACKER_REQUIRE_KQL;
  `KqlFailed` when the analysis itself broke (worker crash, hang): always an error.

Answers are kept in the analysis cache (`packer.kql.cache`): in memory for the process and in
the repository's `.sentinel-packer/cache/` between runs, keyed by the query text, the tables and
functions it names, and the Kusto.Language and tool versions. `prestart_for` starts loading a
worker while validate reads YAML when that cache holds nothing yet. Workers are told only the
tables the queries they analyse name (a query's answer does not depend on the others).

Table schemas: packer/kql/schemas/*.json (Microsoft's table reference), plus folders given in
`schema_dirs` or $SENTINEL_PACKER_KQL_SCHEMAS, in our shape or Microsoft's CustomTables shape.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from packer.content.model import Parser
from packer.kql.analyser import (
    INSTALL_HINT, KqlAnalyser, KqlDiagnostic, KqlFailed, KqlUnavailable, QueryReferences, shared_analyser,
)
from packer.kql.cache import cache_root
from packer.kql.check import KqlPass, analyse_content, check_content, queries_of
from packer.kql.functions import FunctionSpec, parser_function
from packer.kql.schema import TableSchema, load_tables

__all__ = [
    "INSTALL_HINT", "FunctionSpec", "KqlPass", "analyse_content", "KqlAnalyser", "KqlDiagnostic", "KqlFailed", "KqlUnavailable", "QueryReferences",
    "TableSchema", "check_content", "columns_used", "load_tables", "prestart_for", "queries_of", "references", "tables_used",
]


def prestart_for(anchor: Path | None) -> None:
    """Start loading a Kusto.Language worker in the background unless the analysis cache of
    `anchor`'s repository holds answers for this Kusto.Language and tool (then most queries will
    not need one): validate calls this before reading YAML, so the two overlap."""
    from packer.kql.analyser import environment, prestart
    from packer.kql.cache import AnalysisCache

    folder = cache_root(anchor)
    if folder is None or AnalysisCache(folder / "kql", environment()).is_cold:
        prestart()


def _analyser(parsers: Iterable[Parser | FunctionSpec], schema_dirs: Iterable[Path]) -> KqlAnalyser:
    functions = [p if isinstance(p, FunctionSpec) else parser_function(p) for p in parsers]
    return shared_analyser(functions, schema_dirs, cache_root())


def references(query: str, parsers: Iterable[Parser | FunctionSpec] = (), schema_dirs: Iterable[Path] = ()) -> QueryReferences:
    """Tables (known and unknown) and known-table columns the query reads. Raises KqlUnavailable."""
    return _analyser(parsers, schema_dirs).references(query)


def tables_used(query: str, parsers: Iterable[Parser | FunctionSpec] = (), schema_dirs: Iterable[Path] = ()) -> set[str]:
    """Names of the workspace tables `query` reads, following calls into `parsers`.

    Tables the schema folders do not know are included too. Raises KqlUnavailable when
    Node.js or the npm package is missing.
    """
    refs = references(query, parsers, schema_dirs)
    return set(refs.tables | refs.unknown_tables)


def columns_used(query: str, parsers: Iterable[Parser | FunctionSpec] = (), schema_dirs: Iterable[Path] = ()) -> dict[str, set[str]]:
    """Columns of known tables that `query` references by name, by table. Raises KqlUnavailable."""
    refs = references(query, parsers, schema_dirs)
    return {table: set(columns) for table, columns in refs.columns.items()}
