"""`build --check-versions REF`: changed content must carry a higher version (temp git repos)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import CONTENT
from packer.cli import app
from packer.content.load import load_content_unchecked
from packer.errors import PackerError
from packer.package.versions import VersionCheckFailed, bump, check_versions, is_newer

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_SYSTEM": "/dev/null"}


def git(repo: Path, *args: str) -> None:
    import os

    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(CONTENT, tmp_path / "content")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "content")
    git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def first_rule(repo: Path) -> Path:
    return sorted((repo / "content" / "analytic-rules").glob("*.yaml"))[0]


def edit(path: Path, pattern: str, replacement: str) -> None:
    text = path.read_text(encoding="utf-8")
    new = re.sub(pattern, replacement, text, count=1, flags=re.MULTILINE)
    assert new != text
    path.write_text(new, encoding="utf-8")


def check(repo: Path) -> None:
    content = repo / "content"
    check_versions(content, "HEAD", load_content_unchecked(content))


def test_unchanged_content_passes(repo: Path) -> None:
    check(repo)


def test_changed_rule_without_bump_is_named_with_the_version_to_set(repo: Path) -> None:
    rule = first_rule(repo)
    old_version = load_content_unchecked(repo / "content").analytic_rules[0].version
    edit(rule, r"^severity: \w+", "severity: Low")
    with pytest.raises(VersionCheckFailed) as caught:
        check(repo)
    kinds = {(p.kind, p.path.endswith(rule.name)) for p in caught.value.problems}
    assert ("AnalyticsRule", True) in kinds
    assert ("Solution", False) in kinds  # Content Hub also needs a higher solution version
    assert f"set version to {bump(old_version)}" in str(caught.value)


def test_bumped_rule_and_solution_pass(repo: Path) -> None:
    rule = first_rule(repo)
    content = load_content_unchecked(repo / "content")
    edit(rule, r"^severity: \w+", "severity: Low")
    edit(rule, r"^version: .*$", f"version: {bump(content.analytic_rules[0].version)}")
    edit(repo / "content" / "solution.yaml", r"^version: .*$", f"version: {bump(content.solution.version)}")
    check(repo)


def test_a_version_bump_alone_is_fine_and_new_items_need_only_the_solution_bump(repo: Path) -> None:
    content = load_content_unchecked(repo / "content")
    shutil.copy(first_rule(repo), repo / "content" / "analytic-rules" / "zz_new.yaml")
    edit(repo / "content" / "analytic-rules" / "zz_new.yaml", r"^id: .*$", "id: 0d7e3b7c-5f4a-4bb0-9c59-2c1f4d3e9a10")
    edit(repo / "content" / "solution.yaml", r"^version: .*$", f"version: {bump(content.solution.version)}")
    check(repo)


def test_unknown_ref_is_a_clear_error(repo: Path) -> None:
    content = repo / "content"
    with pytest.raises(PackerError, match="'no-such-ref' is not a commit in .*fetch-depth: 0"):
        check_versions(content, "no-such-ref", load_content_unchecked(content))


def test_content_outside_git_is_a_clear_error(tmp_path: Path) -> None:
    shutil.copytree(CONTENT, tmp_path / "content")
    with pytest.raises(PackerError, match="is not in a git repository"):
        check_versions(tmp_path / "content", "HEAD", load_content_unchecked(tmp_path / "content"))


def test_cli_fails_with_the_list(repo: Path, tmp_path: Path) -> None:
    edit(first_rule(repo), r"^severity: \w+", "severity: Low")
    result = CliRunner().invoke(app, ["build", "--content", str(repo / "content"), "--out", str(tmp_path / "out"),
                                      "--no-kql", "--check-versions", "HEAD"])
    assert result.exit_code != 0
    assert isinstance(result.exception, VersionCheckFailed)  # packer.cli.main prints it, exit code 1
    assert "changed since HEAD without a higher version" in str(result.exception)
    assert not (tmp_path / "out").exists()


def test_version_order() -> None:
    assert is_newer("1.0.10", "1.0.9") and is_newer("1.0.1", "1.0")
    assert is_newer("2.0", "1.9.9") and not is_newer("1.0.0", "1.0.0")
    assert bump("1.0.9") == "1.0.10" and bump("1.0") == "1.1"
