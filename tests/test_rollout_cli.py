"""The fleet commands end to end: `plan --all`, `rollout`, `doctor`, through the CLI and the emulator."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from packer.cli import app
from packer.errors import ConfigError
from packer.targets import load_inventory
from tests.fleetkit import emulator_config, fleet_inventory, write_content


@pytest.fixture
def fleet_cli(tmp_path: Path, emulator_factory):
    write_content(tmp_path / "content")
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=6, subscriptions=2))
    inventory = load_inventory(tmp_path / "targets.yaml")
    emulator = emulator_factory(emulator_config(inventory))
    common = ["--targets", str(tmp_path / "targets.yaml"), "--content", str(tmp_path / "content"),
              "--base-url", emulator.base_url, "--ca-cert", emulator.ca_path, "--emulator-tenant", "target"]
    return tmp_path, emulator, common


def run(args: list[str]):
    return CliRunner().invoke(app, args, catch_exceptions=False)


def test_plan_rollout_replan_through_the_cli(fleet_cli) -> None:
    tmp_path, emulator, common = fleet_cli
    planned = run(["plan", "--all", "--format", "markdown", "--commit", "c1", *common])
    assert planned.exit_code == 2, planned.output  # changes
    assert "### sentinel-packer fleet plan" in planned.stdout and "<details" in planned.stdout
    assert "6 workspace(s), 6 with changes" in planned.stdout

    report_json, report_md = tmp_path / "out" / "report.json", tmp_path / "out" / "report.md"
    rolled = run(["rollout", "--parallel", "3", "--commit", "c1", "--report-json", str(report_json),
                  "--report-md", str(report_md), *common])
    assert rolled.exit_code == 0, rolled.output
    assert "Rollout complete" in rolled.stdout
    # progress lines: the package, 4 templates, 4 items
    assert "succeeded ws00: 9 created, 0 updated, 0 pruned, 0 skipped, 0 failed" in rolled.stdout
    report = json.loads(report_json.read_text())
    assert report["ok"] and report["statuses"]["succeeded"] == 6 and report["totals"]["created"] > 0
    assert "| canary | `ws00` |" in report_md.read_text()

    replanned = run(["plan", "--wave", "early", "--format", "json", "--commit", "c1", *common])
    assert replanned.exit_code == 0, replanned.output
    assert json.loads(replanned.stdout)["has_changes"] is False

    writes = emulator.counters.total()["writes"]
    again = run(["rollout", "--select", "ws0[45]", "--commit", "c1", *common])
    assert again.exit_code == 0 and emulator.counters.total()["writes"] == writes


def test_an_emulator_tenant_id_gives_only_that_tenants_tokens_and_is_refused(fleet_cli) -> None:
    from tests.fleetkit import CUSTOMER_TENANT

    tmp_path, emulator, common = fleet_cli
    pinned = [a if a != "target" else CUSTOMER_TENANT for a in common]
    rolled = run(["rollout", "--wave", "canary", "--commit", "c1", *pinned])
    assert rolled.exit_code == 1
    assert "refused ws00" in rolled.stdout and "issued by tenant " + CUSTOMER_TENANT in rolled.stdout
    assert emulator.counters.total()["reads"] == emulator.counters.total()["writes"] == 0


def test_doctor_exit_code_and_fix_hints(fleet_cli) -> None:
    tmp_path, emulator, common = fleet_cli
    ok = run(["doctor", "--target", "ws01", *common])
    assert ok.exit_code == 0, ok.output
    assert "Sentinel onboarded" in ok.stdout and "1 of 1 workspace(s) ready" in ok.stdout
    with pytest.raises(ConfigError, match="exactly one of --target NAME, --all"):
        run(["doctor", "--all", "--target", "ws01", *common])


def test_an_item_disabled_by_an_overlay_is_pruned_as_disabled_not_as_gone(fleet_cli) -> None:
    import re

    from tests.fleetkit import NRT_RULE_ID

    tmp_path, emulator, common = fleet_cli
    inventory = tmp_path / "targets.yaml"
    with_overlay = inventory.read_text()
    inventory.write_text(with_overlay.replace(f"        - id: {NRT_RULE_ID}\n", "        - name: 'no such rule'\n")
                         .replace("      disable:\n        - name: 'no such rule'\n", ""))
    assert run(["rollout", "--select", "ws04", "--commit", "c1", *common]).exit_code == 0
    inventory.write_text(with_overlay)  # now the overlay disables the NRT rule in ws04
    planned = run(["plan", "--select", "ws04", "--format", "json", "--commit", "c1", *common])
    items = json.loads(planned.stdout)["workspaces"][0]["plan"]["items"]
    pruned = [i for i in items if i["action"] == "prune"]
    assert [i["name"] for i in pruned] == ["PsExec started"]
    assert re.match("disabled for this workspace by an overlay in targets.yaml", pruned[0]["reason"])
