"""docs/content-hub.md's worked example, executed: every `$ sentinel-packer` line runs against the
emulator, `$ sed -i "s/A/B/" FILE` lines edit the copied content, the portal line edits the
rule in the emulator, and every other line must appear in the output of the command before it."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from typer.testing import CliRunner

from packer.cli import app
from tests.conftest import CONTENT
from tests.plankit import REPOSITORY, copy_content

DOC = Path(__file__).resolve().parents[1] / "docs" / "content-hub.md"
PORTAL = re.compile(r'^\$ # in the portal: (\w+) of "(.+)" set to (\w+)$')


def _example() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Worked example", 1)[1]
    return section.split("```text\n", 1)[1].split("```", 1)[0].splitlines()


def _sed(line: str, root: Path) -> None:
    _, _, expression, path = shlex.split(line[2:])
    pattern, replacement = expression[2:-1].split("/")[:2]
    target = root.parent / path
    text = target.read_text(encoding="utf-8")
    new, count = re.subn(pattern, replacement, text, count=1, flags=re.M)
    assert count == 1, line
    target.write_text(new, encoding="utf-8")


def _portal_edit(emulator, field: str, rule_name: str, value: str) -> None:
    for body in emulator.store.list():
        if "/alertrules/" in body["id"].lower() and body["properties"].get("displayName") == rule_name:
            body["properties"][field] = value
            emulator.store.put(body["id"], body)
            return
    raise AssertionError(f"no rule named {rule_name}")


def test_the_worked_example_runs_as_documented(emulator, tmp_path):
    root = copy_content(CONTENT, tmp_path)
    ws = emulator.workspace
    target = ["--subscription", ws.subscription, "--resource-group", ws.resource_group, "--workspace", ws.name,
              "--tenant", emulator.tenant_id, "--repository", REPOSITORY, "--base-url", emulator.base_url,
              "--ca-cert", emulator.ca_path, "--emulator-tenant", "target"]
    output, ran = "", 0
    for line in _example():
        if line.startswith("$ sentinel-packer "):
            words = shlex.split(line[len("$ sentinel-packer "):])
            command, rest = words[0], words[2:]  # words[1] is the "..." standing for the target
            args = [command, *target, *rest]
            if command in ("plan", "apply"):
                args += ["--content", str(root)]
            result = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
            assert result.exception is None or isinstance(result.exception, SystemExit), result.output
            output, ran = result.output, ran + 1
        elif line.startswith("$ sed "):
            _sed(line, root)
        elif PORTAL.match(line):
            _portal_edit(emulator, *PORTAL.match(line).groups())
        elif line.strip():
            assert line in output, f"{line!r} not in the output of the command before it:\n{output}"
    assert ran >= 6
