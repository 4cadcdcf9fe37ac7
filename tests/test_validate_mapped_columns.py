"""validate reports, offline and at file:line, a mapped column the rule's query does not output:
the same check the emulator (and Sentinel) makes at PUT, case-sensitive."""
from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from conftest import CONTENT
from packer.cli import app

RULE = CONTENT / "analytic-rules" / "rmm_Kaseya_netconn.yaml"


@pytest.fixture
def rule_folder(tmp_path):
    folder = tmp_path / "content" / "analytic-rules"
    folder.mkdir(parents=True)
    return folder


def _line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


@pytest.mark.parametrize("original, changed, section", [
    ("columnName: RemoteIP", "columnName: RemoteIp", "EntityMappings"),     # case differs
    ("FirstSeen: FirstSeen", "FirstSeen: FirstSeenAt", "CustomDetails"),
])
def test_a_mapped_column_the_query_does_not_output_fails_validate_at_its_line(rule_folder, original, changed, section):
    text = RULE.read_text(encoding="utf-8").replace(original, changed)
    path = rule_folder / RULE.name
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(rule_folder.parent)])
    assert result.exit_code != 0, result.output
    column = changed.split(": ")[1]
    expected = f"{path}:{_line_of(text, changed)}:"
    lines = [line for line in result.output.splitlines() if f"The given column '{column}' does not exist" in line]
    assert lines and lines[0].startswith(expected), result.output
    assert f"Error in {section}" in lines[0]


def test_the_untouched_rule_has_no_mapped_column_problem(rule_folder):
    shutil.copy(RULE, rule_folder / RULE.name)
    result = CliRunner().invoke(app, ["validate", str(rule_folder.parent)])
    assert "does not exist" not in result.output
    assert result.exit_code == 0, result.output
