"""Wave semantics as CI sees them: a wave within its failure threshold passes (exit 0, warnings
naming the failed workspaces) and the next wave runs; a wave over it stops the rollout (exit 1).
Shards of a job matrix judge against the WHOLE wave's threshold, and `targets gate` sums them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from packer.cli import app
from packer.targets import load_inventory
from tests.fleetkit import emulator_config, fleet_inventory, write_content


def run(args: list[str]):
    return CliRunner().invoke(app, args, catch_exceptions=False)


def _fleet(tmp_path: Path, emulator_factory, absent: set[str]):
    """10 workspaces (canary ws00-01, early ws02-07 with maxFailures 1, broad ws08-09); the
    workspaces named in `absent` do not exist in the emulator, so rolling them out fails."""
    write_content(tmp_path / "content")
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=10, subscriptions=2))
    inventory = load_inventory(tmp_path / "targets.yaml")
    config = emulator_config(inventory)
    missing = {inventory.entry(name).target.workspace for name in absent}
    config["workspaces"] = [w for w in config["workspaces"] if w["name"] not in missing]
    emulator = emulator_factory(config)
    return ["--targets", str(tmp_path / "targets.yaml"), "--content", str(tmp_path / "content"),
            "--base-url", emulator.base_url, "--ca-cert", emulator.ca_path, "--emulator-tenant", "target",
            "--commit", "c1"]


def test_one_failure_within_max_failures_1_passes_and_the_next_wave_runs(tmp_path, emulator_factory):
    common = _fleet(tmp_path, emulator_factory, {"ws02"})
    report = tmp_path / "report.json"
    rolled = run(["rollout", "--report-json", str(report), *common])
    assert rolled.exit_code == 0, rolled.output
    assert "warning: workspace ws02 (failed) is within wave 'early''s failure threshold" in rolled.stdout
    statuses = {r["name"]: r["status"] for r in json.loads(report.read_text())["results"]}
    assert statuses["ws02"] == "failed"
    assert statuses["ws08"] == statuses["ws09"] == "succeeded"  # broad ran


def test_two_failures_over_max_failures_1_stop_before_the_next_wave(tmp_path, emulator_factory):
    common = _fleet(tmp_path, emulator_factory, {"ws02", "ws04"})
    report = tmp_path / "report.json"
    rolled = run(["rollout", "--report-json", str(report), *common])
    assert rolled.exit_code == 1, rolled.output
    statuses = {r["name"]: r["status"] for r in json.loads(report.read_text())["results"]}
    assert statuses["ws08"] == statuses["ws09"] == "not started"


@pytest.mark.parametrize("absent, passed", [({"ws02"}, True), ({"ws02", "ws04"}, False)])
def test_shards_each_pass_and_the_gate_sums_them(tmp_path, emulator_factory, absent, passed):
    """Each shard has at most one failure, so each passes alone; the gate decides for the wave."""
    common = _fleet(tmp_path, emulator_factory, absent)
    reports = []
    for shard, select in enumerate(("ws02,ws03,ws06", "ws04,ws05,ws07")):
        report = tmp_path / f"shard{shard}.json"
        rolled = run(["rollout", "--wave", "early", "--select", select, "--report-json", str(report), *common])
        assert rolled.exit_code == 0, rolled.output
        reports.append(str(report))
    gated = run(["targets", "gate", "--targets", str(tmp_path / "targets.yaml"), "--wave", "early", *reports])
    assert gated.exit_code == (0 if passed else 1), gated.output
    assert ("passed" if passed else "FAILED") in gated.stdout
    assert "failed: " + ", ".join(sorted(absent)) in gated.stdout


def test_the_gate_fails_a_wave_whose_reports_miss_a_workspace(tmp_path, emulator_factory):
    common = _fleet(tmp_path, emulator_factory, set())
    report = tmp_path / "shard0.json"
    assert run(["rollout", "--wave", "early", "--select", "ws02,ws03", "--report-json", str(report), *common]).exit_code == 0
    gated = run(["targets", "gate", "--targets", str(tmp_path / "targets.yaml"), "--wave", "early", str(report)])
    assert gated.exit_code == 1
    assert "the reports account for 2 of the wave's 6 workspaces" in gated.stdout
