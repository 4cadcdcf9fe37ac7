"""The fleet shares one KQL analysis per query text (and parser text), not one per workspace."""
from __future__ import annotations

import dataclasses

import packer.rollout.tables as rollout_tables
from packer.content.load import load_content_unchecked
from packer.plan.tables import QueryNeeds
from packer.rollout.tables import SharedTablesNeeded
from tests.conftest import CONTENT


def counting(monkeypatch) -> list[str]:
    asked: list[str] = []

    def needs(query, parsers=()):
        asked.append(query)
        return QueryNeeds(frozenset({"DeviceProcessEvents"}) if "DeviceProcessEvents" in query else frozenset())

    monkeypatch.setattr(rollout_tables, "default_query_needs", needs)
    return asked


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
