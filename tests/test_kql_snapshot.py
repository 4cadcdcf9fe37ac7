"""The KQL worker's startup snapshot (packer.kql.snapshot, issue 17 item 2): the same answers as
a worker started from the script, a refused snapshot never breaks a run, and a missing one is
built after the run that lacked it."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CONTENT, PROJECT_ROOT, kql_or_skip, shared_path
from packer.content.load import analytic_rule_from, hunting_query_from, load_content_unchecked
from packer.content.yamlsource import load_yaml
from packer.kql import KqlAnalyser
from packer.kql.analyser import NODE_FLAGS, WORKER, _take_spare, build_snapshot, find_node, node_modules_dir
from packer.kql.check import queries_of
from packer.kql.snapshot import SNAPSHOT_ENV, snapshot_path


@pytest.fixture
def user_cache(tmp_path, monkeypatch) -> Path:
    """A user cache folder of the test's own: no snapshot in it yet."""
    kql_or_skip("the worker snapshot")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(SNAPSHOT_ENV, raising=False)
    spare = _take_spare()  # a worker another test started ahead of need came from elsewhere
    if spare is not None:
        spare[0].kill()
        spare[0].wait()
    return tmp_path / "cache"


def blob_path() -> Path:
    return snapshot_path(find_node(), NODE_FLAGS, WORKER, node_modules_dir())


def corpus_queries() -> list[str]:
    root = shared_path("corpus", "rules")
    items = [build(load_yaml(path)) for folder, build in (("analytic", analytic_rule_from), ("hunting", hunting_query_from))
             for path in sorted((root / folder).glob("*.yaml"))]
    items += load_content_unchecked(CONTENT).items
    return [text.prefix + text.query + text.suffix for item in items for text in queries_of(item)]


def answers(queries: list[str], schema_dirs: list[Path]) -> tuple[list[dict], Path | None]:
    """The worker's own answers (never the analysis cache's) and the snapshot it started from."""
    with KqlAnalyser(schema_dirs=schema_dirs) as analyser:
        started_from = analyser.worker_snapshot
        return analyser.analyse_uncached(queries), started_from


def test_a_snapshot_worker_answers_every_corpus_query_exactly_as_the_script_does(user_cache, monkeypatch):
    queries = corpus_queries()
    assert len(queries) > 290
    schemas = [shared_path("corpus", "reference", "CustomTables")]
    monkeypatch.setenv(SNAPSHOT_ENV, "off")
    from_script, none = answers(queries, schemas)
    assert none is None
    monkeypatch.delenv(SNAPSHOT_ENV)
    blob = build_snapshot()
    assert blob == blob_path() and blob.is_file() and blob.is_relative_to(user_cache)
    from_snapshot, used = answers(queries, schemas)
    assert used == blob
    assert from_snapshot == from_script
    assert sum(bool(answer["diagnostics"]) for answer in from_script) > 50  # the comparison has substance


def test_a_snapshot_node_refuses_is_deleted_and_the_worker_starts_from_the_script(user_cache):
    blob = blob_path()
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"not a V8 snapshot" * 100)
    with KqlAnalyser() as analyser:
        assert analyser.worker_snapshot is None
        assert [d.code for d in analyser.analyse("SigninLogs | where NoSuchColumn == 1")] == ["KS142"]
    assert not blob.exists()


def test_a_missing_snapshot_is_built_after_the_run_by_a_detached_process(user_cache):
    blob = blob_path()
    run = ("from packer.kql import KqlAnalyser\n"
           "with KqlAnalyser() as kql:\n"
           "    assert kql.worker_snapshot is None\n"
           "    print(len(kql.analyse('SigninLogs | take 1')))\n")
    done = subprocess.run([sys.executable, "-c", run], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
    deadline = time.monotonic() + 90
    while not blob.is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert blob.is_file(), "no snapshot was built after the run"
    assert not list(blob.parent.glob("*.tmp")) and not list(blob.parent.glob("*.lock"))
    with KqlAnalyser() as analyser:
        assert analyser.worker_snapshot == blob
        assert [d.code for d in analyser.analyse("SigninLogs | where NoSuchColumn == 1")] == ["KS142"]


def test_the_snapshot_file_is_named_by_node_flags_worker_and_package(user_cache, tmp_path, monkeypatch):
    node, modules = find_node(), node_modules_dir()
    base = snapshot_path(node, NODE_FLAGS, WORKER, modules)
    assert base.parent == user_cache / "sentinel-packer" / "kql" / "snapshots"
    assert snapshot_path(node, ("--max-semi-space-size=64",), WORKER, modules) != base  # V8 refuses other flags
    edited = tmp_path / "worker.js"
    edited.write_text(WORKER.read_text() + "\n// edited\n")
    assert snapshot_path(node, NODE_FLAGS, edited, modules) != base
    other = tmp_path / "node_modules" / "@kusto" / "language-service-next"
    other.mkdir(parents=True)
    (other / "package.json").write_text('{"version": "0.0.1"}')
    assert snapshot_path(node, NODE_FLAGS, WORKER, tmp_path / "node_modules") != base
    assert snapshot_path(node, NODE_FLAGS, WORKER, modules) == base
    monkeypatch.setenv(SNAPSHOT_ENV, str(tmp_path / "kept"))
    assert snapshot_path(node, NODE_FLAGS, WORKER, modules) == tmp_path / "kept" / base.name
    monkeypatch.setenv(SNAPSHOT_ENV, "off")
    assert snapshot_path(node, NODE_FLAGS, WORKER, modules) is None
