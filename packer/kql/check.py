"""Analyse the queries of content items and report problems at their place in the YAML/JSON."""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

from packer.content.model import AnalyticRule, HuntingQuery, Parser, QueryFacts, Workbook, facts_key
from packer.content.yamlsource import Position
from packer.errors import ContentError
from packer.kql.analyser import (
    INSTALL_HINT, REQUIRE_ENV, KqlDiagnostic, KqlUnavailable, QueryAnalysis, analyse_fully_in_parallel, kql_required,
    shared_analyser,
)
from packer.kql.cache import cache_root
from packer.kql.functions import parser_function
from packer.kql.mapped import azure_message, column_uses, missing_columns
from packer.kql.positions import ScalarSource, json_string, yaml_scalar
from packer.kql.suppress import Suppression, comment_suppressions, project_suppressions
from packer.problems import ERROR, WARNING, Problem

SCHEMA_DIRS_ENV = "SENTINEL_PACKER_KQL_SCHEMAS"
WORKERS_ENV = "SENTINEL_PACKER_KQL_WORKERS"
QUERIES_PER_EXTRA_WORKER = 100  # below this an extra worker's start-up (~1 s) costs more than it saves
MAX_WORKERS = 4
UNKNOWN_TABLE = "KS204"
# Workbook parameters ({TimeRange}, {Workspace:id}) are substituted before the query runs.
_WORKBOOK_PARAMETER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z]+)?\}")
_LOG_ANALYTICS_QUERY = 0  # workbook KqlItem queryType for Log Analytics


@dataclass(frozen=True)
class QueryText:
    """One query of an item and where its text stands."""

    path: Path
    field: str  # the field name as reported
    query: str
    locate: Callable[[], ScalarSource | None]
    fallback: Position = Position(1, 1)  # the field itself, when the text cannot be located
    prefix: str = ""  # analysed text is prefix + query + suffix (a parser's parameters)
    suffix: str = ""

    @property
    def analysed_text(self) -> str:
        return self.prefix + self.query + self.suffix

    def local(self, diagnostic: KqlDiagnostic) -> KqlDiagnostic:
        """The diagnostic with its offset inside `query` (not the analysed text)."""
        start = min(max(diagnostic.start - len(self.prefix), 0), len(self.query))
        return replace(diagnostic, start=start)


def queries_of(item) -> Iterator[QueryText]:
    """The KQL queries an item holds: rules and hunting queries, parsers, workbook KqlItems."""
    if isinstance(item, (AnalyticRule, HuntingQuery)):
        yield _yaml_query(item, "query")
    elif isinstance(item, Parser):
        query = _yaml_query(item, "FunctionQuery")
        params = parser_function(item).parameters
        if params != "()":  # the body sees its parameters as variables inside a function
            query = replace(query, prefix=f"let __parser_body = {params} {{\n", suffix="\n};\nprint 1")
        yield query
    elif isinstance(item, Workbook):
        yield from _workbook_queries(item)


def _yaml_query(item, key: str) -> QueryText:
    path, query = item.source.path, item.query
    return QueryText(path, key, query, lambda: yaml_scalar(path, (key,), query), item.source.position_of(key))


def _workbook_kql(workbook: Workbook) -> list[str]:
    try:
        return list(_kql_items(json.loads(workbook.serialized_data)))
    except ValueError:
        return []


def with_workbook_parameters(items: Iterable) -> int:
    """How many workbook queries are left out: they hold {parameters}, KQL only once filled in."""
    return sum(1 for item in items if isinstance(item, Workbook)
               for query in _workbook_kql(item) if _WORKBOOK_PARAMETER.search(query))


def _workbook_queries(workbook: Workbook) -> Iterator[QueryText]:
    seen: dict[str, int] = {}
    for query in _workbook_kql(workbook):
        occurrence = seen.get(query, 0)
        seen[query] = occurrence + 1
        if _WORKBOOK_PARAMETER.search(query):
            continue
        path = workbook.template_path
        yield QueryText(path, "query", query, lambda q=query, n=occurrence: json_string(path, q, n))


def _kql_items(node) -> Iterator[str]:
    if isinstance(node, dict):
        content = node.get("content")
        if node.get("type") == 3 and isinstance(content, dict) and isinstance(content.get("query"), str):
            if content.get("queryType", _LOG_ANALYTICS_QUERY) == _LOG_ANALYTICS_QUERY:
                yield content["query"]
        for child in node.values():
            yield from _kql_items(child)
    elif isinstance(node, list):
        for child in node:
            yield from _kql_items(child)


CONTENT_SCHEMA_DIR = "kql-schemas"  # <content root>/kql-schemas/*.json, beside analytic-rules/


def user_schema_dirs(items: Iterable = ()) -> list[Path]:
    """Extra table schema folders: $SENTINEL_PACKER_KQL_SCHEMAS (os.pathsep-separated), then a
    `kql-schemas` folder in the content root of the items (content/<kind folder>/<file>)."""
    value = os.environ.get(SCHEMA_DIRS_ENV, "")
    dirs = [Path(p) for p in value.split(os.pathsep) if p]
    for item in items:
        candidate = item.source.path.parent.parent / CONTENT_SCHEMA_DIR
        if candidate not in dirs and candidate.is_dir():
            dirs.append(candidate)
    return dirs


def worker_count(queries: int) -> int:
    """Workers for a run: $SENTINEL_PACKER_KQL_WORKERS, else one per 100 queries, up to the idle
    CPUs (max 4). On a busy machine extra workers only compete with each other (measured)."""
    configured = os.environ.get(WORKERS_ENV, "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    idle = (os.cpu_count() or 1) - (os.getloadavg()[0] if hasattr(os, "getloadavg") else 0)
    return max(1, min(int(idle), MAX_WORKERS, queries // QUERIES_PER_EXTRA_WORKER))


@dataclass(frozen=True)
class KqlPass:
    """The KQL pass over a content set: problems, a status line for people, and per query what
    it reads (facts_key(query, parsers) -> QueryFacts) for plan, rollout and doctor."""

    problems: list[Problem]
    status: str
    facts: dict[tuple, QueryFacts]
    analysed: int = 0  # queries the worker analysed in this pass; the others came from the cache


def check_content(items: Iterable, schema_dirs: Iterable[Path] | None = None,
                  workers: int | None = None, require: bool | None = None) -> tuple[list[Problem], str]:
    """`analyse_content`'s problems and status."""
    result = analyse_content(items, schema_dirs, workers, require)
    return result.problems, result.status


def analyse_content(items: Iterable, schema_dirs: Iterable[Path] | None = None,
                    workers: int | None = None, require: bool | None = None,
                    cache_dir: Path | None | bool = True) -> KqlPass:
    """Analyse every query of `items` with Kusto.Language, once each: problems, status and facts.

    Parsers among the items are declared as functions first, so queries calling them bind.
    Errors (first per query, the rest counted) fail validation; unknown tables and Kusto
    warnings are warnings. Without Node.js or the npm package: no problems and a status
    "skipped: <how to install>", which validate prints, unless `require` (--require-kql, default
    $SENTINEL_PACKER_REQUIRE_KQL) makes that KqlUnavailable. A broken analysis (worker crash,
    timeout) raises KqlFailed: never a skip. Large sets run on several workers.
    Answers are read from and kept in the analysis cache (packer.kql.cache): `cache_dir` True
    finds the repository's, a path names one, None or False keeps none.
    """
    items = list(items)
    dirs = list(schema_dirs) if schema_dirs is not None else user_schema_dirs(items)
    parsers = tuple(i for i in items if isinstance(i, Parser))
    functions = [parser_function(i) for i in parsers if i.function_alias]
    pairs = [(item, q) for item in items for q in queries_of(item)]
    queries = [q for _, q in pairs]
    if not queries:
        return KqlPass([], "checked 0 queries", {})
    try:
        analyser = shared_analyser(functions, dirs, _cache_dir(cache_dir, items))
    except ContentError as exc:  # a user's table schema file is unusable
        return KqlPass([Problem(exc.path, exc.line, exc.column, exc.field, ERROR, "kql.schema", exc.message)],
                       "failed: a table schema file is unusable", {})
    except KqlUnavailable as exc:
        if kql_required(require):
            raise KqlUnavailable(f"{exc.reason} (KQL analysis is required: --require-kql or {REQUIRE_ENV})") from None
        return KqlPass([], f"skipped: {exc.reason}; {INSTALL_HINT}", {})
    texts = [q.analysed_text for q in queries]
    sent_before = analyser.sent
    results = analyse_fully_in_parallel(analyser, texts, workers or worker_count)
    analysed = analyser.sent - sent_before
    suppressions = _Suppressions(items)
    problems = [p for (item, q), analysis in zip(pairs, results)
                for p in [*problems_of(q, suppressions.kept(q, analysis.diagnostics)),
                          *mapped_column_problems(item, analysis)]]
    errors = sum(1 for p in problems if p.is_error)
    problems += suppressions.problems()
    status = f"checked {len(queries)} quer{'y' if len(queries) == 1 else 'ies'} ({errors} with errors)"
    if analysed < len(queries):
        status += f"; {len(queries) - analysed} answered by the analysis cache"
    if suppressions.used:
        status += f"; {suppressions.used} diagnostic{'s' if suppressions.used > 1 else ''} suppressed"
    left_out = with_workbook_parameters(items)
    if left_out:
        status += f"; {left_out} workbook quer{'y' if left_out == 1 else 'ies'} with {{parameters}} not analysed"
    return KqlPass(problems, status, _facts(queries, results, parsers), analysed)


def _cache_dir(configured: Path | None | bool, items: list) -> Path | None:
    if configured is True:
        return cache_root(items[0].source.path.parent if items else None)
    return configured or None


def _facts(queries: list[QueryText], results: list[QueryAnalysis], parsers: tuple[Parser, ...]) -> dict[tuple, QueryFacts]:
    """Per query analysed as written (not a parser body wrapped in its parameters)."""
    facts = {}
    for query, analysis in zip(queries, results):
        refs = analysis.references
        if refs is None or query.prefix or query.suffix:
            continue
        facts[facts_key(query.query, parsers)] = QueryFacts(
            tables=frozenset(refs.tables | refs.unknown_tables),
            columns={table: frozenset(columns) for table, columns in refs.columns.items()},
            functions=refs.functions, output_columns=refs.output_columns)
    return facts


class _Suppressions:
    """The suppressions of a run (packer.kql.suppress), and which of them matched."""

    def __init__(self, items: list):
        found: list[Suppression] = []
        self._problems: list[Problem] = []
        for item in items:
            found += comment_suppressions(item)
        for root in {item.source.path.parent.parent for item in items}:
            listed, problems = project_suppressions(root, [i for i in items if i.source.path.parent.parent == root])
            found += listed
            self._problems += problems
        self._all = found
        self._by_item: dict[Path, list[Suppression]] = {}
        for suppression in found:
            self._by_item.setdefault(suppression.item_path, []).append(suppression)
        self._matched: set[Suppression] = set()
        self.used = 0

    def kept(self, query: QueryText, diagnostics: list[KqlDiagnostic]) -> list[KqlDiagnostic]:
        mine = [s for s in self._by_item.get(query.path, ()) if s.problem_if_unexplained() is None]
        if not mine:
            return diagnostics
        kept = []
        for diagnostic in diagnostics:
            match = next((s for s in mine if s.code == diagnostic.code.upper()), None)
            if match is None or diagnostic.severity == "Suggestion":
                kept.append(diagnostic)
            else:
                self._matched.add(match)
                self.used += 1
        return kept

    def problems(self) -> list[Problem]:
        problems = list(self._problems)
        for suppression in self._all:
            unexplained = suppression.problem_if_unexplained()
            if unexplained is not None:
                problems.append(unexplained)
            elif suppression not in self._matched:
                problems.append(suppression.unused_problem())
        return problems


def errors_first_to_report(diagnostics: list[KqlDiagnostic]) -> list[KqlDiagnostic]:
    """Errors in report order: syntax errors first (binding after a parse error often reports
    follow-on errors), then the rest, each in text order."""
    return sorted((d for d in diagnostics if d.is_error), key=lambda d: (not d.syntax, d.start))


def problems_of(query: QueryText, diagnostics: list[KqlDiagnostic]) -> list[Problem]:
    """Problems for one query: its first error with a count of the rest, and its warnings."""
    diagnostics = [query.local(d) for d in diagnostics]
    errors = errors_first_to_report(diagnostics)
    warnings = [d for d in diagnostics if d.severity == "Warning"]
    if not errors and not warnings:
        return []
    source = query.locate()
    problems = []
    if errors:
        more = f" (+{len(errors) - 1} more error{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        problems.append(_problem(query, source, errors[0], ERROR, f"{errors[0].code}: {errors[0].message}{more}"))
    for warning in warnings:
        if warning.code == UNKNOWN_TABLE:
            text = f"{warning.code}: {warning.message} Add its schema to a table schema folder to check it."
        else:
            text = f"{warning.code}: {warning.message}"
        problems.append(_problem(query, source, warning, WARNING, text))
    return problems


def _problem(query: QueryText, source: ScalarSource | None, diagnostic: KqlDiagnostic, severity, message: str) -> Problem:
    where = source.position(diagnostic.start) if source is not None else query.fallback
    return Problem(query.path, where.line, where.column, query.field, severity, f"kql.{diagnostic.code}", message)


def rule_mapping_properties(rule: AnalyticRule) -> dict:
    """The rule's entity mappings, custom details and alert details override, spelled as in its
    YAML and the API (so a ColumnUse path is also the YAML path)."""
    override = rule.alert_details_override
    return {
        "entityMappings": [{"fieldMappings": [{"columnName": f.column_name} for f in m.field_mappings]}
                           for m in rule.entity_mappings],
        "customDetails": dict(rule.custom_details),
        "alertDetailsOverride": {} if override is None else {
            "alertDisplayNameFormat": override.display_name_format,
            "alertDescriptionFormat": override.description_format,
            "alertTacticsColumnName": override.tactics_column_name,
            "alertSeverityColumnName": override.severity_column_name,
            "alertDynamicProperties": [{"value": v} for _, v in override.dynamic_properties],
        },
        "sentinelEntitiesMappings": [{"columnName": c} for c in rule.sentinel_entities_mappings],
    }


def mapped_column_problems(item, analysis: QueryAnalysis) -> list[Problem]:
    """Columns a rule maps that its query does not output: Sentinel refuses such a rule (400)."""
    refs = analysis.references
    if not isinstance(item, AnalyticRule) or refs is None or any(d.is_error for d in analysis.diagnostics):
        return []
    missing = missing_columns(column_uses(rule_mapping_properties(item)), refs.output_columns or None,
                              refs.output_open)
    output = ", ".join(refs.output_columns)
    return [Problem(item.source.path, *_line_column(item, use.path), ".".join(map(str, use.path)), ERROR,
                    "kql.mapped-column", f"{azure_message(use)} The query outputs: {output}. "
                    "Column names are case-sensitive.") for use in missing]


def _line_column(item, path: tuple) -> tuple[int, int]:
    where = item.source.position_of(*path)
    return where.line, where.column
