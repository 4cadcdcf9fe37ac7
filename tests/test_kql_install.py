"""`sentinel-packer kql install`: the pinned package into the user cache, found there afterwards (issue 15 item 6)."""
from __future__ import annotations

import json
import stat
import pytest

from packer.kql.install import PACKAGE, PINNED_VERSION, InstallFailed, install, user_cache_dir
from tests.conftest import PROJECT_ROOT

# npm's part is npm's: this stand-in records its arguments and lays out node_modules as npm would.
FAKE_NPM = """#!/bin/sh
echo "$@" > npm-args
mkdir -p "node_modules/@kusto/language-service-next"
echo '{"name": "@kusto/language-service-next"}' > "node_modules/@kusto/language-service-next/package.json"
"""


def test_the_pinned_version_is_the_projects():
    pinned = json.loads((PROJECT_ROOT / "package.json").read_text())["dependencies"][PACKAGE]
    assert PINNED_VERSION == pinned


def test_install_goes_to_the_user_cache_and_analysis_finds_it_there(tmp_path, monkeypatch):
    from packer.kql.analyser import NODE_MODULES_ENV, node_modules_dir

    npm = tmp_path / "npm"
    npm.write_text(FAKE_NPM)
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(NODE_MODULES_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # a content repository: no node_modules of its own
    monkeypatch.setattr("packer.kql.analyser.PROJECT_ROOT", tmp_path / "not-a-checkout")
    installed = install(npm=str(npm))
    assert installed == user_cache_dir() / "node_modules" == tmp_path / "cache" / "sentinel-packer" / "kql" / "node_modules"
    manifest = json.loads((installed.parent / "package.json").read_text())
    assert manifest["dependencies"] == {PACKAGE: PINNED_VERSION}
    assert (installed.parent / "npm-args").read_text().startswith("install ")
    assert node_modules_dir() == installed


def test_without_npm_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on it
    with pytest.raises(InstallFailed, match="npm is not installed: install Node.js 20"):
        install(tmp_path)


def test_a_failing_npm_is_one_line_naming_the_folder(tmp_path):
    npm = tmp_path / "npm"
    npm.write_text("#!/bin/sh\necho 'npm ERR! 404 Not Found' >&2\nexit 1\n")
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(InstallFailed, match=r"failed: npm ERR! 404 Not Found"):
        install(tmp_path / "dest", npm=str(npm))
