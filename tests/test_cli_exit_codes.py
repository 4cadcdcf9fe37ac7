"""Exit codes (issue 14, finding 8; README "Exit codes"): 0 ok / no changes, 2 changes (plan
only), 1 any error, usage errors included, for every command."""
from __future__ import annotations

import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from packer.cli import app


def _commands(group, path=()):
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from _commands(command, path + (name,))
        else:
            yield path + (name,)


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_every_command_is_checked():
    assert {("validate",), ("build",), ("plan",), ("apply",)} <= set(COMMANDS) and len(COMMANDS) > 6


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unknown_option_exits_1_for_every_command(command):
    result = CliRunner().invoke(app, [*command, "--no-such-option"])
    assert result.exit_code == 1, result.output
    assert "No such option" in result.output


@pytest.mark.parametrize("args", [["plan", "--target"], ["validate", "--format"], ["no-such-command"],
                                  ["emulator", "--port", "not-a-number"]])
def test_missing_values_bad_values_and_unknown_commands_exit_1(args):
    assert CliRunner().invoke(app, args).exit_code == 1


def test_the_installed_entry_point_exits_1_on_a_typo():
    result = subprocess.run([sys.executable, "-c", "from packer.cli import main; main()", "plan", "--dry-runn"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "No such option" in result.stderr


def test_help_still_exits_0():
    assert CliRunner().invoke(app, ["plan", "--help"]).exit_code == 0
