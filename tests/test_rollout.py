"""rollout against the emulator: 2 tenants (one through Lighthouse), 20 workspaces, 3 waves."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from packer import resource_ids
from packer.auth import CredentialProvider
from packer.bodies.resources import content_id_of
from packer.content.load import load_content_unchecked
from packer.errors import ConfigError
from packer.remote.client import WorkspaceClient
from packer.rollout.budget import FleetBudgets
from packer.rollout.connection import FleetConnection
from packer.rollout.engine import RolloutOptions, rollout
from packer.rollout.fleet_plan import plan_fleet
from packer.views.rollout import rollout_report_markdown
from packer.rollout.report import WorkspaceStatus
from packer.targets import load_inventory
from tests.fleetkit import (
    CUSTOMER_TENANT,
    KASEYA_RULE_ID,
    NRT_RULE_ID,
    SIGNIN_RULE_ID,
    emulator_config,
    fleet_inventory,
    write_content,
)


@pytest.fixture
def fleet(tmp_path: Path, emulator_factory):
    content = load_content_unchecked(write_content(tmp_path / "content"))
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=20, subscriptions=4))
    inventory = load_inventory(tmp_path / "targets.yaml")
    emulator = emulator_factory(emulator_config(inventory, missing_tables={"ws05": ["DeviceProcessEvents"]}))
    return content, inventory, emulator


def connect(emulator, inventory, factory=None) -> FleetConnection:
    factory = factory or (lambda tenant: emulator.credential(tenant.tenant_id))
    return FleetConnection(CredentialProvider(inventory, factory), emulator.base_url, emulator.ca_path,
                           budgets=FleetBudgets(None))


def rules_of(emulator, inventory, name: str) -> dict[str, dict]:
    """Alert rules in a workspace, by rule id (read with the managing tenant's token)."""
    target = inventory.target(name)
    credential = emulator.credential(inventory.tenant_of(target).token_tenant_id)
    with WorkspaceClient(target, credential, emulator.base_url, emulator.ca_path) as client:
        return {r["name"]: r for r in client.list_in(resource_ids.ALERT_RULES)}


def test_fleet_rollout_applies_overlays_then_converges(fleet) -> None:
    content, inventory, emulator = fleet
    targets = inventory.select()
    report = rollout(content, inventory, targets, connect(emulator, inventory), RolloutOptions(parallel=6, commit="c1"))

    assert report.ok, report.summary()
    assert [w.name for w in report.waves] == ["canary", "early", "broad"]
    by_name = {r.name: r for r in report.results}
    # the package, a template per item, the items (docs/content-hub.md)
    assert by_name["ws00"].created == 1 + 4 + 4 and by_name["ws00"].failed == 0
    assert by_name["ws04"].created == 1 + 4 + 3  # the NRT rule is disabled there: not its template
    assert by_name["ws05"].skipped == 1 and "DeviceProcessEvents" in by_name["ws05"].skipped_items[0].message
    assert emulator.counters.total()["writes"] == report.totals()["writes"] > 0

    plain = rules_of(emulator, inventory, "ws00")
    assert plain[SIGNIN_RULE_ID]["properties"]["severity"] == "Medium"
    assert "let KnownHosts = dynamic([]); // @param" in plain[KASEYA_RULE_ID]["properties"]["query"]
    assert "kaseya-mgmt01" not in plain[KASEYA_RULE_ID]["properties"]["query"]
    lighthouse = rules_of(emulator, inventory, "ws01")  # fabrikam, through the MSSP's token
    assert lighthouse[SIGNIN_RULE_ID]["properties"]["severity"] == "High"
    kaseya = rules_of(emulator, inventory, "ws03")[KASEYA_RULE_ID]["properties"]["query"]
    assert 'dynamic(["jump01", "jump02"])' in kaseya and 'not(DeviceName in~ ("kaseya-mgmt01"))' in kaseya
    ws04 = rules_of(emulator, inventory, "ws04")
    assert NRT_RULE_ID not in ws04
    assert ws04[SIGNIN_RULE_ID]["properties"]["enabled"] is False
    assert ws04[SIGNIN_RULE_ID]["properties"]["queryFrequency"] == "PT2H"
    ws05 = rules_of(emulator, inventory, "ws05")
    assert SIGNIN_RULE_ID in ws05 and NRT_RULE_ID not in ws05  # the blocked rule only is left out

    writes_before = emulator.counters.total()["writes"]
    again = rollout(content, inventory, targets, connect(emulator, inventory), RolloutOptions(parallel=6, commit="c1"))
    assert again.ok and again.totals()["writes"] == 0
    assert emulator.counters.total()["writes"] == writes_before  # the second run made zero writes
    assert all(r.created == r.updated == 0 for r in again.results)

    fleet_plan = plan_fleet(content, inventory, targets, connect(emulator, inventory), commit="c1")
    assert not fleet_plan.has_changes and not fleet_plan.errors
    left = {(key, ws): a for key, row in fleet_plan.matrix().items() for ws, a in row.items() if a != "unchanged"}
    assert left == {(f"AnalyticsRule/{NRT_RULE_ID}", "ws05"): "blocked"}  # reported, never written


def test_wrong_tenant_token_is_refused_before_any_request(fleet) -> None:
    content, inventory, emulator = fleet
    canary = inventory.select(wave="canary")  # ws00 (mssp), ws01 (fabrikam via Lighthouse)

    class CustomerToken:
        """Always the customer's token, whatever tenant is asked for (a mis-set AZURE_TENANT_ID)."""

        def get_token(self, *scopes, **kwargs):
            return emulator.credential(CUSTOMER_TENANT).get_token(*scopes)

    wrong = connect(emulator, inventory, lambda tenant: CustomerToken())
    report = rollout(content, inventory, canary, wrong, RolloutOptions(max_failures=2))  # let both try
    assert {r.status for r in report.results} == {WorkspaceStatus.REFUSED}
    assert "issued by tenant " + CUSTOMER_TENANT in report.results[0].error
    assert emulator.counters.total() == {"reads": 0, "writes": 0, "deletes": 0, "throttled": 0, "errors": 0}
    report = rollout(content, inventory, canary, wrong)  # canary tolerates no failure
    assert emulator.counters.total() == {"reads": 0, "writes": 0, "deletes": 0, "throttled": 0, "errors": 0}
    assert report.stopped_after == "canary"


def test_wave_over_its_threshold_stops_the_rollout_and_a_rerun_finishes(fleet) -> None:
    content, inventory, emulator = fleet
    targets = inventory.select()
    # two of the six 'early' workspaces (threshold: 1 failure) reject every write
    emulator.faults.script("PUT", r"/workspaces/law-0[23]/", 400, times=1000)
    report = rollout(content, inventory, targets, connect(emulator, inventory), RolloutOptions(parallel=4))

    assert report.stopped_after == "early" and not report.ok
    waves = {w.name: w for w in report.waves}
    assert (waves["canary"].failed, waves["canary"].exceeded) == (0, False)
    assert (waves["early"].failed, waves["early"].allowed_failures, waves["early"].exceeded) == (2, 1, True)
    assert waves["broad"].started is False
    by_name = {r.name: r for r in report.results}
    assert {by_name["ws02"].status, by_name["ws03"].status} == {WorkspaceStatus.FAILED}
    assert by_name["ws02"].failures and by_name["ws02"].failed == len(by_name["ws02"].failures)
    assert all(by_name[f"ws{i:02d}"].status is WorkspaceStatus.NOT_STARTED for i in range(8, 20))
    broad_ids = [inventory.target(f"ws{i:02d}").workspace_id for i in range(8, 20)]
    assert all(emulator.counters[ws]["writes"] == 0 for ws in broad_ids)  # never touched
    assert "Stopped after wave 'early'" in report.summary()
    markdown = rollout_report_markdown(report)
    assert "**stopped the rollout**" in markdown and "not started" in markdown and "ws02" in markdown

    emulator.faults.clear()
    canary_writes = emulator.counters[inventory.target("ws00").workspace_id]["writes"]
    rerun = rollout(content, inventory, targets, connect(emulator, inventory), RolloutOptions(parallel=4))
    assert rerun.ok, rerun.summary()
    rerun_by_name = {r.name: r for r in rerun.results}
    assert rerun_by_name["ws00"].writes == 0  # already applied: skipped via the plan
    assert emulator.counters[inventory.target("ws00").workspace_id]["writes"] == canary_writes
    assert rerun_by_name["ws02"].created == 9 and rerun_by_name["ws19"].created == 9  # package, 4 templates, 4 items


def test_max_failures_overrides_the_wave_thresholds(fleet) -> None:
    content, inventory, emulator = fleet
    emulator.faults.script("PUT", r"/workspaces/law-00/", 400, times=1000)
    canary_and_early = inventory.select(glob="ws0[0-7]")
    report = rollout(content, inventory, canary_and_early, connect(emulator, inventory), RolloutOptions(max_failures=1))
    assert report.stopped_after is None and [w.exceeded for w in report.waves] == [False, False]
    assert report.waves[0].limit.endswith("(--max-failures)")
    assert not report.ok  # a failure is still a failure


def test_prune_removes_only_with_the_flag_and_is_reported(fleet) -> None:
    content, inventory, emulator = fleet
    canary = inventory.select(wave="canary")
    assert rollout(content, inventory, canary, connect(emulator, inventory)).ok
    smaller = dataclasses.replace(content, hunting_queries=())

    kept = rollout(smaller, inventory, canary, connect(emulator, inventory))
    # the hunting query's template leaves the package (one delete per workspace); the query stays
    assert kept.ok and kept.totals()["pruned"] == 0 and emulator.counters.total()["deletes"] == 2

    pruned = rollout(smaller, inventory, canary, connect(emulator, inventory), RolloutOptions(prune=True))
    assert pruned.ok and [r.pruned for r in pruned.results] == [1, 1]
    assert emulator.counters.total()["deletes"] >= 2
    assert "| canary | `ws00` | mssp | succeeded | 0 | 0 | 1 |" in rollout_report_markdown(pruned)


def test_an_overlay_mistake_stops_the_rollout_before_any_request(fleet, tmp_path: Path) -> None:
    content, _, emulator = fleet
    text = fleet_inventory(workspaces=20, subscriptions=4).replace("{name: 'Repeated logon*'}", "{name: 'Repeated logn*'}")
    (tmp_path / "typo.yaml").write_text(text)
    inventory = load_inventory(tmp_path / "typo.yaml")
    with pytest.raises(ConfigError, match=r"typo.yaml:\d+ \(tenant fabrikam\).*matches no content item"):
        rollout(content, inventory, inventory.select(), connect(emulator, inventory))
    assert emulator.counters.total()["reads"] == 0


def test_the_three_delegated_roles_are_enough_to_roll_out(tmp_path: Path, emulator_factory) -> None:
    """Under RBAC, the Lighthouse tenant holds only what arm/lighthouse-delegation.json grants."""
    content = load_content_unchecked(write_content(tmp_path / "content"))
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=2, subscriptions=1))
    inventory = load_inventory(tmp_path / "targets.yaml")
    emulator = emulator_factory(emulator_config(inventory, rbac=True))
    report = rollout(content, inventory, inventory.select(), connect(emulator, inventory))
    assert report.ok, report.summary()
    assert [r.created for r in report.results] == [9, 9]  # package, 4 templates, 4 items


def test_a_wave_over_its_threshold_starts_no_further_workspace(fleet) -> None:
    content, inventory, emulator = fleet
    emulator.faults.script("PUT", r"/workspaces/law-0[23]/", 400, times=1000)
    early = inventory.select(wave="early")  # interleaved by subscription: ws02 and ws03 go first
    report = rollout(content, inventory, early, connect(emulator, inventory), RolloutOptions(parallel=1))
    statuses = {r.name: r.status for r in report.results}
    assert statuses["ws02"] is statuses["ws03"] is WorkspaceStatus.FAILED
    assert {statuses[f"ws0{i}"] for i in range(4, 8)} == {WorkspaceStatus.NOT_STARTED}
    assert all(emulator.counters[inventory.target(f"ws0{i}").workspace_id]["reads"] == 0 for i in range(4, 8))
    assert report.stopped_after == "early" and report.waves[0].failed == 2


def _hub_of(emulator, inventory, name: str) -> tuple[list[dict], dict[str, dict]]:
    """(contentPackages, contentTemplates by contentId) of a workspace."""
    target = inventory.target(name)
    credential = emulator.credential(inventory.tenant_of(target).token_tenant_id)
    with WorkspaceClient(target, credential, emulator.base_url, emulator.ca_path) as client:
        packages = client.list_in(resource_ids.CONTENT_PACKAGES)
        templates = {t["properties"]["contentId"]: t for t in client.list_in(resource_ids.CONTENT_TEMPLATES)}
    return packages, templates


def test_every_workspace_gets_the_same_package_and_overlays_shape_only_active_rules(fleet) -> None:
    content, inventory, emulator = fleet
    canary_and_early = [inventory.target(n) for n in ("ws00", "ws01", "ws04")]
    assert rollout(content, inventory, canary_and_early, connect(emulator, inventory)).ok

    hubs = {n: _hub_of(emulator, inventory, n) for n in ("ws00", "ws01", "ws04")}
    assert {tuple((p["properties"]["version"], p["properties"]["contentId"]) for p in packages)
            for packages, _ in hubs.values()} == {((content.solution.version, content.solution.content_id),)}
    for name, (_, templates) in hubs.items():
        assert set(templates) == {content_id_of(item) for item in content.items}, name
        rule = templates[SIGNIN_RULE_ID]["properties"]["mainTemplate"]["resources"][0]["properties"]
        assert rule["severity"] == "Medium" and rule["enabled"] is False  # the template, not the overlay
        assert NRT_RULE_ID in templates  # disabled by ws04's overlay: its template is still installed
    assert rules_of(emulator, inventory, "ws01")[SIGNIN_RULE_ID]["properties"]["severity"] == "High"  # overlay


def test_a_version_bump_rolls_out_as_upgrades_with_the_overlays_kept(fleet, tmp_path: Path) -> None:
    from rich.console import Console

    from packer.views.fleet_plan import print_fleet_plan

    content, inventory, emulator = fleet
    chosen = [inventory.target(n) for n in ("ws00", "ws01")]
    assert rollout(content, inventory, chosen, connect(emulator, inventory)).ok
    root = tmp_path / "content"
    rule = root / "analytic-rules" / "failed_logons.yaml"
    rule.write_text(rule.read_text().replace("version: 1.0.0", "version: 1.0.1").replace("Failures > ", "Failures >= "))
    (root / "solution.yaml").write_text((root / "solution.yaml").read_text().replace("version: 1.0.0", "version: 1.1.0"))
    bumped = load_content_unchecked(root)

    plan = plan_fleet(bumped, inventory, chosen, connect(emulator, inventory))
    assert plan.summary() == "Fleet plan: 2 workspace(s), 2 with changes; 0 to create, 0 to update, 0 to prune, 6 to upgrade"
    console = Console(record=True, width=200)
    print_fleet_plan(plan, console)
    assert "upgrade" in console.export_text()  # the column appears when a workspace has one

    assert rollout(bumped, inventory, chosen, connect(emulator, inventory)).ok
    ws01 = rules_of(emulator, inventory, "ws01")[SIGNIN_RULE_ID]["properties"]
    assert ws01["templateVersion"] == "1.0.1" and "Failures >= " in ws01["query"] and ws01["severity"] == "High"
    assert not plan_fleet(bumped, inventory, chosen, connect(emulator, inventory)).has_changes
