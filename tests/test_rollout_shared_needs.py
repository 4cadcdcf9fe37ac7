"""The fleet shares one KQL analysis per query: doctor and rollout ask once, not once per workspace."""
from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import packer.rollout.shared_needs as rollout_tables
from packer.auth import CredentialProvider
from packer.content.load import load_content_unchecked
from packer.plan.query_needs import QueryNeeds
from packer.rollout.budget import FleetBudgets
from packer.rollout.connection import FleetConnection
from packer.rollout.doctor import doctor
from packer.rollout.shared_needs import SharedTablesNeeded
from packer.targets import load_inventory
from tests.conftest import CONTENT
from tests.fleetkit import emulator_config, fleet_inventory, write_content


def counting(monkeypatch) -> list[str]:
    asked: list[str] = []

    def needs(query, parsers=(), schema_dirs=()):
        asked.append(query)
        return QueryNeeds(frozenset({"DeviceProcessEvents"}) if "DeviceProcessEvents" in query else frozenset())

    monkeypatch.setattr(rollout_tables, "default_query_needs", needs)
    return asked


def test_doctor_analyses_each_query_once_for_the_whole_fleet(tmp_path: Path, emulator_factory, monkeypatch) -> None:
    content = load_content_unchecked(write_content(tmp_path / "content"))
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=4, subscriptions=2))
    inventory = load_inventory(tmp_path / "targets.yaml")
    emulator = emulator_factory(emulator_config(inventory, missing_tables={"ws02": ["DeviceProcessEvents"]}))
    connection = FleetConnection(CredentialProvider(inventory, lambda t: emulator.credential(t.tenant_id)),
                                 emulator.base_url, emulator.ca_path, budgets=FleetBudgets(None))
    asked = counting(monkeypatch)

    results = {r.target: r for r in doctor(content, inventory, inventory.select(), connection)}

    assert set(results) == {"ws00", "ws01", "ws02", "ws03"}
    assert not results["ws02"].ok and results["ws00"].ok  # the shared answers still decide per workspace
    workspace_queries = {(item.query, tuple(p.query for p in c.parsers))
                         for c in (inventory.content_for(content, t) for t in inventory.select())
                         for item in (*c.analytic_rules, *c.hunting_queries)}
    assert asked and len(asked) == len(workspace_queries) < 4 * len(workspace_queries)


def test_a_parser_changed_by_an_overlay_gets_its_own_analysis(monkeypatch) -> None:
    content = load_content_unchecked(CONTENT)
    assert content.parsers and content.analytic_rules
    changed = dataclasses.replace(content, parsers=tuple(
        dataclasses.replace(p, query=p.query + "\n| where DeviceName != 'excluded'") for p in content.parsers))
    asked = counting(monkeypatch)
    shared = SharedTablesNeeded()
    rule = content.analytic_rules[0]

    shared.needs_for(content)(rule)
    shared.needs_for(content)(rule)
    assert len(asked) == 1
    shared.needs_for(changed)(rule)
    assert len(asked) == 2


def test_workspaces_asking_the_same_query_at_once_share_one_analysis(monkeypatch) -> None:
    """Parallel workspaces reach the same rule together; each used to miss the cache and queue
    the same query on the one KQL worker."""
    content = load_content_unchecked(CONTENT)
    rule = content.analytic_rules[0]
    asked: list[str] = []
    release = threading.Event()

    def slow_needs(query, parsers=(), schema_dirs=()):
        asked.append(query)
        release.wait(5)
        return QueryNeeds(frozenset({"DeviceNetworkEvents"}))

    monkeypatch.setattr(rollout_tables, "default_query_needs", slow_needs)
    shared = SharedTablesNeeded()
    shared._lock = looked_up = _CountingLock(4)
    with ThreadPoolExecutor(4) as pool:
        answers = [pool.submit(shared.needs_for(content), rule) for _ in range(4)]
        # every thread has looked in the cache while the first is still being answered (an
        # event, not a sleep: on a slow machine a sleep may end before the threads get there)
        assert looked_up.reached.wait(10)
        release.set()
        tables = {future.result().tables for future in answers}
    assert tables == {frozenset({"DeviceNetworkEvents"})}
    assert asked == [rule.query]


class _CountingLock:
    """A lock that sets `reached` once it has been entered `count` times."""

    def __init__(self, count: int) -> None:
        self._lock = threading.Lock()
        self._left = count
        self.reached = threading.Event()

    def __enter__(self):
        self._lock.acquire()
        self._left -= 1
        if self._left <= 0:
            self.reached.set()
        return self

    def __exit__(self, *exc) -> None:
        self._lock.release()
