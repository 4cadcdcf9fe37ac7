"""`install PACKAGE.zip --all | --wave | --select`: one package zip across a 3-workspace fleet of
the emulator in 2 waves (canary: ws00, ws01; early: ws02), through the library
(packer.rollout.install) and once through the CLI."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from packer import resource_ids
from packer.auth import CredentialProvider
from packer.cli import app
from packer.package.install import PackageError, read_package
from packer.plan.install_plan import evaluate_install
from packer.plan.model import Action
from packer.rollout.budget import FleetBudgets
from packer.rollout.connection import FleetConnection
from packer.rollout.engine import RolloutOptions
from packer.rollout.install import install_fleet, plan_fleet_install
from packer.rollout.report import WorkspaceStatus
from packer.targets import load_inventory
from tests.fleetkit import emulator_config, fleet_inventory
from tests.test_install import microsoft_zip

OPENVPN = "azuresentinel.azure-sentinel-solution-openvpn"
NAMES = ("ws00", "ws01", "ws02")


@pytest.fixture
def fleet(tmp_path: Path, emulator_factory):
    package = microsoft_zip(tmp_path, "OpenVPN")
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=3, subscriptions=2))
    inventory = load_inventory(tmp_path / "targets.yaml")
    emulator = emulator_factory(emulator_config(inventory))
    connection = FleetConnection(CredentialProvider(inventory, lambda t: emulator.credential(t.tenant_id)),
                                 emulator.base_url, emulator.ca_path, budgets=FleetBudgets(None))
    return package, inventory, emulator, connection


def installed_packages(emulator, inventory, name: str) -> dict[str, dict]:
    """contentPackages in one workspace (the emulator's store), by content id."""
    target = inventory.target(name)
    under = f"{target.workspace_id}/providers/{resource_ids.SENTINEL_PROVIDER}/contentPackages"
    return {body["properties"]["contentId"]: body for body in emulator.store.iter_under(under)}


def writes(emulator, inventory, name: str) -> int:
    return emulator.counters[inventory.target(name).workspace_id]["writes"]


def test_plan_only_writes_nothing_apply_installs_everywhere_and_a_rerun_writes_nothing(fleet) -> None:
    package, inventory, emulator, connection = fleet
    loaded, targets = read_package(package), inventory.select()

    planned = plan_fleet_install(loaded, inventory, targets, connection, commit="c1")
    assert [w.target.name for w in planned.workspaces] == list(NAMES) and not planned.errors
    assert planned.has_changes and emulator.counters.total()["writes"] == 0
    for workspace in planned.workspaces:  # each planned for its own workspace (the inventory's name)
        package_item = next(i for i in workspace.plan.items if i.resource_type == "contentPackages")
        assert package_item.action is Action.CREATE
        assert package_item.resource_id.lower().startswith(workspace.target.workspace_id.lower() + "/")

    report = install_fleet(loaded, inventory, targets, connection, options=RolloutOptions(parallel=2, commit="c1"))
    assert report.ok, report.summary()
    assert [w.name for w in report.waves] == ["canary", "early"]
    version = evaluate_install(loaded, targets[0]).version  # the zip's
    for name in NAMES:
        assert installed_packages(emulator, inventory, name)[OPENVPN]["properties"]["installedVersion"] == version
    created = {r.name: r.created for r in report.results}
    assert created["ws00"] == created["ws02"] > 1  # the package and its templates, in every workspace

    before = emulator.counters.total()["writes"]
    again = install_fleet(loaded, inventory, targets, connection, options=RolloutOptions(commit="c1"))
    assert again.ok and emulator.counters.total()["writes"] == before
    assert {r.writes for r in again.results} == {0}
    assert not plan_fleet_install(loaded, inventory, targets, connection, commit="c1").has_changes


def test_a_failing_canary_with_max_failures_0_stops_the_later_waves(fleet) -> None:
    package, inventory, emulator, connection = fleet
    emulator.faults.script("PUT", r"/workspaces/law-00/", 400, times=1000)
    report = install_fleet(read_package(package), inventory, inventory.select(), connection,
                           options=RolloutOptions(max_failures=0, commit="c1"))

    assert report.stopped_after == "canary" and not report.ok
    by_name = {r.name: r for r in report.results}
    assert by_name["ws00"].status is WorkspaceStatus.FAILED and by_name["ws00"].failed > 0
    assert by_name["ws02"].status is WorkspaceStatus.NOT_STARTED
    assert writes(emulator, inventory, "ws02") == 0 and not installed_packages(emulator, inventory, "ws02")
    assert report.waves[1].started is False and report.waves[0].limit.endswith("(--max-failures)")


def test_a_template_that_cannot_be_evaluated_stops_before_any_request(fleet, tmp_path: Path) -> None:
    package, inventory, emulator, connection = fleet
    with zipfile.ZipFile(package) as archive:
        main = json.loads(archive.read("mainTemplate.json"))
    main["parameters"]["customerCode"] = {"type": "string"}  # no default, not given
    needs = tmp_path / "needs-parameter.zip"
    with zipfile.ZipFile(needs, "w") as archive:
        archive.writestr("mainTemplate.json", json.dumps(main))
    with pytest.raises(PackageError, match="customerCode have no default"):
        install_fleet(read_package(needs), inventory, inventory.select(), connection)
    assert emulator.counters.total()["reads"] == emulator.counters.total()["writes"] == 0


def test_the_cli_plans_installs_and_refuses_a_bad_zip_before_any_request(fleet, tmp_path: Path) -> None:
    package, inventory, emulator, _ = fleet
    common = ["--targets", str(inventory.path), "--base-url", emulator.base_url, "--ca-cert", emulator.ca_path,
              "--emulator-tenant", "target", "--commit", "c1"]
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, ["install", *args, *common], env={"COLUMNS": "200"})

    bad = tmp_path / "bad.zip"
    bad.write_text("not a zip")
    refused = run(str(bad), "--all")
    assert refused.exit_code == 1 and isinstance(refused.exception, PackageError)
    assert emulator.counters.total()["reads"] == 0

    plan_file = tmp_path / "fleet-plan.json"
    planned = run(str(package), "--all", "--plan-only", "--format", "json", "--out", str(plan_file))
    assert planned.exit_code == 2, planned.output
    assert [w["name"] for w in json.loads(planned.stdout)["workspaces"]] == list(NAMES)
    assert json.loads(plan_file.read_text())["has_changes"] is True
    assert emulator.counters.total()["writes"] == 0

    installed = run(str(package), "--wave", "canary", "--report", str(tmp_path / "report.json"))
    assert installed.exit_code == 0, installed.output
    assert "Rollout complete: 2 workspace(s)" in installed.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["statuses"]["succeeded"] == 2
    # writes went through the subscriptions' budgets: one per canary subscription
    canary_subscriptions = {inventory.target(n).subscription_id for n in ("ws00", "ws01")}
    assert set(report["budget"]) == canary_subscriptions and all(b["write"] > 0 for b in report["budget"].values())
    assert installed_packages(emulator, inventory, "ws01") and not installed_packages(emulator, inventory, "ws02")

    canary_only = run(str(package), "--select", "ws0[01]", "--plan-only", "--format", "markdown")
    assert canary_only.exit_code == 0, canary_only.output  # installed: nothing to do
    assert "2 workspace(s), 0 with changes" in canary_only.stdout

    emulator.faults.script("PUT", r"/workspaces/law-02/", 400, times=1000)
    stopped = run(str(package), "--all", "--max-failures", "0", "--format", "json")
    assert stopped.exit_code == 1, stopped.output  # the early wave crossed its threshold
    assert json.loads(stopped.stdout)["stopped_after"] == "early"
