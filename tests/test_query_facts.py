"""One analysis per query: validation's KQL pass records what each query reads (tables, columns,
the parsers it calls, its output columns); plan and doctor read that as data and analyse only the
queries validation did not see (those an overlay changed)."""
from __future__ import annotations

import dataclasses

import pytest

from packer.content.load import load_content_unchecked
from packer.kql import KqlUnavailable, tables_used
from packer.kql.analyser import find_node
from packer.kql.check import analyse_content
from packer.plan.model import Action
from packer.rollout.fleet_plan import plan_fleet
from packer.validate import load_content
from tests.conftest import CONTENT, worker_requests
from tests.fleetkit import KASEYA_RULE_ID, fleet_without_remote_url


@pytest.fixture(scope="module")
def node_available():
    try:
        find_node()
    except KqlUnavailable as exc:
        pytest.skip(f"query facts come from Kusto.Language (Node.js and `npm ci`): {exc}")


def test_the_kql_pass_records_what_each_query_reads(node_available):
    content = load_content_unchecked(CONTENT)
    parser = content.parsers[0]
    rule = dataclasses.replace(content.analytic_rules[0],
                               query=f"{parser.function_alias}\n| summarize Hits=count() by DeviceName")
    content = dataclasses.replace(content, analytic_rules=(rule, *content.analytic_rules[1:]))

    result = analyse_content(content.items)
    facts = dataclasses.replace(content, query_facts=result.facts).facts(rule.query)

    assert facts is not None and facts.functions == {parser.function_alias}
    assert facts.tables and facts.tables == tables_used(parser.query)  # read through the parser it calls
    assert facts.output_columns == ("DeviceName", "Hits")
    assert all(columns for columns in facts.columns.values())
    changed_parser = dataclasses.replace(parser, query=parser.query + "\n| take 1")
    other = dataclasses.replace(content, parsers=(changed_parser, *content.parsers[1:]), query_facts=result.facts)
    assert other.facts(rule.query) is None  # the facts held for the parsers as validated


def test_a_fleet_plan_analyses_only_the_queries_an_overlay_changed(node_available, tmp_path, emulator_factory,
                                                                   monkeypatch):
    content, inventory, connection = fleet_without_remote_url(tmp_path, emulator_factory, workspaces=4,
                                                              load=load_content)  # validated, KQL included
    analysed = worker_requests(monkeypatch)

    fleet = plan_fleet(content, inventory, inventory.select(), connection, commit="c1", parallel=1)

    validated = {rule.query for rule in content.analytic_rules}
    assert all(content.facts(query) is not None for query in validated)
    overlaid = {rule.query for target in inventory.select()
                for rule in inventory.content_for(content, target).analytic_rules} - validated
    assert overlaid, "the fleet's overlays change some query"
    assert analysed and set(analysed) <= overlaid  # validated queries are read as data, never re-analysed
    assert len(analysed) == len(set(analysed))  # each overlaid query once for the whole fleet
    kaseya = {p.target.name: next(i for i in p.plan.items if i.key == f"AnalyticsRule/{KASEYA_RULE_ID}")
              for p in fleet.workspaces}
    assert kaseya["ws01"].action is Action.BLOCKED and kaseya["ws01"].reason == "DeviceNetworkEvents lacks column RemoteUrl"
    assert kaseya["ws00"].action is Action.CREATE
