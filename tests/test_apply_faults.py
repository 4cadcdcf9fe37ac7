"""429/5xx under load (issue 14, finding 7): retried up to the configured count, honouring
Retry-After, so a fault storm converges in one apply. azure-core's RetryPolicy counts status
retries separately (`retry_status`, 3 by default whatever `retry_total` says)."""
from __future__ import annotations

import time
from collections import Counter

import pytest

from bench.apply import generate
from packer.apply import Outcome
from packer.remote.errors import ServerError
from tests.test_apply_client import _rule
from tests.plankit import deployment

FAULTS = (429, 500, 503)


def test_a_fault_storm_on_192_items_converges_in_one_apply_without_duplicates(emulator_factory, tmp_path):
    emu = emulator_factory({"throttling": {"enabled": False},  # the storm alone: no waits for ARM's buckets
                            "faults": {"seed": 14, "error_rate": 0.3, "error_statuses": list(FAULTS)}})
    root = tmp_path / "content"
    generate(root, 192)
    dep = deployment(emu, root)  # the client's default retry count; short back-off to keep the test fast
    try:
        plan = dep.plan()
        report = dep.apply(plan, check_stale=False)
    finally:
        dep.client.close()

    assert report.ok, [(f.name, f.message) for f in report.failures]
    assert report.counts[Outcome.CREATED] == 192
    statuses = Counter(r.status for r in emu.requests)
    assert sum(statuses[s] for s in FAULTS) > 0.2 * sum(statuses.values())  # the storm did happen
    stored = [r for r in emu.store.dump() if r.get("properties", {}).get("displayName") or
              r.get("properties", {}).get("DisplayName")]
    names = Counter((r["type"].lower(), (r["properties"].get("displayName") or r["properties"]["DisplayName"]))
                    for r in stored)
    assert [n for n, count in names.items() if count > 1] == []  # 0 duplicates
    assert sum(names.values()) == 192


@pytest.fixture
def client(emulator, tmp_path):
    dep = deployment(emulator, tmp_path)
    yield dep.client
    dep.client.close()


def test_5xx_are_retried_up_to_the_configured_count_not_azure_cores_three(emulator, client):
    rule_id = client.sentinel_collection("alertRules") + "/storm"
    emulator.faults.script("PUT", r"/alertRules/storm$", 503, times=5)

    client.put(rule_id, _rule("storm"), create=True)

    attempts = [r.status for r in emulator.requests if r.method == "PUT" and r.path.endswith("/storm")]
    assert attempts == [503] * 5 + [200 if attempts[-1] == 200 else 201]


def test_a_smaller_configured_count_is_honoured(emulator, tmp_path):
    dep = deployment(emulator, tmp_path, retry_total=2)
    emulator.faults.script("PUT", r"/alertRules/few$", 500, times=5)
    try:
        with pytest.raises(ServerError):
            dep.client.put(dep.client.sentinel_collection("alertRules") + "/few", _rule("few"), create=True)
    finally:
        dep.client.close()
    assert sum(1 for r in emulator.requests if r.method == "PUT" and r.path.endswith("/few")) == 3


def test_429_waits_as_long_as_retry_after_says(emulator, client, monkeypatch):
    slept: list[float] = []
    real_sleep = time.sleep

    def recording(seconds):
        slept.append(seconds)
        real_sleep(min(seconds, 0.01))

    monkeypatch.setattr(time, "sleep", recording)
    emulator.faults.script("PUT", r"/alertRules/paced$", 429, times=2, retry_after=7)

    client.put(client.sentinel_collection("alertRules") + "/paced", _rule("paced"), create=True)

    assert slept.count(7) == 2
