"""`--format json` on every command that reports (issue 15 item 11): stdout is one JSON document."""
from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from packer.cli import app
from packer.targets import load_inventory
from tests.conftest import CONTENT
from tests.fleetkit import emulator_config, fleet_inventory, write_content


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_fleet_commands_print_json(tmp_path: Path, emulator_factory):
    write_content(tmp_path / "content")
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=3, subscriptions=1))
    emulator = emulator_factory(emulator_config(load_inventory(tmp_path / "targets.yaml")))
    common = ["--targets", str(tmp_path / "targets.yaml"), "--content", str(tmp_path / "content"),
              "--base-url", emulator.base_url, "--ca-cert", emulator.ca_path, "--emulator-tenant", "target"]

    listed = run("targets", "list", "--targets", str(tmp_path / "targets.yaml"), "--format", "json")
    assert listed.exit_code == 0
    assert [row["workspace"] for row in json.loads(listed.stdout)] == ["ws00", "ws01", "ws02"]

    rolled = run("rollout", "--commit", "c1", "--format", "json", *common)
    assert rolled.exit_code == 0, rolled.output
    report = json.loads(rolled.stdout)
    assert report["ok"] and report["statuses"]["succeeded"] == 3

    doctored = run("doctor", "--wave", "canary", "--format", "json", *common)
    assert doctored.exit_code == 0, doctored.output
    health = json.loads(doctored.stdout)
    assert health["ready"] == 2 and [w["workspace"] for w in health["workspaces"]] == ["ws00", "ws01"]
    assert {c["name"] for c in health["workspaces"][0]["checks"]} >= {"workspace", "Sentinel onboarded"}


def test_apply_and_build_print_json(tmp_path: Path, emulator):
    ws = emulator.workspace
    flags = ["--subscription", ws.subscription, "--resource-group", ws.resource_group, "--workspace", ws.name,
             "--tenant", emulator.tenant_id, "--repository", "o/r", "--base-url", emulator.base_url,
             "--ca-cert", emulator.ca_path, "--emulator-tenant", "target", "--content", str(CONTENT),
             "--commit", "c1"]
    applied = run("apply", *flags, "--format", "json")
    assert applied.exit_code == 0, applied.output
    report = json.loads(applied.stdout)
    assert report["counts"]["created"] > 0 and not report["counts"].get("failed")

    built = run("build", "--content", str(CONTENT), "--out", str(tmp_path / "dist"), "--format", "json", "--no-kql")
    assert built.exit_code == 0, built.output
    result = json.loads(built.stdout)
    assert any(f.endswith(".zip") for f in result["files"]) and result["out"] == str(tmp_path / "dist")
