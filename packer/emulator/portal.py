"""Acting as "the portal": change a deployed analytic rule the way a person in the Azure portal
would, so that `plan` has drift to show (`sentinel-packer emulator edit`, and the demo).

It goes through the management API like any other client (GET the rule, change properties,
PUT it back with its etag): the emulator's store is not touched directly, so it works against
an emulator in another process, and would work against a real workspace too.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Mapping

import yaml

from packer import resource_ids
from packer.errors import ConfigError


@dataclass(frozen=True)
class PortalEdit:
    rule_name: str
    resource_id: str
    changes: tuple[tuple[str, Any, Any], ...]  # (property, before, after)

    def describe(self) -> str:
        parts = [f"properties.{name}: {before} -> {after}" for name, before, after in self.changes]
        return f"changed '{self.rule_name}' as the portal would: {'; '.join(parts)}"


def parse_assignments(assignments: list[str]) -> dict[str, Any]:
    """`["severity=High", "enabled=false"]` -> {"severity": "High", "enabled": False} (values read as YAML scalars)."""
    values: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, raw = assignment.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--set {assignment!r}: write PROPERTY=VALUE, e.g. --set severity=High")
        values[name.strip().removeprefix("properties.")] = yaml.safe_load(raw) if raw else ""
    if not values:
        raise ConfigError("give at least one --set PROPERTY=VALUE, e.g. --set severity=High")
    return values


def edit_alert_rule(client: Any, name: str, values: Mapping[str, Any]) -> PortalEdit:
    """Change `values` in the properties of the one analytic rule whose display name matches
    `name` (a case-insensitive glob) in the workspace of `client` (a WorkspaceClient)."""
    rules = client.list_in(resource_ids.ALERT_RULES)
    matches = [r for r in rules
               if fnmatch.fnmatchcase(str(r.get("properties", {}).get("displayName", "")).lower(), name.lower())]
    if len(matches) != 1:
        known = sorted(str(r.get("properties", {}).get("displayName", "")) for r in rules)
        found = "no analytic rule" if not matches else f"{len(matches)} analytic rules"
        raise ConfigError(f"--rule {name!r}: {found} of workspace {client.target.workspace} match; "
                          f"its rules: {', '.join(known) or 'none'}")
    rule = matches[0]
    properties = dict(rule.get("properties") or {})
    changes = tuple((key, properties.get(key), value) for key, value in values.items())
    properties.update(values)
    body = {"kind": rule.get("kind"), "properties": _writable(properties)}
    client.put(rule["id"], body, etag=rule.get("etag"))
    return PortalEdit(str(properties.get("displayName")), rule["id"], changes)


def _writable(properties: dict) -> dict:
    """The portal sends back what it read, minus the read-only properties ARM computes."""
    return {k: v for k, v in properties.items() if k not in ("lastModifiedUtc",)}
