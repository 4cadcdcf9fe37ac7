"""The persistent analysis cache: one Kusto.Language answer per query, kept between runs.

A detection repository changes a few queries per pull request; analysing every query again on
each CI run is the waste this removes. An answer (diagnostics, tables, columns, parsers called,
output columns) is stored under a key made of:

- the query text;
- what the answer can depend on besides the text: the table schemas and declared functions
  the query *names* (its identifiers, and those of the functions it calls, transitively; every
  table when it uses `search`, `find` or a wildcard `union`), as sent to the worker;
- the Kusto.Language version, the worker script and sentinel-packer's version.

So an edited schema file invalidates the queries that name its table and no other; a new
Kusto.Language invalidates everything. Files live in `<repository>/.sentinel-packer/cache/kql/`
(git-ignored; $SENTINEL_PACKER_CACHE_DIR elsewhere, `off` for none). One file per answer, written
to a temporary name and renamed, so concurrent runs never see half a file; a file that does not
parse, or whose recorded key differs, is a miss and is rewritten: never trusted. Deleting the
folder at any time is safe.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Iterable

from packer.content.load import git_root

CACHE_ENV = "SENTINEL_PACKER_CACHE_DIR"
OFF = ("off", "0", "false", "no", "none")
FOLDER = Path(".sentinel-packer") / "cache"
FORMAT = 1
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Queries that read tables they do not name: `search`, `find`, `union T*` / `union *`.
_READS_UNNAMED = re.compile(r"\b(?:search|find)\b|\bunion\b[^|;]*\*", re.IGNORECASE)


def names_in(text: str) -> frozenset[str]:
    """Every identifier in `text` (strings and comments included: `table('T')` names T), lower-cased."""
    return frozenset(name.lower() for name in _IDENTIFIER.findall(text))


def reads_unnamed_tables(text: str) -> bool:
    return _READS_UNNAMED.search(text) is not None


def cache_root(anchor: Path | None = None) -> Path | None:
    """The cache folder: $SENTINEL_PACKER_CACHE_DIR (`off`: none), else `.sentinel-packer/cache`
    in the git repository holding `anchor` (a content file or folder; default the current
    folder), else None: outside a repository nothing is written unless asked for."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None and configured.strip():
        return None if configured.strip().lower() in OFF else Path(configured)
    repository = git_root(Path(anchor or Path.cwd()).absolute())
    return repository / FOLDER if repository is not None else None


def digest(*parts: str) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode("utf-8", "surrogatepass"))
        hasher.update(b"\0")
    return hasher.hexdigest()


# Answers of this process, by key (keys name their environment): a fleet's workspaces, plan and
# doctor share them with validation even with no folder, so each query is analysed once.
_MEMORY: dict[str, dict] = {}
_MEMORY_LOCK = threading.Lock()


class AnalysisCache:
    """Answers by key: in memory for the process, and in `folder/<environment>/` when a folder
    is given; `environment` names the Kusto.Language version, worker and tool, so a new version
    starts an empty folder (older ones are removed)."""

    def __init__(self, folder: Path | None, environment: str):
        self.environment = environment
        self.folder = Path(folder) / environment[:16] if folder is not None else None
        self.hits = 0
        self.misses = 0
        self._parent = Path(folder) if folder is not None else None
        self._cleaned = False

    @property
    def is_cold(self) -> bool:
        """Nothing stored on disk for this environment yet (a first run, or a new Kusto.Language)."""
        return self.folder is None or not self.folder.is_dir()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def in_memory(self, key: str) -> dict | None:
        with _MEMORY_LOCK:
            return _MEMORY.get(key)

    def get(self, key: str) -> dict | None:
        answer = self.in_memory(key)
        if answer is None and self.folder is not None:
            answer = self._read(key)
            if answer is not None:
                with _MEMORY_LOCK:
                    _MEMORY[key] = answer
        if answer is None:
            self.misses += 1
        else:
            self.hits += 1
        return answer

    def _read(self, key: str) -> dict | None:
        try:
            stored = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        answer = stored.get("answer") if isinstance(stored, dict) and stored.get("key") == key \
            and stored.get("format") == FORMAT else None
        return answer if _well_formed(answer) else None

    def put(self, key: str, answer: dict) -> None:
        """Store an answer; a folder that cannot be written (read-only checkout) is no error."""
        if answer.get("error") or not _well_formed(answer):
            return  # a failed analysis is never remembered
        answer = _stored(answer)
        with _MEMORY_LOCK:
            _MEMORY[key] = answer
        if self.folder is not None:
            self._write(key, answer)

    def _write(self, key: str, answer: dict) -> None:
        path = self._path(key)
        temporary = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._remove_other_environments()
            handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump({"format": FORMAT, "key": key, "answer": answer}, out, ensure_ascii=False)
            os.replace(temporary, path)
        except OSError:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)

    def _remove_other_environments(self) -> None:
        """Answers of another Kusto.Language or tool version can never be read again."""
        if self._cleaned:
            return
        self._cleaned = True
        for other in self._parent.iterdir():
            if other.is_dir() and other != self.folder and len(other.name) == 16:
                shutil.rmtree(other, ignore_errors=True)


def _stored(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k not in ("id",)}


_FIELDS = {"diagnostics": list, "tables": list, "columns": dict, "unknownTables": list}


def _well_formed(answer) -> bool:
    """An answer the analyser can read: the fields it needs, of the right types."""
    if not isinstance(answer, dict):
        return False
    if not all(isinstance(answer.get(name), kind) for name, kind in _FIELDS.items()):
        return False
    return all(isinstance(d, dict) and isinstance(d.get("code"), str) and isinstance(d.get("message"), str)
               and isinstance(d.get("severity"), str) and isinstance(d.get("start"), int)
               and isinstance(d.get("length"), int) for d in answer["diagnostics"])
