"""Small content and fleet inventories for the fleet tests (targets, overlays, rollout)."""
from __future__ import annotations

import uuid
from pathlib import Path

MSSP_TENANT = "11111111-1111-4111-8111-111111111111"
CUSTOMER_TENANT = "22222222-2222-4222-8222-222222222222"
KASEYA_RULE_ID = "0b1f6c3e-7d55-4d7e-9a53-6a6a2b0c0001"
SIGNIN_RULE_ID = "0b1f6c3e-7d55-4d7e-9a53-6a6a2b0c0002"
NRT_RULE_ID = "0b1f6c3e-7d55-4d7e-9a53-6a6a2b0c0003"
HUNT_ID = "0b1f6c3e-7d55-4d7e-9a53-6a6a2b0c0004"

RULE = """\
id: {id}
name: {name}
description: |
  {name}, a fleet test rule.
severity: Medium
requiredDataConnectors:
  - connectorId: MicrosoftThreatProtection
    dataTypes:
      - {table}
queryFrequency: 1h
queryPeriod: 1h
triggerOperator: gt
triggerThreshold: 0
tactics:
  - CommandAndControl
relevantTechniques:
  - T1219
query: |
{query}
entityMappings:
  - entityType: Host
    fieldMappings:
      - identifier: HostName
        columnName: DeviceName
version: 1.0.0
kind: {kind}
"""

KASEYA_QUERY = """\
  let KnownHosts = dynamic([]); // @param hosts allowed to run the RMM agent
  DeviceNetworkEvents
  | where RemoteUrl has 'kaseya.net'
  | where not(DeviceName in~ (KnownHosts))
  | summarize Count=count() by DeviceId, DeviceName, RemoteUrl"""

SIGNIN_QUERY = """\
  let FailureThreshold = 5; // @param
  SecurityEvent
  | where EventID == 4625
  | summarize Failures=count() by DeviceName=Computer, Account
  | where Failures > FailureThreshold"""

NRT_QUERY = """\
  DeviceProcessEvents
  | where FileName =~ 'psexec.exe'
  | project TimeGenerated, DeviceName, AccountName"""

HUNT = """\
id: {id}
name: Kaseya hunting
description: Hunt for Kaseya.
requiredDataConnectors: []
tactics:
  - CommandAndControl
relevantTechniques:
  - T1219
query: |
  DeviceNetworkEvents
  | where RemoteUrl has 'kaseya'
  | project DeviceName, RemoteUrl
version: 1.0.0
"""

SOLUTION = """\
name: Fleet Test
publisherId: contoso
offerId: fleet-test
version: 1.0.0
description: Fleet test content.
author:
  name: Contoso
support:
  tier: Partner
  name: Contoso
"""


def write_content(root: Path, extra_rules: int = 0) -> Path:
    """A content folder with 3 analytic rules (+ `extra_rules` plain ones) and 1 hunting query."""
    rules = root / "analytic-rules"
    rules.mkdir(parents=True, exist_ok=True)
    (root / "hunting-queries").mkdir(exist_ok=True)
    (root / "solution.yaml").write_text(SOLUTION)
    specs = [
        ("kaseya_rmm.yaml", KASEYA_RULE_ID, "RMM Kaseya outbound", "DeviceNetworkEvents", KASEYA_QUERY, "Scheduled"),
        ("failed_logons.yaml", SIGNIN_RULE_ID, "Repeated logon failures", "SecurityEvent", SIGNIN_QUERY, "Scheduled"),
        ("psexec_nrt.yaml", NRT_RULE_ID, "PsExec started", "DeviceProcessEvents", NRT_QUERY, "NRT"),
    ]
    for i in range(extra_rules):
        rule_id = str(uuid.UUID(int=0xF1EE7 << 64 | i))
        specs.append((f"extra_{i:04d}.yaml", rule_id, f"Extra rule {i:04d}", "DeviceProcessEvents", NRT_QUERY, "Scheduled"))
    for file, rule_id, name, table, query, kind in specs:
        text = RULE.format(id=rule_id, name=name, table=table, query=query, kind=kind)
        if kind == "NRT":
            text = "\n".join(line for line in text.splitlines() if not line.startswith(("queryFrequency", "queryPeriod", "triggerOperator", "triggerThreshold"))) + "\n"
        (rules / file).write_text(text)
    (root / "hunting-queries" / "kaseya_hunt.yaml").write_text(HUNT.format(id=HUNT_ID))
    return root


def subscription(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def fleet_inventory(workspaces: int = 20, subscriptions: int = 4) -> str:
    """targets.yaml text: an MSSP tenant (direct) and a customer tenant reached via Lighthouse,
    `workspaces` workspaces spread over `subscriptions` subscriptions, in 3 waves."""
    lines = [
        "repository: contoso/sentinel-content",
        "tenants:",
        "  - name: mssp",
        f"    tenantId: {MSSP_TENANT}",
        "    displayName: Contoso MSSP",
        "  - name: fabrikam",
        f"    tenantId: {CUSTOMER_TENANT}",
        "    displayName: Fabrikam",
        "    auth: {kind: lighthouse, managingTenant: mssp}",
        "    overlay:",
        "      overrides:",
        "        - select: {name: 'Repeated logon*'}",
        "          severity: High",
        "waves:",
        "  - name: canary",
        "    maxFailures: 0",
        "  - name: early",
        "    maxFailures: 1",
        "  - name: broad",
        "    maxFailures: 10%",
        "workspaces:",
    ]
    waves = ["canary"] * 2 + ["early"] * 6
    for i in range(workspaces):
        tenant = "fabrikam" if i % 2 else "mssp"
        sub = subscription(i % subscriptions * 2 + (1 if tenant == "fabrikam" else 0))
        wave = waves[i] if i < len(waves) else "broad"
        lines += [
            f"  - name: ws{i:02d}",
            f"    tenant: {tenant}",
            f"    subscription: {sub}",
            f"    resourceGroup: rg-sec-{i:02d}",
            f"    workspace: law-{i:02d}",
            f"    wave: {wave}",
            f"    tags: [{'kaseya' if i == 3 else 'std'}]",
        ]
        if i == 3:
            lines += [
                "    overlay:",
                "      parameters:",
                "        KnownHosts: [jump01, jump02]",
                "      exclusions:",
                "        - select: {file: 'analytic-rules/kaseya_*.yaml'}",
                "          column: DeviceName",
                "          values: [kaseya-mgmt01]",
                "          reason: customer runs Kaseya VSA",
            ]
        if i == 4:
            lines += [
                "    overlay:",
                "      disable:",
                "        - id: " + NRT_RULE_ID,
                "      overrides:",
                "        - select: {id: " + SIGNIN_RULE_ID + "}",
                "          enabled: false",
                "          queryFrequency: 2h",
                "          queryPeriod: 4h",
            ]
    return "\n".join(lines) + "\n"


def emulator_config(inventory, missing_tables: dict[str, list[str]] | None = None, **extra) -> dict:
    """An emulator topology holding every workspace of `inventory`: each subscription belongs to
    its workspace's tenant and is delegated to the managing tenant for Lighthouse tenants.
    `missing_tables` maps a workspace name to standard tables it lacks. Tables list every column
    of Microsoft's table reference, as real workspaces do (plan checks the columns rules read)."""
    from packer.emulator.config import STANDARD_TABLES
    from tests.plankit import full_tables

    missing_tables = missing_tables or {}
    tenants = {t.tenant_id: {"name": t.display_name} for t in inventory.tenants}
    subscriptions: dict[str, dict] = {}
    workspaces = []
    for entry in inventory.entries:
        target = entry.target
        delegated = [entry.tenant.token_tenant_id] if entry.tenant.token_tenant_id != entry.tenant.tenant_id else []
        subscriptions[target.subscription_id] = {"tenant": entry.tenant.tenant_id, "delegated_to": delegated}
        tables = full_tables(*(name for name in STANDARD_TABLES if name not in missing_tables.get(target.name, ())))
        workspaces.append({"subscription": target.subscription_id, "resource_group": target.resource_group,
                           "name": target.workspace, "tables": tables})
    return {"tenants": tenants, "subscriptions": subscriptions, "workspaces": workspaces, **extra}


def fleet_without_remote_url(tmp_path: Path, emulator_factory, workspaces: int, load=None):
    """The fleet content (read by `load`, unchecked by default), and an emulator whose ws01 has a
    DeviceNetworkEvents without RemoteUrl."""
    from packer.auth import CredentialProvider
    from packer.content.load import load_content_unchecked
    from packer.rollout.budget import FleetBudgets
    from packer.rollout.connection import FleetConnection
    from packer.targets import load_inventory
    from tests.plankit import full_tables

    content = (load or load_content_unchecked)(write_content(tmp_path / "content"))
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=workspaces, subscriptions=1))
    inventory = load_inventory(tmp_path / "targets.yaml")
    config = emulator_config(inventory)
    ws01 = next(w for w in config["workspaces"] if w["name"].endswith("01"))
    ws01["tables"] = [entry for entry in ws01["tables"] if "DeviceNetworkEvents" not in entry]
    ws01["tables"] += full_tables("DeviceNetworkEvents", without={"DeviceNetworkEvents": ["RemoteUrl"]})
    emulator = emulator_factory(config)
    connection = FleetConnection(CredentialProvider(inventory, lambda t: emulator.credential(t.tenant_id)),
                                 emulator.base_url, emulator.ca_path, budgets=FleetBudgets(None))
    return content, inventory, connection
