"""The README's quick start, run as written: install, then `sentinel-packer demo` (issue 22)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import packer
from tests.conftest import CONTENT, PROJECT_ROOT
from tests.docblocks import commands, section_blocks

README = PROJECT_ROOT / "README.md"


def quick_start() -> tuple[list[str], list[str]]:
    found = section_blocks(README, "Quick start")
    assert len(found) == 2, "the quick start shows two blocks: install and run, then the test command"
    return commands(found[0]), commands(found[1])


def test_the_quick_start_is_install_then_one_command_then_the_tests():
    install_and_run, tests = quick_start()
    assert len(install_and_run) == 2, install_and_run
    assert "pip install -e '.[test]'" in install_and_run[0]
    assert install_and_run[1].startswith("sentinel-packer ")
    assert tests == ["python -m pytest"]


def content_items() -> int:
    from packer.validate import validate_paths

    content = validate_paths([CONTENT], kql=False).content
    return len(content.analytic_rules) + len(content.hunting_queries) + len(content.parsers) + len(content.workbooks)


def unpackaged_items() -> int:
    from packer.validate import validate_paths

    content = validate_paths([CONTENT], kql=False).content
    return len(content.watchlists) + len(content.automation_rules)


def test_the_quick_start_deploys_replans_detects_drift_and_rolls_out(tmp_path: Path):
    (install, run), _ = quick_start()
    # The install command made the environment this test runs in: an editable install of this checkout.
    assert Path(packer.__file__).resolve().parent.parent == PROJECT_ROOT, "run the tests from the README's install"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", "-c", run], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out, items = done.stdout, content_items()
    # the Content Hub package, a template per item, the items (docs/content-hub.md), the watchlist and automation rule
    items = 1 + 2 * items + unpackaged_items()
    assert f"Plan: {items} to create, 0 to update, 0 to prune; 0 unchanged" in out
    assert f"Apply complete: {items} created" in out
    assert f"Plan: 0 to create, 0 to update, 0 to prune; {items} unchanged" in out
    assert f"Plan: 0 to create, 0 to update, 0 to prune; {items - 1} unchanged; 1 drifted" in out
    assert "properties.severity:" in out
    assert "Rollout complete: 5 workspace(s): 5 succeeded" in out and "Demo complete" in out
    written = tmp_path / "sentinel-packer-out" / "demo"
    for name in ("plan.json", "apply-report.json", "plan-after-portal-edit.json", "fleet-plan.md",
                 "rollout-report.json", "rollout-report.md"):
        assert (written / name).is_file(), name
    assert list((written / "package" / "Package").glob("*.zip"))
