"""Overlays: disable, overrides, query parameters and exclusions, applied per workspace."""
from __future__ import annotations

from pathlib import Path

import pytest

from packer.content.load import load_content_unchecked
from packer.errors import ConfigError
from packer.overlay import Exclusion, Overlay, Override, Selector, apply_overlays, declared_parameters, substitute
from packer.overlay.params import ParameterError
from packer.targets import load_inventory
from packer.validate import validate_paths
from tests.conftest import kql_or_skip
from tests.fleetkit import HUNT_ID, KASEYA_RULE_ID, NRT_RULE_ID, SIGNIN_RULE_ID, fleet_inventory, write_content


@pytest.fixture
def content(tmp_path: Path):
    return load_content_unchecked(write_content(tmp_path / "content"))


def _by_id(content) -> dict:
    return {item.content_id: item for item in content.items}


def test_fleet_overlays_resolve_per_workspace(tmp_path: Path, content) -> None:
    (tmp_path / "targets.yaml").write_text(fleet_inventory())
    inventory = load_inventory(tmp_path / "targets.yaml")
    plain = _by_id(inventory.content_for(content, inventory.target("ws00")))
    assert plain == _by_id(content)  # no overlay: the shared content, untouched

    fabrikam = _by_id(inventory.content_for(content, inventory.target("ws01")))
    assert fabrikam[SIGNIN_RULE_ID].severity == "High"
    assert fabrikam[KASEYA_RULE_ID] == _by_id(content)[KASEYA_RULE_ID]

    kaseya = _by_id(inventory.content_for(content, inventory.target("ws03")))
    query = kaseya[KASEYA_RULE_ID].query
    assert 'let KnownHosts = dynamic(["jump01", "jump02"]); // @param' in query
    assert query.rstrip().endswith('| where not(DeviceName in~ ("kaseya-mgmt01")) // exclusion: customer runs Kaseya VSA')
    assert kaseya[HUNT_ID].query == content.hunting_queries[0].query  # file glob selected the rule only

    ws04 = _by_id(inventory.content_for(content, inventory.target("ws04")))
    assert NRT_RULE_ID not in ws04
    assert (ws04[SIGNIN_RULE_ID].enabled, ws04[SIGNIN_RULE_ID].query_frequency, ws04[SIGNIN_RULE_ID].query_period) == (False, "2h", "4h")
    assert ws04[SIGNIN_RULE_ID].severity == "Medium"  # ws04 is in the mssp tenant: no tenant override


def test_disable_by_name_glob_and_kind(content) -> None:
    overlay = Overlay(disable=(Selector(name="*kaseya*"),), origin="t")
    remaining = apply_overlays(content, overlay)
    assert {i.content_id for i in remaining.items} == {SIGNIN_RULE_ID, NRT_RULE_ID}
    only_rules = apply_overlays(content, Overlay(disable=(Selector(kind="HuntingQuery"),), origin="t"))
    assert len(only_rules.hunting_queries) == 0 and len(only_rules.analytic_rules) == 3


def test_selector_matching_nothing_is_an_error(content) -> None:
    overlay = Overlay(disable=(Selector(id="no-such-id", line=7),), origin="targets.yaml:5 (workspace x)")
    with pytest.raises(ConfigError, match=r"targets.yaml:5 \(workspace x\) \(line 7\).*matches no content item"):
        apply_overlays(content, overlay)


def test_schedule_override_keeps_period_at_least_frequency(content) -> None:
    overlay = Overlay(overrides=(Override(Selector(id=SIGNIN_RULE_ID), query_frequency="6h"),), origin="t")
    with pytest.raises(ConfigError, match="would get queryFrequency 6h and queryPeriod .*queryPeriod must be at least"):
        apply_overlays(content, overlay)


# (queryFrequency, queryPeriod) pairs: the first was the live bug (an overlay could set 5m with 3d).
SCHEDULES = [("5m", "3d"), ("30m", "2d"), ("1h", "2d"), ("6h", "1h"), ("5m", "1d"), ("1h", "15d"), ("2h", "4h")]


@pytest.mark.parametrize("frequency, period", SCHEDULES)
def test_an_overlay_schedule_is_refused_exactly_when_validate_refuses_it_in_a_file(tmp_path, content, frequency, period):
    from tests.test_validate_rules import rule

    (tmp_path / "rule.yaml").write_text(rule(queryFrequency=frequency, queryPeriod=period))
    in_file = [p.message for p in validate_paths([tmp_path / "rule.yaml"], kql=False).errors]
    overlay = Overlay(overrides=(Override(Selector(id=SIGNIN_RULE_ID), query_frequency=frequency,
                                          query_period=period),), origin="targets.yaml (workspace ws01)")
    if not in_file:
        assert _by_id(apply_overlays(content, overlay))[SIGNIN_RULE_ID].query_period == period
        return
    with pytest.raises(ConfigError) as refused:
        apply_overlays(content, overlay)
    assert str(refused.value).startswith("targets.yaml (workspace ws01): rule ")
    assert all(message in str(refused.value) for message in in_file)  # the same rule, the same words


def test_undeclared_parameter_is_an_error(content) -> None:
    overlay = Overlay(parameters={"KnownHost": ("a",)}, origin="t")
    with pytest.raises(ConfigError, match="KnownHost are declared by no query.*FailureThreshold, KnownHosts"):
        apply_overlays(content, overlay)


def test_parameter_type_must_fit(content) -> None:
    overlay = Overlay(parameters={"FailureThreshold": "many"}, origin="t")
    with pytest.raises(ConfigError, match="'FailureThreshold' is a long"):
        apply_overlays(content, overlay)
    ok = apply_overlays(content, Overlay(parameters={"FailureThreshold": 20}, origin="t"))
    assert "let FailureThreshold = 20; // @param" in _by_id(ok)[SIGNIN_RULE_ID].query


def test_exclusion_column_must_appear_in_query(content) -> None:
    overlay = Overlay(exclusions=(Exclusion(Selector(id=SIGNIN_RULE_ID), "RemoteIP", ("10.0.0.1",)),), origin="t")
    with pytest.raises(ConfigError, match="'RemoteIP' does not appear"):
        apply_overlays(content, overlay)


@pytest.mark.parametrize(
    "default, value, literal",
    [
        ('"x"', 'a "quoted" \\ value', '"a \\"quoted\\" \\\\ value"'),
        ("'x'", "plain", '"plain"'),
        ("5d", "14d", "14d"),
        ("true", False, "false"),
        ("1.5", 2, "2.0"),
        ("datetime(2024-01-01)", "2025-02-03T04:05:06Z", "datetime(2025-02-03T04:05:06Z)"),
        ("dynamic(['a'])", ("b", 3), 'dynamic(["b", 3])'),
    ],
)
def test_parameter_literals(default: str, value, literal: str) -> None:
    query = f"let P = {default}; // @param\nT | where x == P"
    assert declared_parameters(query)["P"].default == default
    assert substitute(query, {"P": value}) == f"let P = {literal}; // @param\nT | where x == P"


def test_unmarked_let_is_not_a_parameter_and_bad_defaults_are_named() -> None:
    assert declared_parameters("let P = 5;\nT") == {}
    with pytest.raises(ParameterError, match="'P' has default"):
        declared_parameters("let P = now(); // @param\nT")
    with pytest.raises(ParameterError, match="does not fit"):
        substitute("let P = 5m; // @param\nT", {"P": "soon"})


def test_overlaid_queries_stay_valid_kql_for_the_real_kaseya_rule(tmp_path: Path) -> None:
    """The issue's example: a customer who runs Kaseya gets the Kaseya rule minus its known hosts.
    The overlaid query is analysed by Kusto.Language (skipped only when Node.js or the package is absent)."""
    from packer.kql import check_content
    from tests.conftest import CONTENT

    real = load_content_unchecked(CONTENT)
    overlay = Overlay(
        exclusions=(Exclusion(Selector(name="*Kaseya*", kind="AnalyticsRule"), "DeviceName", ("vsa-01", "o'brien-pc")),),
        overrides=(Override(Selector(name="*Kaseya*", kind="AnalyticsRule"), severity="Low"),),
        origin="t",
    )
    customer = apply_overlays(real, overlay)
    (kaseya,) = [r for r in customer.analytic_rules if "Kaseya" in r.name]
    assert kaseya.severity == "Low"
    assert kaseya.query.rstrip().endswith('| where not(DeviceName in~ ("vsa-01", "o\'brien-pc"))')
    kql_or_skip()
    problems, status = check_content([*customer.parsers, kaseya])
    assert status.startswith("checked"), status
    assert [p for p in problems if p.is_error] == [], problems


def test_substituted_parameters_stay_valid_kql(content) -> None:
    from packer.kql import check_content

    overlay = Overlay(parameters={"KnownHosts": ("jump01", 'we"ird'), "FailureThreshold": 12}, origin="t")
    customer = apply_overlays(content, overlay)
    kql_or_skip()
    problems, status = check_content(customer.analytic_rules)
    assert status.startswith("checked"), status
    assert [p for p in problems if p.is_error] == [], problems


def test_threshold_override_applies_to_scheduled_rules_and_the_schema_bounds_it(tmp_path: Path, content) -> None:
    overlay = Overlay(overrides=(Override(Selector(kind="AnalyticsRule"), trigger_threshold=7),), origin="t")
    rules = {r.id: r for r in apply_overlays(content, overlay).analytic_rules}
    assert rules[SIGNIN_RULE_ID].trigger_threshold == 7
    assert rules[NRT_RULE_ID].trigger_threshold is None  # NRT rules have no threshold
    text = fleet_inventory(workspaces=1).replace(
        "    tags: [std]", "    tags: [std]\n    overlay:\n      overrides:\n"
        "        - {select: {id: " + SIGNIN_RULE_ID + "}, triggerThreshold: 10001}")
    (tmp_path / "targets.yaml").write_text(text)
    with pytest.raises(ConfigError, match="triggerThreshold"):
        load_inventory(tmp_path / "targets.yaml")
