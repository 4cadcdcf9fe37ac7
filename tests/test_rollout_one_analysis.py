"""The fleet shares one KQL analysis per query (packer.kql.cache): doctor, fleet plan and rollout
ask the analysis cache, so a query is analysed once, not once per workspace."""
from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from packer.auth import CredentialProvider
from packer.content.load import load_content_unchecked
from packer.plan.query_needs import default_query_needs
from packer.rollout.budget import FleetBudgets
from packer.rollout.connection import FleetConnection
from packer.rollout.doctor import doctor
from packer.targets import load_inventory
from tests.conftest import CONTENT, kql_or_skip, worker_requests
from tests.fleetkit import emulator_config, fleet_inventory, write_content


@pytest.fixture(autouse=True)
def kql():
    kql_or_skip("one analysis per query")


def test_doctor_analyses_each_query_once_for_the_whole_fleet(tmp_path: Path, emulator_factory, monkeypatch) -> None:
    content = load_content_unchecked(write_content(tmp_path / "content"))  # no validation: nothing known yet
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=4, subscriptions=2))
    inventory = load_inventory(tmp_path / "targets.yaml")
    emulator = emulator_factory(emulator_config(inventory, missing_tables={"ws02": ["DeviceProcessEvents"]}))
    connection = FleetConnection(CredentialProvider(inventory, lambda t: emulator.credential(t.tenant_id)),
                                 emulator.base_url, emulator.ca_path, budgets=FleetBudgets(None))
    sent = worker_requests(monkeypatch)

    results = {r.target: r for r in doctor(content, inventory, inventory.select(), connection)}

    assert set(results) == {"ws00", "ws01", "ws02", "ws03"}
    assert not results["ws02"].ok and results["ws00"].ok  # the shared answers still decide per workspace
    workspace_queries = {(item.query, tuple(p.query for p in c.parsers))
                         for c in (inventory.content_for(content, t) for t in inventory.select())
                         for item in (*c.analytic_rules, *c.hunting_queries)}
    assert sent and len(sent) <= len(workspace_queries) < 4 * len(workspace_queries)
    assert len(sent) == len(set(sent))


def test_a_parser_changed_by_an_overlay_gets_its_own_analysis(monkeypatch) -> None:
    content = load_content_unchecked(CONTENT)
    changed = tuple(dataclasses.replace(p, query=p.query + "\n| where DeviceName != 'excluded'") for p in content.parsers)
    parser = content.parsers[0]
    query = f"{parser.function_alias}\n| take 1"
    sent = worker_requests(monkeypatch)

    first = default_query_needs(query, content.parsers)
    default_query_needs(query, content.parsers)
    assert sent == [query]
    default_query_needs(query, changed)
    assert sent == [query, query]  # the parser it calls changed: its answer may differ
    default_query_needs("DeviceNetworkEvents | take 1", content.parsers)
    default_query_needs("DeviceNetworkEvents | take 1", changed)  # calls no parser: same answer holds
    assert len(sent) == 3 and first.tables


def test_workspaces_asking_the_same_query_at_once_share_one_analysis(monkeypatch) -> None:
    """Parallel workspaces reach the same rule together: one asks the worker, the rest wait for
    its answer instead of queueing the same query again."""
    content = load_content_unchecked(CONTENT)
    rule = content.analytic_rules[0]
    sent = worker_requests(monkeypatch)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: default_query_needs(rule.query, content.parsers), range(4)))
    assert len({a.tables for a in answers}) == 1 and answers[0].tables
    assert sent == [rule.query]
