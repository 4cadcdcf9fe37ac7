"""targets.yaml: schema problems with file:line, cross-references, selection and waves."""
from __future__ import annotations

import shutil

from pathlib import Path

import pytest

from packer.errors import ConfigError
from packer.targets import AuthKind, InventoryError, load_inventory, validate_inventory
from tests.fleetkit import CUSTOMER_TENANT, MSSP_TENANT, fleet_inventory


@pytest.fixture
def inventory_file(tmp_path: Path) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(fleet_inventory())
    return path


def test_fleet_inventory_loads_with_tenants_waves_and_targets(inventory_file: Path) -> None:
    inventory = load_inventory(inventory_file)
    assert [w.name for w in inventory.waves] == ["canary", "early", "broad"]
    assert len(inventory.targets) == 20
    ws01 = inventory.target("ws01")
    assert ws01.tenant_id == CUSTOMER_TENANT
    assert ws01.repository == "contoso/sentinel-content"
    assert ws01.workspace_id.endswith("/resourceGroups/rg-sec-01/providers/Microsoft.OperationalInsights/workspaces/law-01")
    fabrikam = inventory.tenant_of(ws01)
    assert fabrikam.auth.kind is AuthKind.LIGHTHOUSE
    assert fabrikam.token_tenant_id == MSSP_TENANT  # the managing tenant's token is used
    assert inventory.tenant_of(inventory.target("ws00")).token_tenant_id == MSSP_TENANT


def test_select_by_wave_glob_and_tag(inventory_file: Path) -> None:
    inventory = load_inventory(inventory_file)
    assert [t.name for t in inventory.select(wave="canary")] == ["ws00", "ws01"]
    assert len(inventory.select(wave="early")) == 6
    assert [t.name for t in inventory.select(glob="ws1?")] == [f"ws{i}" for i in range(10, 20)]
    assert [t.name for t in inventory.select(tag="kaseya")] == ["ws03"]
    with pytest.raises(ConfigError, match="no wave named 'nope'"):
        inventory.select(wave="nope")
    waves = inventory.by_wave(inventory.select(glob="ws0*"))
    assert [(w.name, len(ts)) for w, ts in waves] == [("canary", 2), ("early", 6), ("broad", 2)]


def test_wave_thresholds_count_and_percent(inventory_file: Path) -> None:
    inventory = load_inventory(inventory_file)
    canary, early, broad = inventory.waves
    assert canary.exceeded(1, 2) and not canary.exceeded(0, 2)
    assert not early.exceeded(1, 6) and early.exceeded(2, 6)
    assert broad.allowed_failures(12) == 1 and broad.exceeded(2, 12) and not broad.exceeded(1, 12)


def test_workspace_overlay_follows_its_tenant_overlay(inventory_file: Path) -> None:
    inventory = load_inventory(inventory_file)
    ws03 = inventory.overlay_for(inventory.target("ws03"))  # fabrikam + its own
    assert [o.severity for o in ws03.overrides] == ["High"]
    assert dict(ws03.parameters) == {"KnownHosts": ("jump01", "jump02")}
    assert ws03.exclusions[0].values == ("kaseya-mgmt01",)
    assert inventory.overlay_for(inventory.target("ws00")).is_empty


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "targets.yaml"
    path.write_text(text)
    problems = validate_inventory(path)
    assert all(p.is_error and p.code == "targets.invalid" for p in problems)
    return [f"{p.path}:{p.line}:{p.column}: {p.field}: {p.message}" for p in problems]


def test_schema_problems_name_file_line_and_field(tmp_path: Path) -> None:
    text = fleet_inventory().replace("    tenantId: " + CUSTOMER_TENANT, "    tenantId: not-a-guid")
    text = text.replace("    maxFailures: 1\n", "    maxFailures: lots\n")
    problems = _problems(tmp_path, text)
    line_of_guid = text.splitlines().index("    tenantId: not-a-guid") + 1
    assert any(f"targets.yaml:{line_of_guid}:" in p and "tenants[1].tenantId" in p for p in problems), problems
    assert any("waves[1].maxFailures" in p for p in problems), problems
    with pytest.raises(InventoryError) as info:
        load_inventory(tmp_path / "targets.yaml")
    assert len(info.value.problems) == len(problems) >= 2


def test_unknown_tenant_wave_and_duplicates_are_reported(tmp_path: Path) -> None:
    text = fleet_inventory(workspaces=3)
    text = text.replace("    tenant: fabrikam\n", "    tenant: contoso\n", 1)
    text = text.replace("    wave: early\n", "    wave: late\n", 1)
    text = text.replace("  - name: ws02\n", "  - name: ws00\n")
    problems = _problems(tmp_path, text)
    assert any("workspaces[1].tenant" in p and "'contoso' is not defined" in p for p in problems), problems
    assert any("workspaces[2].wave" in p and "'late'" in p for p in problems), problems
    assert any("workspaces[2].name" in p and "used twice" in p for p in problems), problems


def test_lighthouse_managing_tenant_must_resolve(tmp_path: Path) -> None:
    text = fleet_inventory(workspaces=2).replace("managingTenant: mssp", "managingTenant: nobody")
    problems = _problems(tmp_path, text)
    assert any("tenants[1].auth.managingTenant" in p and "'nobody'" in p for p in problems), problems


def test_overlay_fields_are_typed(tmp_path: Path) -> None:
    text = fleet_inventory(workspaces=5).replace("          severity: High", "          severity: Critical")
    text = text.replace("          queryPeriod: 4h", "          queryPeriod: soon")
    problems = _problems(tmp_path, text)
    assert any("overrides[0].severity" in p for p in problems), problems
    assert any("overrides[0].queryPeriod" in p for p in problems), problems


def test_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--targets"):
        load_inventory(tmp_path / "targets.yaml")


def test_validate_command_checks_a_targets_file(tmp_path: Path) -> None:
    from packer.validate import validate_paths

    path = tmp_path / "targets.yaml"
    path.write_text(fleet_inventory(workspaces=2).replace("    wave: canary\n", "    wave: nope\n", 1))
    report = validate_paths([path], kql=False)
    assert report.files_checked == 1
    assert [(p.code, p.field) for p in report.errors] == [("targets.invalid", "workspaces[0].wave")]
    path.write_text(fleet_inventory(workspaces=2))
    assert validate_paths([path], kql=False).ok


def test_the_documented_example_is_a_valid_inventory(tmp_path: Path) -> None:
    from tests.conftest import PROJECT_ROOT

    doc = (PROJECT_ROOT / "docs" / "fleet.md").read_text(encoding="utf-8")
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "targets.yaml"
    path.write_text(example)
    assert validate_inventory(path) == []
    inventory = load_inventory(path)
    assert inventory.tenant_of(inventory.target("fabrikam-prod")).auth.kind is AuthKind.LIGHTHOUSE
    assert len(inventory.overlay_for(inventory.target("fabrikam-prod")).overrides) == 2


def test_the_documented_example_and_examples_fleet_fit_the_bundled_content(tmp_path: Path) -> None:
    """docs/fleet.md's example and examples/fleet/targets.yaml name items the bundled pack has
    (issue 15 item 4): validated together with content/, no selector matches nothing."""
    from packer.validate import validate_paths
    from tests.conftest import CONTENT, PROJECT_ROOT

    doc = (PROJECT_ROOT / "docs" / "fleet.md").read_text(encoding="utf-8")
    documented = tmp_path / "documented-fleet.yaml"  # not named targets.yaml: recognised by its keys
    documented.write_text(doc.split("```yaml\n", 1)[1].split("```", 1)[0])
    report = validate_paths([CONTENT, documented, PROJECT_ROOT / "examples" / "fleet" / "targets.yaml"], kql=False)
    assert report.errors == [] and report.files_checked == 17


def test_validate_finds_an_inventory_by_its_keys_and_reports_every_unmatched_selector(tmp_path: Path) -> None:
    from packer.validate import validate_paths
    from tests.conftest import CONTENT, PROJECT_ROOT

    text = (PROJECT_ROOT / "examples" / "fleet" / "targets.yaml").read_text(encoding="utf-8")
    text = text.replace("'*MeshCentral*'", "'*NoSuchTool*'").replace("rmm_Level_*.yaml", "rmm_Nope_*.yaml")
    path = tmp_path / "customers.yml"
    path.write_text(text)
    shutil.copytree(PROJECT_ROOT / "examples" / "fleet" / "customers", tmp_path / "customers")  # its watchlist CSVs
    report = validate_paths([CONTENT, path], kql=False)
    problems = [(p.path.name, p.code, p.message) for p in report.errors]
    assert problems == [
        ("customers.yml", "targets.overlay", "selector {file='hunting-queries/rmm_Nope_*.yaml'} matches no content item"),
        ("customers.yml", "targets.overlay", "selector {name='*NoSuchTool*', kind='AnalyticsRule'} matches no content item"),
    ]
    lines = text.splitlines()
    assert all("Nope" in lines[p.line - 1] or "NoSuchTool" in lines[p.line - 1] for p in report.errors)
    alone = validate_paths([path], kql=False)  # without content, only the file itself is checked
    assert alone.files_checked == 1 and alone.errors == []
