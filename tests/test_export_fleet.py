"""Issue 19, de-forking a fleet: 5 workspaces holding copies of the same rules with planted forks
(severity, threshold, an exclusion, a changed query under another name, a rule missing in one)
export as one rule per rule + overlays in a generated targets.yaml + one separate rule; the fleet
plan against the export adopts and changes nothing, and after the rollout plans nothing at all."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from packer.bodies.resources import desired_resources
from packer.connect import Endpoint, connect_fleet
from packer.content.load import load_content_unchecked
from packer.overlay import Exclusion, Overlay, Selector, apply_overlays
from packer.plan.model import Action
from packer.remote.client import WorkspaceClient
from packer.remote.limits import READ
from packer.rollout.budget import FleetBudgets
from packer.rollout.engine import RolloutOptions, rollout
from packer.rollout.fleet_plan import plan_fleet
from packer.targets import load_inventory
from packer.views.export import export_markdown
from tests.fleetkit import KASEYA_RULE_ID, SIGNIN_RULE_ID, emulator_config, fleet_inventory, write_content

FORKED_KASEYA = "5c1d0a4e-2f6b-4c1e-9a7d-3b8e6f0c2d11"  # ws04 made its own copy from the template


def _copies(content, name: str):
    """What each workspace holds: the shared rules with the forks planted in them."""
    rules = {r.id: r for r in content.analytic_rules}
    kaseya = rules[KASEYA_RULE_ID]
    if name == "ws02":
        kaseya = dataclasses.replace(kaseya, severity="High")
    if name == "ws03":
        kaseya = dataclasses.replace(kaseya, trigger_threshold=5)
    if name == "ws04":
        kaseya = dataclasses.replace(kaseya, id=FORKED_KASEYA, alert_rule_template=KASEYA_RULE_ID,
                                     query=kaseya.query.replace("kaseya.net", "kaseya.com"))
    kept = [r if r.id != KASEYA_RULE_ID else kaseya for r in content.analytic_rules
            if not (name == "ws04" and r.id == SIGNIN_RULE_ID)]
    here = dataclasses.replace(content, solution=None, analytic_rules=tuple(kept))
    if name == "ws01":
        exclusion = Exclusion(Selector(id=SIGNIN_RULE_ID), "Account", ("svc-backup",), "backup account")
        here = apply_overlays(here, Overlay(exclusions=(exclusion,), origin="planted"))
    return here


@pytest.fixture
def estate(tmp_path: Path, emulator_factory):
    content = load_content_unchecked(write_content(tmp_path / "shared"))
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=5, subscriptions=2))
    inventory = load_inventory(tmp_path / "targets.yaml")
    emulator = emulator_factory(emulator_config(inventory))
    for target in inventory.targets:  # made in each workspace without sentinel-packer: no metadata
        credential = emulator.credential(inventory.tenant_of(target).token_tenant_id)
        with WorkspaceClient(target, credential, emulator.base_url, emulator.ca_path) as client:
            for desired in desired_resources(_copies(content, target.name), target):
                client.put(desired.resource_id, dict(desired.body), create=True)
    return tmp_path, emulator


def test_a_forked_fleet_exports_as_one_rule_overlays_and_one_separate_rule(estate):
    folder, emulator = estate
    fleet = connect_fleet(folder / "targets.yaml", endpoint=Endpoint(emulator.base_url, emulator.ca_path, "target"))

    export = fleet.export(folder / "export")

    assert all(w.lossless for w in export.workspaces), [(w.target.name, i.name, i.lost) for w in export.workspaces
                                                        for i in w.items if not i.lossless]
    assert sum(b.granted[READ] for b in fleet.connection.budgets.budgets()) > 0  # reads paced per subscription
    items = {i.name: i for i in export.items}
    kaseya = [i for i in export.items if i.name == "RMM Kaseya outbound"]
    main, separate = sorted(kaseya, key=lambda i: i.same_rule_as or "")
    assert main.sentence() == ("AnalyticsRule 'RMM Kaseya outbound' exists in 4 workspace(s); 2 identical, "
                               "1 differ only in severity, 1 differ only in triggerThreshold")
    assert separate.workspaces == ("ws04",) and separate.same_rule_as == "RMM Kaseya outbound"
    assert dict(items["Repeated logon failures"].overlays) == {"ws01": "exclusion"}
    assert not any(i.forks for i in export.items)
    assert f"- {main.sentence()} (`{main.file}`)" in export_markdown(export)  # the report states it
    rules = sorted((export.content_root / "analytic-rules").glob("*.yaml"))
    assert len(rules) == 4  # 3 shared rules + the separate copy

    generated = yaml.safe_load(export.targets_file.read_text(encoding="utf-8"))
    overlays = {w["name"]: w.get("overlay", {}) for w in generated["workspaces"]}
    assert overlays["ws02"]["overrides"] == [{"select": {"id": KASEYA_RULE_ID, "kind": "AnalyticsRule"},
                                              "severity": "High"}]
    assert overlays["ws03"]["overrides"][0]["triggerThreshold"] == 5
    assert {"id": KASEYA_RULE_ID, "kind": "AnalyticsRule"} in overlays["ws04"]["disable"]
    assert {"id": FORKED_KASEYA, "kind": "AnalyticsRule"} in overlays["ws00"]["disable"]

    exported = load_inventory(export.targets_file)
    content = load_content_unchecked(export.content_root)
    connection = fleet.connection
    connection.budgets = FleetBudgets(None)
    before = plan_fleet(content, exported, list(exported.targets), connection, commit="c1")
    assert not before.errors
    assert {i.action for w in before.workspaces for i in w.plan.items} == {Action.ADOPT}

    report = rollout(content, exported, list(exported.targets), connection, RolloutOptions(commit="c1"))
    assert report.ok, report.summary()
    after = plan_fleet(content, exported, list(exported.targets), connection, commit="c1")
    assert not after.has_changes and not after.errors
    assert {i.action for w in after.workspaces for i in w.plan.items} == {Action.UNCHANGED}
