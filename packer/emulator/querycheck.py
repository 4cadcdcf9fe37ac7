"""Queries compiled at PUT, as Sentinel and Log Analytics do before they store a rule or function.

The same Kusto.Language analysis `validate` uses (packer/kql), against the workspace's own tables
(from the config, with their columns) and its saved functions (saved searches with a
functionAlias, declared in front of the query). One warm worker per distinct set of tables, kept
for the process; answers cached per (tables, functions, query text), so a re-PUT of an unchanged
rule costs a dictionary lookup. Without Node.js the emulator falls back to its table tokenizer
(kqltables.py) and says so in docs/emulator.md.

Error answers (docs/emulator.md, "Query compilation"):
- a table the workspace lacks: "Failed to run the analytics rule query. One of the tables does not exist."
- a syntax error: "Request is invalid and cannot be processed: Syntax error: SYN0002: ..." (Azure/Azure-Sentinel#4053)
- a name that resolves to nothing: SEM0100 "'<operator>' operator: Failed to resolve scalar expression
  named '<name>'" inside the SemanticError envelope quoted in OfficeDev/O365-ActivityFeed-AzureFunction#3
- a mapped column the query does not output: "Error in EntityMappings: The given column 'X' does not exist."
"""
from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from packer.emulator import armerrors
from packer.emulator.armerrors import ArmError
from packer.emulator.facts import WorkspaceFacts
from packer.emulator.kqltables import missing_tables
from packer.kql.analyser import KqlAnalyser, KqlDiagnostic, KqlUnavailable, QueryAnalysis
from packer.kql.mapped import azure_message, column_uses, missing_columns
from packer.kql.schema import TableSchema

UNKNOWN_TABLE = "KS204"
UNRESOLVED_NAME = "KS142"  # "The name 'x' does not refer to any known column, table, variable or function."
_WORKERS = 2        # each Kusto.Language worker holds 150-400 MB
_CACHED = 20_000    # answers kept, least recently used dropped first
_NAME = re.compile(r"The name '([^']*)'")
_OPERATOR = re.compile(r"\|\s*([A-Za-z][A-Za-z-]*)")


@dataclass(frozen=True)
class Compiled:
    """A query's analysis with the declared-functions prefix taken off: offsets are in the query."""

    errors: tuple[KqlDiagnostic, ...]
    missing_tables: tuple[str, ...]
    output_columns: tuple[str, ...] | None
    output_open: bool


class QueryCompiler:
    def __init__(self):
        self._workers: OrderedDict[tuple, KqlAnalyser] = OrderedDict()
        self._answers: OrderedDict[tuple, Compiled] = OrderedDict()
        self._lock = threading.Lock()
        self.unavailable: str | None = None  # why Kusto.Language cannot be used, once known

    def compile(self, facts: WorkspaceFacts, query: str, parameters: str | None = None) -> Compiled | None:
        """The query's compilation in this workspace; None when Kusto.Language is unavailable.
        `parameters`: the query is a function body with these parameters (a saved search)."""
        if self.unavailable is not None:
            return None
        tables_key = tuple(sorted((t.name, t.columns) for t in facts.schemas))
        prefix, suffix = _declarations(facts), ""
        if parameters is not None:
            prefix += f"let __function_body = ({parameters}) {{\n"
            suffix = "\n};\nprint 1"
        key = (tables_key, prefix, query, suffix)
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                return self._answers[key]
        try:
            analysis = self._worker(tables_key, facts).analysis(prefix + query + suffix)
        except KqlUnavailable as exc:
            self.unavailable = exc.reason
            return None
        compiled = _compiled(analysis, prefix, prefix + query + suffix, len(query))
        with self._lock:
            self._answers[key] = compiled
            while len(self._answers) > _CACHED:
                self._answers.popitem(last=False)
        return compiled

    def _worker(self, tables_key: tuple, facts: WorkspaceFacts) -> KqlAnalyser:
        with self._lock:
            worker = self._workers.pop(tables_key, None)
            if worker is None:
                schemas = [TableSchema(t.name, dict(t.columns)) for t in facts.schemas]
                worker = KqlAnalyser(builtin_schemas=False, tables=schemas)
            self._workers[tables_key] = worker
            retired = [self._workers.popitem(last=False)[1] for _ in range(len(self._workers) - _WORKERS)]
        for old in retired:
            old.close()
        worker.start()
        return worker

    def close(self) -> None:
        with self._lock:
            workers, self._workers = list(self._workers.values()), OrderedDict()
        for worker in workers:
            worker.close()


_shared = QueryCompiler()


def shared_compiler() -> QueryCompiler:
    """One compiler for every emulator in the process (tests start many with the same tables)."""
    return _shared


def _declarations(facts: WorkspaceFacts) -> str:
    """The workspace's saved functions as let statements in front of the query."""
    lines = []
    for function in facts.saved_functions:
        if function.parameters.strip():
            lines.append(f"let {function.alias} = ({function.parameters}) {{\n{function.body}\n}};\n")
        else:  # a view can be named without parentheses, as a stored function without parameters can
            lines.append(f"let {function.alias} = view () {{\n{function.body}\n}};\n")
    return "".join(lines)


def _compiled(analysis: QueryAnalysis, prefix: str, text: str, query_length: int) -> Compiled:
    start, end = len(prefix), len(prefix) + query_length
    mine = [KqlDiagnostic(d.code, d.message, d.severity, d.start - start, d.length, d.syntax)
            for d in analysis.diagnostics if start <= d.start <= end]
    missing = tuple(dict.fromkeys(text[start + d.start:start + d.start + d.length]
                                  for d in mine if d.code == UNKNOWN_TABLE))
    errors = tuple(sorted((d for d in mine if d.is_error), key=lambda d: (not d.syntax, d.start)))
    refs = analysis.references
    if refs is None or not refs.output_columns:
        return Compiled(errors, missing, None, False)
    return Compiled(errors, missing, refs.output_columns, refs.output_open)


def check_query(facts: WorkspaceFacts, compiler: QueryCompiler, query: str, workspace: str,
                parameters: str | None = None) -> Compiled | None:
    """Raise the 400 Azure gives for a query that does not compile in this workspace.

    A function body (`parameters` given) may read tables and columns the workspace lacks: parsers
    are deployed to workspaces without some of their sources (an inference; not documented), so
    only its syntax and its other semantic errors are refused."""
    compiled = compiler.compile(facts, query, parameters)
    if compiled is None:  # no Kusto.Language: the tokenizer's table check only
        missing = missing_tables(query, facts.tables, facts.functions) if parameters is None else []
        if missing:
            raise _tables_missing(workspace, missing)
        return None
    missing = [name for name in compiled.missing_tables if name not in facts.functions]  # a function without a body
    if missing and parameters is None:
        raise _tables_missing(workspace, missing)
    errors = compiled.errors if parameters is None else [e for e in compiled.errors if e.code != UNRESOLVED_NAME]
    if errors:
        raise query_error(query, errors[0])
    return compiled


def check_body(kind_name: str, workspace: str, body: dict, facts: WorkspaceFacts | None,
               compiler: QueryCompiler) -> None:
    """A rule's query and mapped columns, a saved function's body: compiled as the services do at PUT."""
    props = body.get("properties")
    if facts is None or not isinstance(props, dict) or not isinstance(props.get("query"), str):
        return
    if kind_name == "alertRules" and body.get("kind") in ("Scheduled", "NRT"):
        check_mapped_columns(props, check_query(facts, compiler, props["query"], workspace))
    elif kind_name == "savedSearches" and props.get("functionAlias"):
        check_query(facts, compiler, props["query"], workspace, str(props.get("functionParameters") or ""))


def check_mapped_columns(properties: dict, compiled: Compiled | None) -> None:
    if compiled is None:
        return
    missing = missing_columns(column_uses(properties), compiled.output_columns, compiled.output_open)
    if missing:
        use = missing[0]
        raise armerrors.bad_request(azure_message(use), target="properties." + ".".join(map(str, use.path)))


def _tables_missing(workspace: str, names: list[str]) -> ArmError:
    return armerrors.bad_request("Failed to run the analytics rule query. One of the tables does not exist. "
                                 f"(not found in workspace '{workspace}': {', '.join(names)})",
                                 target="properties.query")


def _line_column(query: str, offset: int) -> tuple[int, int]:
    before = query[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def query_error(query: str, error: KqlDiagnostic) -> ArmError:
    line, column = _line_column(query, error.start)
    if error.syntax:
        token = query[error.start:error.start + max(error.length, 1)].strip() or query[max(0, error.start - 1):error.start]
        return armerrors.bad_request("Request is invalid and cannot be processed: Syntax error: SYN0002: Query could "
                                     f"not be parsed at '{token}' on line [{line},{column}]", target="properties.query")
    if error.code == UNRESOLVED_NAME:
        name = _NAME.search(error.message)
        operators = _OPERATOR.findall(query[:error.start])
        where = f"'{operators[-1]}' operator: " if operators else ""
        inner = {"code": "SEM0100",
                 "message": f"{where}Failed to resolve scalar expression named '{name.group(1) if name else ''}'"}
        return _semantic("FailedToResolveScalarExpression", inner)
    return _semantic("SemanticError", {"code": error.code, "message": error.message})


def _semantic(code: str, inner: dict) -> ArmError:
    detail = {"error": {"message": "The request had some invalid properties", "code": "BadArgumentError",
                        "innererror": {"code": "SemanticError", "message": "A semantic error occurred.",
                                       "innererror": inner}}}
    return armerrors.bad_request(f"{code}; Message: {json.dumps(detail, separators=(',', ':'))}",
                                 target="properties.query")
