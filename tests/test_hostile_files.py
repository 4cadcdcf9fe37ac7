"""Hostile repositories (issue 14, findings 2-6): content is read only from regular files inside
the content root. Each case runs the real CLI in a child process with a time limit and a memory
cap, so a hang or a whole-device read fails the test instead of the test run."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CONTENT
from tests.plankit import copy_content

MARKER = "outside-secret-7f3a"
LIMIT_S = 60  # a hang is the failure being tested: far above the ~1 s a refusal takes
MEMORY_CAP = 1 << 30


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([sys.executable, "-c", "from packer.cli import main; main()", *args], cwd=cwd,
                              capture_output=True, text=True, timeout=LIMIT_S, preexec_fn=_capped)
    except subprocess.TimeoutExpired:
        pytest.fail(f"sentinel-packer {' '.join(args)} did not finish in {LIMIT_S} s")


@pytest.fixture
def repo(tmp_path) -> Path:
    return copy_content(CONTENT, tmp_path).parent


def _assert_refused(result: subprocess.CompletedProcess, where: str, why: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Error:" not in result.stderr.replace("error:", ""), result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if where in line and ": error:" in line]
    assert lines and any(why in line for line in lines), result.stdout + result.stderr


def _all_checks(repo: Path, where: str, why: str) -> None:
    _assert_refused(cli(repo, "validate", "--no-kql", "content"), where, why)
    sarif = cli(repo, "validate", "--no-kql", "--format", "sarif", "content")
    assert sarif.returncode == 1 and "Traceback" not in sarif.stderr
    assert any(why in r["message"]["text"] for r in json.loads(sarif.stdout)["runs"][0]["results"])
    built = cli(repo, "build", "--no-kql", "--content", "content", "--out", "dist")
    assert built.returncode == 1 and "Traceback" not in built.stderr, built.stderr
    assert not (repo / "dist").exists()


def test_a_workbook_json_linked_outside_the_content_root_is_refused_not_packaged(repo):
    secret = repo / "runner-secret.json"
    secret.write_text(json.dumps({"version": "Notebook/1.0", "items": [{"type": 1, "content": MARKER}]}))
    workbook = repo / "content" / "workbooks" / "RMMToolActivity.json"
    workbook.unlink()
    workbook.symlink_to(secret)

    _all_checks(repo, "workbooks/RMMToolActivity.json", "outside the content folder")


def test_a_template_path_climbing_out_of_the_content_root_is_refused(repo):
    (repo / "runner-secret.json").write_text(json.dumps({"items": [{"type": 1, "content": MARKER}]}))
    metadata = repo / "content" / "workbooks" / "RMMToolActivity.yaml"
    text = metadata.read_text()
    metadata.write_text(text.replace("templateRelativePath: RMMToolActivity.json",
                                     "templateRelativePath: ../../runner-secret.json"))

    _all_checks(repo, "runner-secret.json", "outside the content folder")


@pytest.mark.parametrize("target", ["/etc/passwd", "/proc/self/mem"])
def test_a_rule_linked_to_a_system_file_is_refused(repo, target):
    if not Path(target).exists():
        pytest.skip(f"{target} does not exist here")
    (repo / "content" / "analytic-rules" / "x.yaml").symlink_to(target)
    _all_checks(repo, "analytic-rules/x.yaml", "outside the content folder")


def test_a_link_inside_the_content_root_is_followed(repo):
    rules = repo / "content" / "analytic-rules"
    (repo / "content" / "shared").mkdir()
    (rules / "rmm_Level_netconn.yaml").rename(repo / "content" / "shared" / "level.yaml")
    (rules / "rmm_Level_netconn.yaml").symlink_to(Path("..") / "shared" / "level.yaml")
    result = cli(repo, "validate", "--no-kql", "content")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_fifo_named_like_yaml_is_refused_without_opening_it(repo):
    os.mkfifo(repo / "content" / "analytic-rules" / "x.yaml")
    _all_checks(repo, "analytic-rules/x.yaml", "not a regular file (a FIFO)")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_link_to_a_device_is_refused_not_read_whole(repo, device):
    (repo / "content" / "analytic-rules" / "x.yaml").symlink_to(device)
    workbook = repo / "content" / "workbooks" / "RMMToolActivity.json"
    workbook.unlink()
    workbook.symlink_to(device)
    # outside the root and a device: either reason is a refusal, as long as nothing is read
    result = cli(repo, "validate", "--no-kql", "content")
    assert result.returncode == 1 and "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    assert "analytic-rules/x.yaml:1:1: error:" in result.stdout
    assert "workbooks/RMMToolActivity.json:1:1: error:" in result.stdout
    built = cli(repo, "build", "--no-kql", "--content", "content", "--out", "dist")
    assert built.returncode == 1 and "Traceback" not in built.stderr, built.stderr


def test_a_huge_file_is_refused_by_its_size_before_reading(repo):
    huge = repo / "content" / "analytic-rules" / "huge.yaml"
    with huge.open("wb") as handle:
        handle.truncate(4 << 30)  # sparse: 4 GB that the memory cap could never hold
    workbook = repo / "content" / "workbooks" / "RMMToolActivity.json"
    with workbook.open("ab") as handle:
        handle.truncate(4 << 30)
    result = cli(repo, "validate", "--no-kql", "content")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "analytic-rules/huge.yaml:1:1: error:" in result.stdout and "limited to" in result.stdout
    assert "workbooks/RMMToolActivity.json:1:1: error:" in result.stdout


def test_a_symlink_loop_is_reported_not_a_traceback(repo):
    loop = repo / "content" / "analytic-rules" / "loop.yaml"
    loop.symlink_to(loop.name)
    _all_checks(repo, "analytic-rules/loop.yaml", "symlink loop")


def test_a_lone_surrogate_in_workbook_json_is_a_validation_error_naming_the_file(repo):
    workbook = repo / "content" / "workbooks" / "RMMToolActivity.json"
    data = json.loads(workbook.read_text(encoding="utf-8"))
    data["items"].append({"type": 1, "content": {"json": "broken \ud800 text"}})
    workbook.write_text(json.dumps(data), encoding="utf-8")  # ASCII JSON holding the escape \\ud800
    assert "\\ud800" in workbook.read_text()

    _all_checks(repo, "workbooks/RMMToolActivity.json", "not valid Unicode")
