"""Issue 19: the inverses export writes of the packager's text quirks, and safe file names. The
round trip proves them on real content (test_export_roundtrip); these name each case."""
from __future__ import annotations

import pytest

from packer.bodies.properties import hunting_description, rule_description
from packer.export.convert import _hunting_description, _rule_description, safe_stem, short_duration


@pytest.mark.parametrize("live", ["plain", "'quoted' start", '"double"', "ends with a newline\n", "tail  ", ""])
def test_a_rule_description_renders_back_to_the_live_text(live):
    assert rule_description(_rule_description(live)) == live


@pytest.mark.parametrize("live", ["plain", "'", "'start", "end'", " leading space", "trailing\n", ""])
def test_a_hunting_description_renders_back_to_the_live_text(live):
    assert hunting_description(_hunting_description(live)) == live


@pytest.mark.parametrize("iso, short", [("PT5M", "5m"), ("PT1H", "1h"), ("PT90M", "90m"), ("P1D", "1d"),
                                        ("PT24H", "1d"), ("P1DT2H", "26h"), ("PT30S", "PT30S")])
def test_durations_are_written_short_and_mean_the_same(iso, short):
    assert short_duration(iso) == short


@pytest.mark.parametrize("name", ["../../etc/passwd", "CON", "a/b\\c:d*e?f", "Ünïcödé rule", "", "." * 300])
def test_file_names_from_display_names_are_safe_and_stable(name):
    stem = safe_stem(name, "1f2e3d4c-aaaa-bbbb-cccc-000000000000")
    assert stem == safe_stem(name, "1f2e3d4c-aaaa-bbbb-cccc-000000000000")
    assert stem.endswith("-1f2e3d4c") and len(stem) <= 69
    assert all(c.isascii() and (c.isalnum() or c in "_-") for c in stem)


def test_two_different_rules_under_one_id_in_two_workspaces_make_one_item_and_a_fork():
    from packer.export.convert import rule_document
    from packer.export.fleet import defork
    from packer.export.workspace import WorkspaceRead
    from packer.plan.live import LiveState
    from packer.targets.model import Target

    def read(workspace: str, query: str) -> WorkspaceRead:
        body = {"id": f"/x/{workspace}/alertRules/0b1f6c3e-7d55-4d7e-9a53-6a6a2b0c00aa", "kind": "NRT",
                "properties": {"displayName": f"rule of {workspace}", "query": query, "severity": "Low"}}
        target = Target(workspace, "t", "s", "rg", workspace, "o/r")
        return WorkspaceRead(target, LiveState({}, {}), (rule_document(body, None),))

    plan = defork([read("a", "SecurityEvent | take 1"), read("b", "Syslog | take 2")])

    assert [d.name for d in plan.docs] == ["rule of a"]
    assert [(w, d.name) for w, d in plan.forks] == [("b", "rule of b")]
    assert plan.overlays["b"]["disable"] == [{"id": "0b1f6c3e-7d55-4d7e-9a53-6a6a2b0c00aa", "kind": "AnalyticsRule"}]
    assert "under its id" in plan.items[0].sentence()
