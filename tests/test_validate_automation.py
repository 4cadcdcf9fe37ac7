"""Validation of watchlists (their CSV) and automation rules: every problem with file and line."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import first_arguments
from packer.errors import ConfigError
from packer.validate import validate_paths

RULE = """\
id: 5b0c6a59-1d0e-4c7a-9a3b-6f2d8e4c1a70
displayName: Close benign RMM incidents
order: 20
triggeringLogic:
  isEnabled: true
  triggersOn: {on}
  triggersWhen: Created
  expirationTimeUtc: {expiry}
  conditions:
    - conditionType: Property
      conditionProperties:
        propertyName: {prop}
        operator: Contains
        propertyValues: [RMM]
actions:
  - order: 1
    actionType: ModifyProperties
    actionConfiguration:
      status: Closed
  - order: 1
    actionType: AddIncidentTask
    actionConfiguration:
      title: Check the host
"""

WATCHLIST = """\
watchlistAlias: Allow
displayName: Allowed hosts
itemsSearchKey: {key}
"""


def _write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _problems(root: Path) -> list[tuple[str, int, str, str]]:
    report = validate_paths([root], kql=False)
    return [(p.path.name, p.line, p.code, p.message) for p in report.errors]


def test_automation_rule_problems_name_their_line(tmp_path):
    _write(tmp_path, "automation-rules/close.yaml", RULE.format(on="Alerts", expiry="'2020-01-01T00:00:00Z'",
                                                                 prop="IncidentTitel"))
    problems = _problems(tmp_path)
    by_code = {(line, code) for _, line, code, _ in problems}
    assert (12, "schema.enum") in by_code  # propertyName IncidentTitel
    assert (8, "automation.expiry") in by_code
    assert (17, "automation.trigger") in by_code  # ModifyProperties on an alert trigger
    assert (19, "automation.close") in by_code  # status Closed without a classification
    assert (20, "automation.action-order") in by_code  # order 1 twice
    assert (21, "automation.trigger") in by_code  # AddIncidentTask on an alert trigger
    assert all(name == "close.yaml" for name, *_ in problems)


def test_a_good_automation_rule_passes_and_loads(tmp_path):
    text = RULE.format(on="Incidents", expiry="null", prop="IncidentTitle").replace(
        "      status: Closed\n", "      status: Closed\n      classification: BenignPositive\n"
                                 "      classificationReason: SuspiciousButExpected\n").replace(
        "  - order: 1\n    actionType: AddIncidentTask", "  - order: 2\n    actionType: AddIncidentTask")
    _write(tmp_path, "automation-rules/close.yaml", text)
    report = validate_paths([tmp_path], kql=False)
    assert report.errors == []
    rule = report.content.automation_rules[0]
    assert rule.order == 20 and rule.triggering_logic["isEnabled"] is True and len(rule.actions) == 2


def test_watchlist_problems_name_the_yaml_or_csv_line(tmp_path):
    _write(tmp_path, "watchlists/allow.yaml", WATCHLIST.format(key="hostname"))
    _write(tmp_path, "watchlists/allow.csv", "Hostname,Tools\na,Kaseya\n")
    assert _problems(tmp_path) == [("allow.yaml", 3, "watchlist.search-key",
                                    "allow.csv: the search key 'hostname' is not a column of the header; "
                                    "the header spells it 'Hostname'")]
    _write(tmp_path, "watchlists/allow.yaml", WATCHLIST.format(key="Hostname"))
    _write(tmp_path, "watchlists/allow.csv", "Hostname,Tools\na,Kaseya\n,Level\nA,Syncro\n")
    assert [(n, line, code) for n, line, code, _ in _problems(tmp_path)] == [
        ("allow.csv", 3, "watchlist.search-key"), ("allow.csv", 4, "watchlist.duplicate-key")]
    _write(tmp_path, "watchlists/allow.csv", "Hostname,Tools\na,Kaseya\nb,Level,extra\n")
    assert _problems(tmp_path) == [("allow.csv", 3, "watchlist.items", "watchlist items: has 3 values; the header "
                                    "has 2 columns (Hostname, Tools)")]
    (tmp_path / "watchlists" / "allow.csv").unlink()
    assert [code for _, _, code, _ in _problems(tmp_path)] == ["watchlist.items"]


def test_an_overlay_csv_without_the_search_key_stops_before_any_request(tmp_path):
    from packer.targets import load_inventory
    from packer.validate import load_content
    from tests.conftest import CONTENT

    _write(tmp_path, "customers/x.csv", "Host,Tools\na,Kaseya\n")
    inventory = _write(tmp_path, "targets.yaml", """\
repository: contoso/sentinel-content
tenants:
  - name: x
    tenantId: 11111111-1111-4111-8111-111111111111
    overlay:
      watchlists:
        RMMAllowlist: customers/x.csv
workspaces:
  - {name: x, tenant: x, subscription: 00000000-0000-4000-8000-000000000001, resourceGroup: rg, workspace: law-x}
""")
    loaded = load_inventory(inventory)
    with pytest.raises(ConfigError, match=r"line 7\).*RMMAllowlist.*x\.csv:1: the search key 'Hostname' is not a column"):
        loaded.content_for(load_content(CONTENT, kql=False), loaded.targets[0])


def test_a_watchlists_csv_is_parsed_once_per_validate(tmp_path, monkeypatch):
    """What validation checks is what the model is built from: one parse of the items, not two."""
    from packer.content import watchlist_csv

    _write(tmp_path, "watchlists/allow.yaml", WATCHLIST.format(key="Host"))
    _write(tmp_path, "watchlists/allow.csv", "Host,Owner\nsrv1,ops\nsrv2,ops\n")
    parsed = first_arguments(monkeypatch, watchlist_csv.read_items)
    report = validate_paths([tmp_path], kql=False)
    assert report.ok, report.errors
    assert [w.rows[1].values["Host"] for w in report.content.watchlists] == ["srv2"]
    assert parsed == [tmp_path / "watchlists" / "allow.csv"]
