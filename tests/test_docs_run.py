"""Executed docs (issue 15): the blocks of README.md, docs/fleet.md and docs/coverage.md marked
`<!-- runnable -->` run as written, in a shell, against a fresh emulator, pasting the `export` lines the emulator
prints; their exit codes and the output lines they show must still be what the commands do.
Piped at COLUMNS=80, as in a CI log: tables must still show whole names."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CONTENT, PROJECT_ROOT
from tests.docblocks import blocks, missing_lines, steps

DOCUMENTS = ("README.md", "docs/fleet.md", "docs/coverage.md")


def runnable(document: str):
    return [b for b in blocks(PROJECT_ROOT / document) if b.runnable]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_documents_have_runnable_blocks(document):
    assert runnable(document), f"{document} marks no block runnable"


@pytest.mark.parametrize("document", DOCUMENTS)
def test_runnable_blocks_run_as_documented(document, tmp_path: Path):
    from packer.emulator import Emulator, EmulatorConfig
    from packer.emulator.run import export_lines

    found = runnable(document)
    configs = {b.emulator_config for b in found}
    assert len(configs) == 1, f"{document}: one emulator per document, its blocks name {configs}"
    config = configs.pop()
    shutil.copytree(CONTENT, tmp_path / "content")  # the walkthrough may delete files of its copy
    (tmp_path / "examples").symlink_to(PROJECT_ROOT / "examples")
    env = {**os.environ, "COLUMNS": "80", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for name in [n for n in env if n.startswith("SENTINEL_PACKER_")] + ["GITHUB_REPOSITORY"]:
        env.pop(name, None)
    emulator_config = EmulatorConfig.load(PROJECT_ROOT / config) if config else EmulatorConfig.from_dict({})
    with Emulator(emulator_config) as emu:
        pasted = "\n".join(export_lines(emu))  # what a user pastes from the emulator's output
        for block in found:
            for step in steps(block):
                done = subprocess.run(["bash", "-c", f"{pasted}\n{step.command}"], cwd=tmp_path, env=env,
                                      capture_output=True, text=True, timeout=120)
                where = f"{document}:{block.line}: $ {step.command}"
                assert done.returncode == step.exit_code, f"{where}\nexit {done.returncode}\n{done.stdout}{done.stderr}"
                missing = missing_lines(step.expected, done.stdout)
                assert not missing, f"{where}\nnot in the output: {missing}\n{done.stdout}{done.stderr}"


def test_the_matcher_ignores_column_widths_and_honours_ellipses():
    out = "│ + │ create │ Parser        │ Parser for RMM tool activity   │ from content/p.yaml │\n"
    assert missing_lines(("│ + │ create │ Parser │ Parser for RMM ... │ from content/p.yaml │",), out) == []
    assert missing_lines(("│ + │ update │ Parser │",), out) == ["│ + │ update │ Parser │"]
