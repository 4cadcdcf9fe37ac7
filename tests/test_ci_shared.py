"""CI's copy of ../shared (.ci/fetch-shared, .ci/shared-sources.tsv) and the switch that makes
a missing part fail instead of skip (issue 24: on GitHub the conformance tests must run)."""
from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import PROJECT_ROOT, SHARED, shared_path

FETCH = PROJECT_ROOT / ".ci" / "fetch-shared"
MANIFEST = PROJECT_ROOT / ".ci" / "shared-sources.tsv"


def _manifest() -> list[dict[str, str]]:
    lines = [line for line in MANIFEST.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def test_the_manifest_pins_every_file_to_a_full_commit_of_a_public_repository():
    rows = _manifest()
    assert {r["repo"] for r in rows} <= {"Azure/Azure-Sentinel", "Azure/azure-rest-api-specs",
                                         "jischell-msft/RemoteManagementMonitoringTools"}
    assert all(len(r["commit"]) == 40 and len(r["sha256"]) == 64 for r in rows)
    assert len({r["dest"] for r in rows}) == len(rows)


def test_the_manifest_matches_the_shared_folder_byte_for_byte():
    """Every file the tests read from corpus/rules, CustomTables and specs is listed, with the
    sha256 of ../shared's copy (so CI's fetch is the same corpus)."""
    root = shared_path()
    rows = {r["dest"]: r["sha256"] for r in _manifest()}
    listed_parts = [root / "corpus" / "rules" / f for f in ("analytic", "hunting", "invalid")]
    listed_parts += [root / "corpus" / "reference" / "CustomTables", root / "specs" / "specification"]
    present = {p.relative_to(root).as_posix() for part in listed_parts for p in part.rglob("*") if p.is_file()}
    assert present == set(rows)
    for dest, digest in rows.items():
        assert hashlib.sha256((root / dest).read_bytes()).hexdigest() == digest, dest


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_fetch_shared_takes_the_pinned_commit_of_just_the_listed_paths(tmp_path):
    """The documented command against a local stand-in for GitHub: the file at the pinned
    commit (not the newest), names with spaces and brackets, nothing else checked out."""
    upstream = tmp_path / "git" / "Azure" / "Azure-Sentinel.git"
    work = tmp_path / "work"
    work.mkdir()
    _git("init", "-q", "-b", "main", cwd=work)
    odd = work / "Hunting Queries" / "compromised certificates[Lapsus$].yaml"
    odd.parent.mkdir()
    odd.write_bytes(b"id: 1\r\nquery: |\r\n  T\r\n")  # CRLF kept as is
    (work / "other.yaml").write_text("not wanted\n")
    _git("add", "-A", cwd=work)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one", cwd=work)
    pinned = _git("rev-parse", "HEAD", cwd=work)
    odd.write_bytes(b"id: 2\n")
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "two", cwd=work)
    upstream.parent.mkdir(parents=True)
    _git("clone", "-q", "--bare", str(work), str(upstream), cwd=tmp_path)
    for key in ("uploadpack.allowFilter", "uploadpack.allowAnySHA1InWant"):
        _git("config", key, "true", cwd=upstream)
    manifest = tmp_path / "sources.tsv"
    digest = hashlib.sha256(b"id: 1\r\nquery: |\r\n  T\r\n").hexdigest()
    manifest.write_text("dest\trepo\tpath\tcommit\tsha256\n"
                        f"corpus/rules/hunting/odd[1].yaml\tAzure/Azure-Sentinel\t{odd.relative_to(work).as_posix()}"
                        f"\t{pinned}\t{digest}\n")
    env = dict(os.environ, SENTINEL_PACKER_SHARED_MANIFEST=str(manifest),
               SENTINEL_PACKER_GIT_BASE=(tmp_path / "git").as_uri())
    dest = tmp_path / "shared"
    run = subprocess.run([sys.executable, str(FETCH), str(dest)], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (dest / "corpus/rules/hunting/odd[1].yaml").read_bytes() == b"id: 1\r\nquery: |\r\n  T\r\n"
    assert [p.name for p in dest.rglob("*") if p.is_file()] == ["odd[1].yaml"]

    manifest.write_text(manifest.read_text().replace(digest, "0" * 64))
    (dest / "corpus/rules/hunting/odd[1].yaml").unlink()
    wrong = subprocess.run([sys.executable, str(FETCH), str(dest)], env=env, capture_output=True, text=True)
    assert wrong.returncode == 1 and "sha256 differs" in wrong.stderr


def test_a_missing_shared_part_fails_when_required(tmp_path):
    probe = tmp_path / "test_probe.py"
    probe.write_text("from conftest import shared_path\n\ndef test_probe():\n    shared_path('no', 'such')\n")
    (tmp_path / "conftest.py").write_text((PROJECT_ROOT / "tests" / "conftest.py").read_text())
    base = dict(os.environ, SENTINEL_PACKER_SHARED=str(tmp_path / "absent"))
    base.pop("SENTINEL_PACKER_REQUIRE_SHARED", None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", str(probe)]
    skipped = subprocess.run(command, env=base, capture_output=True, text=True, cwd=tmp_path)
    assert skipped.returncode == 0 and "1 skipped" in skipped.stdout
    failed = subprocess.run(command, env=dict(base, SENTINEL_PACKER_REQUIRE_SHARED="1"), capture_output=True,
                            text=True, cwd=tmp_path)
    assert failed.returncode == 1 and "SENTINEL_PACKER_REQUIRE_SHARED" in failed.stdout


def test_both_ci_definitions_fetch_and_require_the_shared_corpus():
    workflow = yaml.safe_load((PROJECT_ROOT / ".github" / "workflows" / "ci.yml").read_text())
    steps = workflow["jobs"]["test"]["steps"]
    assert any(".ci/fetch-shared" in str(step.get("run", "")) for step in steps)
    assert workflow["jobs"]["test"]["env"]["SENTINEL_PACKER_REQUIRE_SHARED"]
    assert workflow["jobs"]["test"]["env"]["SENTINEL_PACKER_REQUIRE_KQL"] == "1"
    run = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert "SENTINEL_PACKER_REQUIRE_SHARED" in run and "SENTINEL_PACKER_REQUIRE_KQL" in run
