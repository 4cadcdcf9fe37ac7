"""Drive Microsoft's Kusto.Language (npm `@kusto/language-service-next`) from Python.

One Node process (`worker.js`) is started per `KqlAnalyser` and answers JSON lines; starting
it costs about a second, each query a few milliseconds. See docs/kql.md in the shared docs.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

from packer.errors import PackerError
from packer.content.model import Parser
from packer.kql.cache import AnalysisCache, digest, names_in, reads_unnamed_tables
from packer.kql.functions import FunctionSpec, asim_tables, parser_function, sentinel_functions
from packer.kql.schema import TableSchema, load_tables
from packer.kql.snapshot import build, build_after_exit, discard, snapshot_path

from packer.kql.install import NODE_MODULES_ENV, PACKAGE, user_cache_dir  # the package, where `kql install` puts it
WORKER = Path(__file__).with_name("worker.js")
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
INSTALL_HINT = ("run `sentinel-packer kql install` (needs Node.js 20+ and npm; in a clone of sentinel-packer, "
                "`npm ci` at its root does too), or set SENTINEL_PACKER_NODE_MODULES to a node_modules folder "
                "that holds it")
MIN_NODE_MAJOR = 20
# V8's memory-saving mode: a worker from the startup snapshot peaks at about 140 MB instead of
# 280 MB (with the 64 MB young generation used before) over the 1,500 queries of bench/cache.py's
# cold build, for about 10% more CPU per query (docs/benchmarks.md, issue 17).
NODE_FLAGS = ("--optimize-for-size",)
REPLY_TIMEOUT = 120  # seconds for one query; the slowest corpus query takes well under 1 s


REQUIRE_ENV = "SENTINEL_PACKER_REQUIRE_KQL"


class KqlUnavailable(PackerError):
    """Node.js or the Kusto.Language package is absent; says how to install them. The only
    reason analysis may be skipped, and not even that with --require-kql ($SENTINEL_PACKER_REQUIRE_KQL)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"KQL analysis unavailable: {reason}; {INSTALL_HINT}")


class KqlFailed(PackerError):
    """The analysis itself broke (the worker crashed, hung, or could not load Kusto.Language or
    the schema): always an error, never a skip, since a skip would pass content nothing checked."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"KQL analysis failed: {reason}. Nothing was checked; fix the installation "
                         f"(`sentinel-packer kql install`) or report this")


def kql_required(explicit: bool | None = None) -> bool:
    """Whether an absent Node.js or package is an error: `explicit` (--require-kql) if given,
    else $SENTINEL_PACKER_REQUIRE_KQL (CI sets it)."""
    if explicit is not None:
        return explicit
    return os.environ.get(REQUIRE_ENV, "").strip().lower() not in ("", "0", "false", "no")


@dataclass(frozen=True)
class KqlDiagnostic:
    """One finding of Kusto.Language: `start`/`length` are character offsets in the query."""

    code: str
    message: str
    severity: str  # "Error" | "Warning" | "Suggestion"
    start: int
    length: int
    syntax: bool = False  # a parse error (the rest of the query may be bound wrongly after it)

    @property
    def is_error(self) -> bool:
        return self.severity == "Error"

    @classmethod
    def from_worker(cls, d: dict) -> "KqlDiagnostic":
        return cls(d["code"], d["message"], d["severity"], d["start"], d["length"], bool(d.get("syntax")))


@dataclass(frozen=True)
class QueryReferences:
    """Workspace tables a query reads (through declared functions too) and their columns; the
    declared functions (the content's parsers) it calls; the columns its result has."""

    tables: frozenset[str]
    columns: dict[str, frozenset[str]]
    unknown_tables: frozenset[str]
    functions: frozenset[str] = frozenset()
    output_columns: tuple[str, ...] = ()
    output_open: bool = False  # the result comes from a table the schema does not know

    @classmethod
    def from_worker(cls, answer: dict) -> "QueryReferences":
        return cls(tables=frozenset(answer["tables"]),
                   columns={t: frozenset(c) for t, c in answer["columns"].items()},
                   unknown_tables=frozenset(answer["unknownTables"]),
                   functions=frozenset(answer.get("functions") or ()),
                   output_columns=tuple(answer.get("outputColumns") or ()),
                   output_open=bool(answer.get("outputOpen")))


@dataclass(frozen=True)
class QueryAnalysis:
    """One query analysed once: its diagnostics and what it reads (None when Kusto.Language
    could not analyse it)."""

    diagnostics: list[KqlDiagnostic]
    references: QueryReferences | None


def node_modules_dir() -> Path:
    """Where the npm package is installed: $SENTINEL_PACKER_NODE_MODULES, else <project>/node_modules
    (a source checkout), else ./node_modules (where `npm ci` ran for an installed package), else
    the user cache folder `sentinel-packer kql install` fills."""
    override = os.environ.get(NODE_MODULES_ENV)
    if override:
        return Path(override)
    # a source checkout first; for an installed package, the folder `npm ci` ran in
    for candidate in (PROJECT_ROOT / "node_modules", Path.cwd() / "node_modules", user_cache_dir() / "node_modules"):
        if (candidate / PACKAGE / "package.json").is_file():
            return candidate
    return PROJECT_ROOT / "node_modules"


_NODE: dict[tuple, str] = {}


def node_available() -> str:
    """find_node(), asked once per process and node_modules folder (it runs `node --version`)."""
    where = (shutil.which("node"), str(node_modules_dir()))
    if where not in _NODE:
        _NODE[where] = find_node()
    return _NODE[where]


def find_node(node_modules: Path | None = None) -> str:
    """The `node` executable (20+) and the Kusto.Language package installed in `node_modules`
    (default: node_modules_dir()), or KqlUnavailable."""
    node = shutil.which("node")
    if node is None:
        raise KqlUnavailable("Node.js is not installed (no `node` on PATH)")
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
        major = int(version.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        raise KqlFailed(f"cannot run {node} --version") from None
    if major < MIN_NODE_MAJOR:
        raise KqlUnavailable(f"Node.js {version.strip()} is too old (need {MIN_NODE_MAJOR}+)")
    modules = node_modules or node_modules_dir()
    if not (modules / PACKAGE / "package.json").is_file():
        raise KqlUnavailable(f"the npm package {PACKAGE} is not installed in {modules}")
    return node


class KqlAnalyser:
    """A warm Kusto.Language worker with the given table schemas and declared functions.

    Use as a context manager: `with KqlAnalyser(schema_dirs=[...]) as kql: kql.analyse(q)`.
    Built-in schemas (packer/kql/schemas) and Sentinel functions are always included;
    `schema_dirs` add or extend tables, `functions` add content Parser items or FunctionSpecs.
    """

    def __init__(
        self,
        schema_dirs: Iterable[Path] = (),
        functions: Iterable[FunctionSpec | Parser] = (),
        builtin_schemas: bool = True,
        tables: Iterable[TableSchema] = (),
    ):
        """`tables` are added to (or replace) those of the schema folders: a workspace's own tables."""
        functions = [f if isinstance(f, FunctionSpec) else parser_function(f) for f in functions]
        self.tables: dict[str, TableSchema] = load_tables(schema_dirs, builtin=builtin_schemas)
        self.tables.update({t.name: t for t in tables})
        if builtin_schemas:
            for name, columns in asim_tables().items():
                self.tables.setdefault(name, TableSchema(name, dict(columns), open=True))
        self.functions: tuple[FunctionSpec, ...] = (*sentinel_functions(), *functions)
        self.cache: AnalysisCache | None = None  # set by shared_analyser (packer.kql.cache)
        self.sent = 0  # queries the worker analysed (the rest came from the cache)
        self._scope_index: _ScopeIndex | None = None
        self._reset_worker_state()

    def _reset_worker_state(self) -> None:
        self._process: subprocess.Popen | None = None
        self._stderr = None  # a temporary file: a pipe nobody reads could fill up and block Node
        self._next_id = 0
        self._hung = False
        self._declared: set[str] = set()  # tables this worker has been told about
        self._lock = threading.RLock()  # one request/answer exchange at a time (plan may use threads)

    def clone(self) -> "KqlAnalyser":
        """Another (not yet started) analyser with the same tables, functions and cache."""
        twin = KqlAnalyser.__new__(KqlAnalyser)
        twin.tables, twin.functions, twin.cache, twin.sent = self.tables, self.functions, self.cache, 0
        twin._scope_index = self._index()
        twin._reset_worker_state()
        return twin

    def _index(self) -> "_ScopeIndex":
        if self._scope_index is None:
            self._scope_index = _ScopeIndex(self.tables, self.functions)
        return self._scope_index

    def cache_key(self, query: str) -> str:
        """What the answer to `query` depends on: its text, the tables and functions it names
        (packer.kql.cache), the Kusto.Language version, the worker and the tool."""
        tables, functions = self._index().scope(query)
        index = self._index()
        return digest(self.cache.environment if self.cache is not None else environment(), query, *sorted(index.table_json(t) for t in tables),
                      *sorted(index.function_json(f) for f in functions))

    def __enter__(self) -> "KqlAnalyser":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Start the worker (once); a worker that died is replaced."""
        with self._lock:
            if self._process is not None and self._process.poll() is not None:
                self.close()
            if self._process is None:
                self._start()

    def _start(self) -> None:
        spare = _take_spare()
        self._process, self._stderr = spare if spare is not None else _spawn(find_node())
        snapshot = self._process.snapshot
        try:
            self._configure()
        except KqlFailed:
            if snapshot is None:
                raise
            discard(snapshot)  # Node.js refused it (or it broke): start from the script instead
            self.close()
            self._process, self._stderr = _spawn(find_node(), snapshot=False)
            self._configure()

    def _configure(self) -> None:
        self._declared = set()
        self._request("configure", tables=[], functions=[f.to_worker() for f in self.functions])

    def _declare_for(self, queries: Sequence[str]) -> None:
        """Tell the worker the tables these queries name that it does not know yet (tables are
        declared lazily: a query's result does not depend on tables it does not name)."""
        index = self._index()
        wanted = {t.name: t for q in queries for t in index.scope(q)[0] if t.name not in self._declared}
        if wanted:
            self._request("declare", tables=[t.to_worker() for t in wanted.values()])
            self._declared.update(wanted)

    @property
    def worker_snapshot(self) -> Path | None:
        """The startup snapshot the running worker started from (packer.kql.snapshot), or None."""
        process = self._process
        return process.snapshot if process is not None else None

    @property
    def worker_pid(self) -> int | None:
        """The running worker's process id (benchmarks read its CPU time), or None."""
        process = self._process
        return process.pid if process is not None else None

    def close(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is None:
            return
        try:
            process.stdin.close()
            process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
        finally:
            process.stdout.close()
            self._close_stderr()

    def _close_stderr(self) -> str:
        """The worker's last stderr line (if any), and the file closed."""
        stderr, self._stderr = self._stderr, None
        if stderr is None:
            return ""
        stderr.seek(0)
        text = stderr.read()[-2000:].decode("utf-8", "replace").strip()
        stderr.close()
        return text.splitlines()[-1] if text else ""

    def analyse(self, query: str) -> list[KqlDiagnostic]:
        """Every diagnostic of the query, in text order (unknown tables come back as warnings)."""
        return self.analysis(query).diagnostics

    def analysis(self, query: str) -> QueryAnalysis:
        """One query's diagnostics and references (output columns included), from one analysis."""
        return self.analyse_fully([query])[0]

    def references(self, query: str) -> QueryReferences:
        """What the query reads; KqlFailed when Kusto.Language could not analyse it."""
        answer = self.answers([query])[0]
        if answer.get("error"):
            raise KqlFailed(f"the KQL worker failed on a query: {answer['error']}")
        return QueryReferences.from_worker(answer)

    def analyse_many(self, queries: Sequence[str]) -> list[list[KqlDiagnostic]]:
        """Diagnostics for each query; requests are pipelined so the worker never waits on Python."""
        return [analysis.diagnostics for analysis in self.analyse_fully(queries)]

    def analyse_fully(self, queries: Sequence[str]) -> list[QueryAnalysis]:
        """Diagnostics and references of each query, from one analysis per query (pipelined),
        or from the cache."""
        return [_analysis_of(answer, query) for answer, query in zip(self.answers(queries), queries)]

    def answers(self, queries: Sequence[str]) -> list[dict]:
        """The worker's answer to each query: from the cache, else analysed (and remembered)."""
        found, keys = self.cached(queries)
        missing = [i for i, answer in enumerate(found) if answer is None]
        if not missing:
            return found
        with self._lock:  # threads asking for the same query wait here: the first one analyses it
            if self.cache is not None:
                for i in missing:
                    found[i] = self.cache.in_memory(keys[i])
                missing = [i for i in missing if found[i] is None]
            for i, answer in zip(missing, self.analyse_uncached([queries[i] for i in missing])):
                found[i] = answer
                self.remember(keys[i], answer)
        return found

    def cached(self, queries: Sequence[str]) -> tuple[list[dict | None], list[str | None]]:
        """Per query: its cached answer (or None) and its cache key (None without a cache)."""
        if self.cache is None:
            return [None] * len(queries), [None] * len(queries)
        keys = [self.cache_key(q) for q in queries]
        return [self.cache.get(k) for k in keys], keys

    def remember(self, key: str | None, answer: dict) -> None:
        if key is not None and self.cache is not None:
            self.cache.put(key, answer)

    def analyse_uncached(self, queries: Sequence[str]) -> list[dict]:
        """The worker's answers, pipelined; no cache."""
        if not queries:
            return []
        with self._lock:
            if self._process is None:
                self._start()
            self._declare_for(queries)
            self.sent += len(queries)
            return self._analyse_many(queries)

    def _analyse_many(self, queries: Sequence[str]) -> list[dict]:
        first = self._next_id + 1
        self._next_id += len(queries)
        lines = [json.dumps({"id": first + i, "kind": "analyse", "query": q}, ensure_ascii=False) + "\n"
                 for i, q in enumerate(queries)]
        writer = threading.Thread(target=self._write_all, args=(lines,), daemon=True)
        writer.start()
        results = []
        for query in queries:
            reply = self._readline()
            if not reply:
                raise KqlFailed(f"the KQL worker stopped: {self._stderr_tail()}")
            results.append(json.loads(reply))
        writer.join()
        return results

    def _write_all(self, lines: list[str]) -> None:
        try:
            for line in lines:
                self._process.stdin.write(line)
            self._process.stdin.flush()
        except (OSError, AttributeError):
            pass  # the reader reports the stopped worker

    def _request(self, kind: str, tolerate_error: bool = False, **fields) -> dict:
        with self._lock:
            answer = self._exchange(kind, fields)
        if answer.get("error") and not tolerate_error:
            if kind == "configure":
                raise KqlFailed(f"the KQL worker could not load the schema: {answer['error']}")
            raise KqlFailed(f"the KQL worker failed on a {kind} request: {answer['error']}")
        return answer

    def _exchange(self, kind: str, fields: dict) -> dict:
        if self._process is None:
            self._start()
        self._next_id += 1
        line = json.dumps({"id": self._next_id, "kind": kind, **fields}, ensure_ascii=False)
        try:
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
            reply = self._readline()
        except (BrokenPipeError, OSError):
            reply = ""
        if not reply:
            raise KqlFailed(f"the KQL worker stopped: {self._stderr_tail()}")
        answer = json.loads(reply)
        if answer.get("id") != self._next_id:
            raise KqlFailed(f"the KQL worker answered request {answer.get('id')} instead of {self._next_id}")
        return answer

    def _readline(self) -> str:
        """One answer line; a worker silent for REPLY_TIMEOUT seconds is stopped (never hang CI)."""
        process = self._process
        timer = threading.Timer(REPLY_TIMEOUT, self._stop_hung, args=(process,))
        timer.daemon = True
        timer.start()
        try:
            return process.stdout.readline()
        finally:
            timer.cancel()

    def _stop_hung(self, process: subprocess.Popen) -> None:
        self._hung = True
        process.kill()

    def _stderr_tail(self) -> str:
        """Why the worker stopped; it is killed and forgotten."""
        process, self._process = self._process, None
        if process is None:
            return "not running"
        process.kill()
        code = process.wait()
        process.stdout.close()
        last_line = self._close_stderr()
        if self._hung:
            self._hung = False
            return f"no answer within {REPLY_TIMEOUT} s"
        return last_line or f"exit code {code}"


def _spawn(node: str, snapshot: bool = True) -> tuple[subprocess.Popen, object]:
    """A worker process loading Kusto.Language (it then waits for its `configure`): from the
    startup snapshot when there is one (packer.kql.snapshot), else from the script, and then
    the snapshot is built after this run. `process.snapshot` is the snapshot used, or None."""
    modules = node_modules_dir()
    blob = snapshot_path(node, NODE_FLAGS, WORKER, modules) if snapshot else None
    if blob is not None and not blob.is_file():
        build_after_exit(node, NODE_FLAGS, WORKER, modules, blob)
        blob = None
    source = ["--snapshot-blob", str(blob)] if blob is not None else [str(WORKER)]
    env = dict(os.environ, **{NODE_MODULES_ENV: str(modules)})
    stderr = tempfile.TemporaryFile()
    try:
        process = subprocess.Popen(
            [node, *NODE_FLAGS, *source], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
            text=True, encoding="utf-8", env=env, bufsize=1,
        )
    except OSError as exc:
        stderr.close()
        raise KqlFailed(f"cannot start {node}: {exc}") from None
    process.snapshot = blob
    return process, stderr


def build_snapshot(node_modules: Path | None = None) -> Path | None:
    """Build the worker's startup snapshot now (`kql install` does) of the package in
    `node_modules` (default: the one analysis uses); its path, or None when snapshots are off
    ($SENTINEL_PACKER_KQL_SNAPSHOT). KqlUnavailable without Node.js 20+ or the package there;
    KqlFailed when Node.js could not build it."""
    modules = Path(node_modules or node_modules_dir())
    node = find_node(modules)
    blob = snapshot_path(node, NODE_FLAGS, WORKER, modules)
    if blob is None:
        return None
    if not build(node, NODE_FLAGS, WORKER, modules, blob):
        raise KqlFailed(f"Node.js could not build the worker snapshot {blob}")
    return blob


# One worker started ahead of need (prestart), while Python reads the YAML: loading
# Kusto.Language takes about a second of CPU that then overlaps the YAML pass.
_spare: dict[tuple, tuple[subprocess.Popen, object] | threading.Thread] = {}
_spare_lock = threading.Lock()


def prestart() -> None:
    """Start loading a worker in the background (at most one waits), for the next analyser that
    starts: validate calls this before reading YAML when the analysis cache cannot answer.
    Problems (no Node.js) are left for the analysis itself to report."""
    where = _spare_key()
    with _spare_lock:
        if where in _spare:
            return

        def spawn() -> None:
            try:
                started = _spawn(node_available())
            except PackerError:
                started = None
            with _spare_lock:
                if started is None:
                    _spare.pop(where, None)
                else:
                    _spare[where] = started

        thread = _spare[where] = threading.Thread(target=spawn, name="kql-prestart", daemon=True)
    thread.start()


def _spare_key() -> tuple:
    return shutil.which("node"), str(node_modules_dir())


def _take_spare() -> tuple[subprocess.Popen, object] | None:
    where = _spare_key()
    with _spare_lock:
        spare = _spare.get(where)
    if isinstance(spare, threading.Thread):
        spare.join()
    with _spare_lock:
        spare = _spare.pop(where, None)
    if spare is None or isinstance(spare, threading.Thread) or spare[0].poll() is not None:
        return None
    return spare


def analyse_in_parallel(analyser: KqlAnalyser, queries: Sequence[str], workers: int) -> list[list[KqlDiagnostic]]:
    """`analyser.analyse_many(queries)` spread over `workers` processes (extra ones are
    started for this call and closed after it); results in the order of `queries`."""
    return [analysis.diagnostics for analysis in analyse_fully_in_parallel(analyser, queries, workers)]


def analyse_fully_in_parallel(analyser: KqlAnalyser, queries: Sequence[str],
                              workers: int | Callable[[int], int]) -> list[QueryAnalysis]:
    """`analyser.analyse_fully(queries)`: cached answers read first, the rest spread over
    `workers` processes (a number, or a function of how many queries miss the cache; extra
    processes are started for this call and closed after it); results in the order of `queries`."""
    found, keys = analyser.cached(queries)
    missing: dict[str, list[int]] = {}  # the same query twice (two workbooks) is analysed once
    for i, answer in enumerate(found):
        if answer is None:
            missing.setdefault(queries[i], []).append(i)
    if missing:
        count = workers(len(missing)) if callable(workers) else workers
        for text, answer in zip(missing, _answers_in_parallel(analyser, list(missing), count)):
            for i in missing[text]:
                found[i] = answer
            analyser.remember(keys[missing[text][0]], answer)
    return [_analysis_of(answer, query) for answer, query in zip(found, queries)]


def _answers_in_parallel(analyser: KqlAnalyser, queries: list[str], workers: int) -> list[dict]:
    workers = max(1, min(workers, len(queries)))
    if workers == 1:
        return analyser.analyse_uncached(queries)
    extra = [analyser.clone() for _ in range(workers - 1)]
    try:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(KqlAnalyser.start, extra))
            shares = [queries[i::workers] for i in range(workers)]
            parts = list(pool.map(lambda pair: pair[0].analyse_uncached(pair[1]), zip([analyser, *extra], shares)))
    finally:
        for twin in extra:
            analyser.sent += twin.sent
            twin.close()
    return [parts[i % workers][i // workers] for i in range(len(queries))]


class _ScopeIndex:
    """Which tables and functions a query can reach, by the names it holds (case-insensitive):
    its identifiers, and those of the functions it calls, transitively. A query that reads
    tables it does not name (`search`, `find`, a wildcard `union`) reaches every table."""

    def __init__(self, tables: dict[str, TableSchema], functions: Iterable[FunctionSpec]):
        self.all_tables = tuple(tables.values())
        self.tables: dict[str, list[TableSchema]] = {}
        for schema in self.all_tables:
            self.tables.setdefault(schema.name.lower(), []).append(schema)
        self.functions: dict[str, list[FunctionSpec]] = {}
        for spec in functions:
            self.functions.setdefault(spec.name.lower(), []).append(spec)
        self._json: dict[str, str] = {}
        self._function_json: dict[FunctionSpec, str] = {}
        self._body_names: dict[FunctionSpec, frozenset[str]] = {}

    def table_json(self, table: TableSchema) -> str:
        text = self._json.get(table.name)
        if text is None:
            text = self._json[table.name] = json.dumps(table.to_worker(), sort_keys=True)
        return text

    def function_json(self, spec: FunctionSpec) -> str:
        text = self._function_json.get(spec)
        if text is None:
            text = self._function_json[spec] = json.dumps(spec.to_worker(), sort_keys=True)
        return text

    def scope(self, query: str) -> tuple[tuple[TableSchema, ...], tuple[FunctionSpec, ...]]:
        names = set(names_in(query))
        everything = reads_unnamed_tables(query)
        reached: list[FunctionSpec] = []
        pending = list(names)
        while pending:
            for spec in self.functions.get(pending.pop(), ()):
                if spec in reached:
                    continue
                reached.append(spec)
                body = spec.body or ""
                everything = everything or reads_unnamed_tables(body)
                new = self._names_of(spec) - names
                names |= new
                pending += new
        if everything:
            return self.all_tables, tuple(reached)
        return tuple(t for name in names for t in self.tables.get(name, ())), tuple(reached)

    def _names_of(self, spec: FunctionSpec) -> frozenset[str]:
        found = self._body_names.get(spec)
        if found is None:
            found = self._body_names[spec] = names_in(f"{spec.parameters} {spec.body or ''}")
        return found


_ENVIRONMENT: dict[str, str] = {}


def environment() -> str:
    """The Kusto.Language version, the worker script and sentinel-packer's version, hashed:
    cached answers hold only while all three are the same."""
    where = str(node_modules_dir())
    if where not in _ENVIRONMENT:
        from packer import __version__

        try:
            kusto = json.loads((Path(where) / PACKAGE / "package.json").read_text(encoding="utf-8"))["version"]
        except (OSError, ValueError, KeyError, TypeError):
            kusto = "unknown"
        _ENVIRONMENT[where] = digest(__version__, str(kusto), WORKER.read_text(encoding="utf-8"))
    return _ENVIRONMENT[where]


def _analysis_of(answer: dict, query: str) -> QueryAnalysis:
    references = None if answer.get("error") or "tables" not in answer else QueryReferences.from_worker(answer)
    return QueryAnalysis(_diagnostics_of(answer, query), references)


def _diagnostics_of(answer: dict, query: str) -> list[KqlDiagnostic]:
    if answer.get("error"):  # Kusto.Language itself failed on this query: unchecked is not valid
        return [KqlDiagnostic("KQL000", f"Kusto.Language could not analyse this query ({answer['error']})",
                              "Error", 0, 0)]
    diagnostics = [KqlDiagnostic.from_worker(d) for d in answer["diagnostics"]]
    if max(query, default="") <= "\uffff":  # no character outside the BMP: offsets agree
        return diagnostics
    return [_in_code_points(d, query) for d in diagnostics]


def _in_code_points(diagnostic: KqlDiagnostic, query: str) -> KqlDiagnostic:
    """Node counts UTF-16 units; a character outside the BMP (an emoji) is two of them, one in Python."""
    def index(units: int) -> int:
        count = 0
        for position, char in enumerate(query):
            if count >= units:
                return position
            count += 2 if ord(char) > 0xFFFF else 1
        return len(query)

    start = index(diagnostic.start)
    return replace(diagnostic, start=start, length=index(diagnostic.start + diagnostic.length) - start)


_shared: dict[tuple, KqlAnalyser] = {}  # most recently used last
SHARED_LIMIT = 2  # each worker holds 150-400 MB
_shared_lock = threading.Lock()


def shared_analyser(functions: Iterable[FunctionSpec] = (), schema_dirs: Iterable[Path] = (),
                    cache_dir: Path | None = None) -> KqlAnalyser:
    """An analyser for these functions and schema folders, kept warm for the process; its worker
    starts on the first query the cache (`cache_dir`, packer.kql.cache) cannot answer.
    Raises KqlUnavailable at once when Node.js or the package is missing."""
    functions = tuple(functions)
    dirs = tuple(Path(d).resolve() for d in schema_dirs)
    key = (functions, dirs, _fingerprint(dirs), str(node_modules_dir()))
    node_available()
    with _shared_lock:
        analyser = _shared.pop(key, None)
        if analyser is None:
            analyser = KqlAnalyser(schema_dirs=dirs, functions=functions)
        folder = cache_dir / "kql" if cache_dir is not None else None
        if analyser.cache is None or analyser.cache.folder != (folder / environment()[:16] if folder else None):
            analyser.cache = AnalysisCache(folder, environment())
        _shared[key] = analyser
        while len(_shared) > SHARED_LIMIT:
            _shared.pop(next(iter(_shared))).close()  # waits for its exchange in flight
    return analyser


def _fingerprint(dirs: tuple[Path, ...]) -> tuple:
    """Schema files as they are now, so an edited schema starts a fresh worker."""
    stats = []
    for folder in dirs:
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
            stat = path.stat()
            stats.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(stats)


@atexit.register
def close_shared() -> None:
    while _shared:
        _shared.popitem()[1].close()
    spare = _take_spare()
    if spare is not None:
        process, stderr = spare
        process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout, stderr):
            stream.close()
