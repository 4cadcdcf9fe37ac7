"""`sentinel-packer kql install`: Microsoft's Kusto.Language npm package, pinned, in a user cache
folder that KQL analysis finds by itself afterwards (packer.kql.analyser.node_modules_dir).

For pip-installed users, whose content repository has no package.json (so `npm ci` cannot
work there). A clone of sentinel-packer can still run `npm ci` at its root.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from packer.errors import PackerError

PACKAGE = "@kusto/language-service-next"
NODE_MODULES_ENV = "SENTINEL_PACKER_NODE_MODULES"  # a node_modules folder holding PACKAGE, found before all others
PINNED_VERSION = "12.4.1"  # the version in the project's package.json (a test keeps them equal)


class InstallFailed(PackerError):
    """npm is missing or failed; the message says what to do."""


def user_cache_dir() -> Path:
    """$XDG_CACHE_HOME/sentinel-packer/kql (~/.cache/... when unset; %LOCALAPPDATA% on Windows)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.environ.get("LOCALAPPDATA") or str(Path.home() / ".cache")
    return Path(base) / "sentinel-packer" / "kql"


def install(dest: Path | None = None, npm: str | None = None) -> Path:
    """Install the pinned package under `dest` (default: the user cache folder); returns the
    node_modules folder to use (found automatically, or given as $SENTINEL_PACKER_NODE_MODULES)."""
    dest = Path(dest or user_cache_dir())
    npm = npm or shutil.which("npm")
    if npm is None:
        raise InstallFailed("npm is not installed: install Node.js 20+ (it brings npm), then run this again")
    dest.mkdir(parents=True, exist_ok=True)
    manifest = {"name": "sentinel-packer-kql-cache", "private": True, "dependencies": {PACKAGE: PINNED_VERSION}}
    (dest / "package.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    command = [npm, "install", "--no-audit", "--no-fund", "--omit=dev", "--save-exact"]
    try:
        done = subprocess.run(command, cwd=dest, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as exc:
        raise InstallFailed(f"cannot run npm in {dest}: {exc}") from None
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise InstallFailed(f"npm install of {PACKAGE}@{PINNED_VERSION} in {dest} failed: {last[0]}")
    installed = dest / "node_modules"
    if not (installed / PACKAGE / "package.json").is_file():
        raise InstallFailed(f"npm finished but {installed / PACKAGE} is missing")
    return installed
