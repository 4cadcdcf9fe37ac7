"""An NRT rule through plan/apply on the emulator: written at the preview api-version that
defines NRT (no stable spec does), read back and re-planned clean; Scheduled rules stay on GA."""
from __future__ import annotations

import re

import pytest

from packer.apply import Outcome
from packer.plan.model import Action
from packer.remote.api_versions import SECURITY_INSIGHTS, SECURITY_INSIGHTS_PREVIEW
from tests.conftest import CONTENT
from tests.plankit import KASEYA_RULE, MESH_RULE, copy_content, deployment

SCHEDULE_ONLY = ("queryFrequency", "queryPeriod", "triggerOperator", "triggerThreshold")


def make_nrt(path) -> None:
    """The Scheduled rule as NRT: no schedule or trigger, everything else the same."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not re.match(rf"^({'|'.join(SCHEDULE_ONLY)}):", line)]
    assert len(kept) == len(lines) - len(SCHEDULE_ONLY)
    text, count = re.subn(r"^kind: Scheduled$", "kind: NRT", "".join(kept), flags=re.M)
    assert count == 1
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def dep(emulator, tmp_path):
    repo = copy_content(CONTENT, tmp_path)
    make_nrt(repo / "analytic-rules" / "rmm_MeshCentral_createproc.yaml")
    deployment_ = deployment(emulator, repo)
    yield deployment_
    deployment_.client.close()


def _rule_requests(emulator, method: str, rule_id: str) -> list:
    return [r for r in emulator.requests if r.method == method and r.path.lower().endswith(f"/alertrules/{rule_id}")]


def test_an_nrt_rule_applies_at_the_preview_version_and_replans_clean(dep, emulator):
    first = dep.plan()
    assert {i.key: i.action for i in first.items}[f"AnalyticsRule/{MESH_RULE}"] is Action.CREATE

    report = dep.apply(first)

    assert report.ok and report.counts[Outcome.CREATED] == len(first.items)
    stored = emulator.store.get(dep.client.sentinel_collection("alertRules") + f"/{MESH_RULE}")
    assert stored["kind"] == "NRT" and not set(SCHEDULE_ONLY) & set(stored["properties"])
    assert [(r.status, r.api_version) for r in _rule_requests(emulator, "PUT", MESH_RULE)] == [
        (201, SECURITY_INSIGHTS_PREVIEW)]
    assert [(r.status, r.api_version) for r in _rule_requests(emulator, "PUT", KASEYA_RULE)] == [
        (201, SECURITY_INSIGHTS)]

    again = dep.plan()
    assert not again.has_changes
    assert {i.key: i.action for i in again.items}[f"AnalyticsRule/{MESH_RULE}"] is Action.UNCHANGED
    lists = [r.api_version for r in emulator.requests if r.method == "GET" and r.path.lower().endswith("/alertrules")]
    assert lists and set(lists) == {SECURITY_INSIGHTS_PREVIEW}  # the stable list would leave NRT rules out


def test_an_nrt_rule_is_pruned_at_the_preview_version(dep, emulator):
    dep.apply()
    (dep.root / "analytic-rules" / "rmm_MeshCentral_createproc.yaml").unlink()

    plan = dep.plan()
    assert {i.key: i.action for i in plan.items}[f"AnalyticsRule/{MESH_RULE}"] is Action.PRUNE
    assert dep.apply(plan, prune=True).ok
    assert emulator.store.get(dep.client.sentinel_collection("alertRules") + f"/{MESH_RULE}") is None
    assert [r.api_version for r in _rule_requests(emulator, "DELETE", MESH_RULE)] == [SECURITY_INSIGHTS_PREVIEW]
