"""Races between plan and apply (issue 14, finding 1): a create never overwrites what someone
else created meanwhile, and never stamps it ours."""
from __future__ import annotations

import pytest

from packer.apply import Outcome, apply_plan
from packer.plan.model import Action
from packer.apply.writes import put_reconciled
from packer.plan.model import Write
from packer.remote.errors import Conflict, ConnectionFailed
from packer.bodies.resources import ResourceType
from tests.conftest import CONTENT
from tests.test_apply_client import _rule
from tests.plankit import copy_content, deployment


@pytest.fixture
def dep(emulator, tmp_path):
    deployment_ = deployment(emulator, copy_content(CONTENT, tmp_path))
    yield deployment_
    deployment_.client.close()


def test_rules_created_by_someone_else_after_the_plan_are_reported_never_overwritten(dep, emulator):
    plan = dep.plan()
    rules = [i for i in plan.items if i.resource_type == ResourceType.ALERT_RULE and i.action is Action.CREATE]
    assert rules
    theirs = {}
    for item in rules:  # a colleague creates rules at the planned ids between plan and apply
        theirs[item.resource_id] = emulator.store.put(item.resource_id, {"kind": "Scheduled", "properties": {
            "displayName": f"hand-made {item.name}", "severity": "Low", "query": "T", "enabled": False}})

    report = apply_plan(plan, dep.client, check_stale=False)

    failed = {r.resource_id: r for r in report.failures}
    assert set(failed) == set(theirs)
    for resource_id, before in theirs.items():
        assert "created by someone else meanwhile" in failed[resource_id].message
        assert failed[resource_id].outcome is Outcome.FAILED and failed[resource_id].writes == 0
        assert emulator.store.get(resource_id)["etag"] == before["etag"]  # not overwritten
    for item in rules:
        assert all(emulator.store.get(w.resource_id) is None for w in item.writes[1:])  # never stamped ours
    assert not report.ok


def test_a_create_meeting_an_existing_resource_is_refused_412_by_the_service(dep, emulator):
    """ARM's conditional create: If-None-Match: * on an existing resource answers 412."""
    rule_id = dep.client.sentinel_collection("alertRules") + "/raced"
    body = _rule("r")
    first = dep.client.put(rule_id, body, create=True)
    with pytest.raises(Conflict) as refused:
        dep.client.put(rule_id, _rule("second"), create=True)
    assert refused.value.status == 412
    assert emulator.store.get(rule_id)["etag"] == first["etag"]


class _DropsThenTheirs:
    """A create whose connection drops, while someone else's resource appears at the id."""

    def __init__(self):
        self.live = None
        self.calls = []

    def put(self, resource_id, body, etag=None, *, create=False):
        self.calls.append(("PUT", create))
        self.live = {"kind": "Scheduled", "properties": {"displayName": "theirs"}, "etag": '"9"'}
        raise ConnectionFailed("connection aborted", resource_id, "PUT")

    def get(self, resource_id):
        self.calls.append(("GET", None))
        return self.live


def test_a_dropped_create_that_finds_someone_elses_resource_is_not_resent():
    client = _DropsThenTheirs()
    with pytest.raises(Conflict, match="created by someone else meanwhile"):
        put_reconciled(client, Write("PUT", "/r", {"kind": "Scheduled", "properties": {"displayName": "ours"}},
                                     create=True))
    assert client.calls == [("PUT", True), ("GET", None)]
