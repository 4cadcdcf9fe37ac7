"""The persistent analysis cache (packer.kql.cache): unchanged queries are not analysed again,
a change invalidates exactly the answers it can affect, and a damaged cache is never trusted."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from packer.kql import cache as cache_module
from packer.kql.analyser import _ENVIRONMENT
from packer.kql.cache import CACHE_ENV, cache_root
from packer.kql.check import queries_of
from packer.validate import validate_paths
from tests.conftest import CONTENT, kql_or_skip, worker_requests


@pytest.fixture
def kql():
    kql_or_skip("the analysis cache")


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "repo" / "content"
    shutil.copytree(CONTENT, root)
    return root


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


def validate(content: Path):
    cache_module._MEMORY.clear()  # a new run: only the folder is shared
    report = validate_paths([content])
    assert not report.errors, report.errors
    return report


def texts(report) -> dict[str, list[str]]:
    """Analysed query texts by file (folder/name)."""
    out: dict[str, list[str]] = {}
    for item in report.content.items:
        out.setdefault(f"{item.source.path.parent.name}/{item.source.path.name}", []).extend(q.analysed_text for q in queries_of(item))
    return out


def stored(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.rglob("*.json"))


def test_a_second_run_reads_every_answer_back(kql, content, cache_dir, monkeypatch):
    first = validate(content)
    sent = worker_requests(monkeypatch)

    second = validate(content)

    assert sent == []
    assert stored(cache_dir)
    assert second.problems == first.problems
    assert second.content.query_facts == first.content.query_facts  # plan and doctor read the same facts
    assert "answered by the analysis cache" in second.kql_status


def test_changing_one_rule_analyses_only_that_query(kql, content, cache_dir, monkeypatch):
    validate(content)
    rule = content / "analytic-rules" / "rmm_Level_netconn.yaml"
    rule.write_text(rule.read_text().replace("| where TimeGenerated", "| where isnotempty(DeviceName)\n  | where TimeGenerated", 1))
    sent = worker_requests(monkeypatch)

    report = validate(content)

    assert sent == texts(report)["analytic-rules/rmm_Level_netconn.yaml"]
    assert "isnotempty(DeviceName)" in sent[0]


def test_an_edited_table_schema_invalidates_the_queries_that_name_its_table_only(kql, content, cache_dir, monkeypatch):
    validate(content)
    schemas = content / "kql-schemas"
    schemas.mkdir()
    (schemas / "DeviceNetworkEvents.json").write_text(json.dumps(
        {"name": "DeviceNetworkEvents", "columns": {"ExtraColumn": "string"}, "open": False}))
    sent = worker_requests(monkeypatch)

    report = validate(content)

    parser_alias = report.content.parsers[0].function_alias.lower()
    reaches = [t for ts in texts(report).values() for t in ts
               if "devicenetworkevents" in t.lower() or parser_alias in t.lower()]
    assert sent and sorted(sent) == sorted(reaches)  # names the table, or calls the parser that reads it
    assert any("DeviceProcessEvents" in t for ts in texts(report).values() for t in ts if t not in sent)


def test_a_damaged_cache_file_is_never_trusted(kql, content, cache_dir, monkeypatch):
    first = validate(content)
    files = stored(cache_dir)
    files[0].write_text("{not json")
    files[1].write_text(files[1].read_text()[:40])  # cut short, as by a run killed mid-write
    entry = json.loads(files[2].read_text())
    entry["answer"]["diagnostics"] = [{"code": "KS999", "message": "planted", "severity": "Error", "start": 0,
                                       "length": 1}]
    files[3].write_text(files[2].read_text().replace(files[2].stem, "0" * 64))  # another key's answer
    files[2].write_text(json.dumps({**entry, "key": "f" * 64}))  # its recorded key is not the file's
    sent = worker_requests(monkeypatch)

    second = validate(content)

    assert len(sent) == 4
    assert second.problems == first.problems
    assert all(json.loads(f.read_text())["key"] == f.stem for f in files)  # rewritten with good answers


def test_a_new_tool_or_kusto_version_starts_afresh_and_drops_the_old_answers(kql, content, cache_dir, monkeypatch):
    validate(content)
    old = {f.parent.parent for f in stored(cache_dir)}
    monkeypatch.setattr("packer.__version__", "999.0.0")
    _ENVIRONMENT.clear()
    sent = worker_requests(monkeypatch)
    try:
        report = validate(content)
    finally:
        _ENVIRONMENT.clear()

    assert sorted(sent) == sorted(t for ts in texts(report).values() for t in ts)
    assert {f.parent.parent for f in stored(cache_dir)}.isdisjoint(old)


def test_deleting_the_cache_or_an_unwritable_folder_only_costs_time(kql, content, cache_dir, tmp_path, monkeypatch):
    first = validate(content)
    shutil.rmtree(cache_dir)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv(CACHE_ENV, str(blocked))

    report = validate(content)

    assert report.problems == first.problems


def test_where_the_cache_lives(tmp_path, monkeypatch):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "content" / "analytic-rules").mkdir(parents=True)
    assert cache_root(repo / "content" / "analytic-rules") == repo / ".sentinel-packer" / "cache"
    assert cache_root(tmp_path) is None  # outside a repository: nothing written unless asked
    monkeypatch.setenv(CACHE_ENV, "off")
    assert cache_root(repo / "content") is None
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "elsewhere"))
    assert cache_root(repo) == tmp_path / "elsewhere"
    gitignore = (Path(__file__).resolve().parent.parent / ".gitignore").read_text().splitlines()
    assert ".sentinel-packer/" in gitignore


def test_a_query_reading_tables_it_does_not_name_depends_on_every_table(kql):
    from packer.kql.analyser import KqlAnalyser
    from packer.kql.schema import TableSchema

    def key(query: str, extra: str) -> str:
        return KqlAnalyser(tables=[TableSchema(extra, {"A": "string"})]).cache_key(query)

    for query in ("union Device* | take 1", "search 'x'", "find where A == 'x'"):
        assert key(query, "Custom_CL") != key(query, "Other_CL")
    assert key("SecurityEvent | take 1", "Custom_CL") == key("SecurityEvent | take 1", "Other_CL")
    assert key("table('Custom_CL') | take 1", "Custom_CL") != key("table('Custom_CL') | take 1", "Other_CL")


def test_one_git_root_for_the_cache_and_ownership_paths(tmp_path, monkeypatch):
    """The analysis cache and the paths ownership marks record find the repository one way
    (packer.content.load.git_root); a worktree's `.git` is a file, and counts."""
    from packer.bodies.resources import repository_path
    from packer.content.load import git_root

    monkeypatch.delenv(CACHE_ENV, raising=False)
    repo = tmp_path / "worktree"
    rules = repo / "content" / "analytic-rules"
    rules.mkdir(parents=True)
    (repo / ".git").write_text("gitdir: /elsewhere/.git/worktrees/x\n", encoding="utf-8")
    assert git_root(rules) == repo and git_root(tmp_path) is None
    assert cache_root(rules) == repo / ".sentinel-packer" / "cache"
    monkeypatch.chdir(tmp_path)
    assert repository_path(rules / "rule.yaml", None) == "content/analytic-rules/rule.yaml"
