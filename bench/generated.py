"""Generated analytic rules shared by the benchmarks (bench/build.py, bench/validate.py): one
shape, so both measure the same kind of rule. Every tenth rule is NRT; all are valid."""
from __future__ import annotations

import uuid

TACTICS = ["CommandAndControl", "Execution", "Persistence", "DefenseEvasion", "InitialAccess"]
TECHNIQUES = {"CommandAndControl": "T1219", "Execution": "T1059.001", "Persistence": "T1098",
              "DefenseEvasion": "T1562", "InitialAccess": "T1078.004"}


def analytic_rule(i: int) -> str:
    """Rule number i as YAML; ids are UUIDs from i + 1."""
    tactic = TACTICS[i % len(TACTICS)]
    nrt = i % 10 == 0
    schedule = "" if nrt else (
        f"queryFrequency: {1 + i % 6}h\nqueryPeriod: {1 + i % 6}h\ntriggerOperator: gt\ntriggerThreshold: {i % 5}\n")
    return f"""\
id: {uuid.UUID(int=i + 1)}
name: Generated detection {i}
description: |
  'Generated rule number {i}: process activity that may indicate abuse.'
severity: {["Informational", "Low", "Medium", "High"][i % 4]}
requiredDataConnectors:
  - connectorId: MicrosoftThreatProtection
    dataTypes:
      - DeviceProcessEvents
{schedule}tactics:
  - {tactic}
relevantTechniques:
  - {TECHNIQUES[tactic]}
query: |
  DeviceProcessEvents
  | where FileName =~ "tool{i}.exe"
  | summarize Count = count() by DeviceName, AccountName, ProcessCommandLine
entityMappings:
  - entityType: Host
    fieldMappings:
      - identifier: HostName
        columnName: DeviceName
  - entityType: Account
    fieldMappings:
      - identifier: Name
        columnName: AccountName
customDetails:
  Count: Count
alertDetailsOverride:
  alertDisplayNameFormat: Tool {i} on {{{{DeviceName}}}}
eventGroupingSettings:
  aggregationKind: AlertPerResult
version: 1.0.{i % 7}
kind: {"NRT" if nrt else "Scheduled"}
"""
