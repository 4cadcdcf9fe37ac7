"""doctor: what each workspace lacks, and how to fix it."""
from __future__ import annotations

from pathlib import Path

from packer.auth import CredentialProvider
from packer.content.load import load_content_unchecked
from packer.rollout.budget import FleetBudgets
from packer.rollout.connection import FleetConnection
from packer.rollout.doctor import allowed, doctor
from packer.targets import load_inventory
from tests.fleetkit import CUSTOMER_TENANT, emulator_config, fleet_inventory, write_content


def test_doctor_names_missing_tables_onboarding_and_workspaces(tmp_path: Path, emulator_factory) -> None:
    content = load_content_unchecked(write_content(tmp_path / "content"))
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=4, subscriptions=2))
    inventory = load_inventory(tmp_path / "targets.yaml")
    config = emulator_config(inventory, missing_tables={"ws02": ["DeviceProcessEvents"]})
    config["workspaces"][1]["sentinel_onboarded"] = False
    del config["workspaces"][3]  # ws03 is in targets.yaml but does not exist
    emulator = emulator_factory(config)
    connection = FleetConnection(CredentialProvider(inventory, lambda t: emulator.credential(t.tenant_id)),
                                 emulator.base_url, emulator.ca_path, budgets=FleetBudgets(None))

    results = {r.target: r for r in doctor(content, inventory, inventory.select(), connection)}
    checks = {name: {c.name: c for c in r.checks} for name, r in results.items()}
    assert results["ws00"].ok and checks["ws00"]["Sentinel onboarded"].ok is True
    assert checks["ws00"]["identity roles"].ok is None  # the emulator has no RBAC endpoint: says so
    assert checks["ws01"]["Sentinel onboarded"].ok is False and "onboard" in checks["ws01"]["Sentinel onboarded"].fix
    assert checks["ws02"]["tables"].ok is False and "'PsExec started' reads DeviceProcessEvents" in checks["ws02"]["tables"].detail
    assert checks["ws03"]["workspace"].ok is False and "targets.yaml" in checks["ws03"]["workspace"].fix
    assert emulator.counters.total()["writes"] == 0  # doctor only reads

    class Fixed:
        def get_token(self, *scopes, **kw):
            return emulator.credential(CUSTOMER_TENANT).get_token(*scopes)

    wrong = FleetConnection(CredentialProvider(inventory, lambda t: Fixed()), emulator.base_url, emulator.ca_path)
    (refused,) = doctor(content, inventory, [inventory.target("ws00")], wrong)
    assert not refused.ok and refused.checks[0].name == "token tenant"

    no_ca = FleetConnection(connection.credentials, emulator.base_url, str(tmp_path / "nope.pem"))
    (unreachable,) = doctor(content, inventory, [inventory.target("ws00")], no_ca)
    assert unreachable.checks[0].name == "connection" and "nope.pem does not exist" in unreachable.checks[0].detail


def test_effective_permissions_honour_not_actions() -> None:
    contributor = [{"actions": ["Microsoft.SecurityInsights/*"], "notActions": ["Microsoft.SecurityInsights/metadata/write"]}]
    assert allowed("Microsoft.SecurityInsights/alertRules/write", contributor)
    assert not allowed("Microsoft.SecurityInsights/metadata/write", contributor)
    assert allowed("microsoft.insights/workbooks/write", [{"actions": ["*"]}])


def test_doctor_reads_effective_permissions_under_rbac(tmp_path: Path, emulator_factory) -> None:
    from tests.fleetkit import MSSP_TENANT

    content = load_content_unchecked(write_content(tmp_path / "content"))
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=2, subscriptions=1))
    inventory = load_inventory(tmp_path / "targets.yaml")
    config = emulator_config(inventory, rbac=True)
    reader_only = inventory.target("ws01").subscription_id  # fabrikam, delegated to the MSSP
    config["subscriptions"][reader_only]["roles"] = {MSSP_TENANT: ["Microsoft Sentinel Reader"]}
    emulator = emulator_factory(config)
    connection = FleetConnection(CredentialProvider(inventory, lambda t: emulator.credential(t.tenant_id)),
                                 emulator.base_url, emulator.ca_path, budgets=FleetBudgets(None))

    results = {r.target: {c.name: c for c in r.checks} for r in doctor(content, inventory, inventory.select(), connection)}
    assert results["ws00"]["identity roles"].ok is True
    roles = results["ws01"]["identity roles"]
    assert roles.ok is False and "Microsoft.SecurityInsights/alertRules/write" in roles.detail
    assert "arm/lighthouse-delegation.json" in roles.fix
    assert results["ws01"]["workspace"].ok is False  # the reader role cannot even read the workspace here
