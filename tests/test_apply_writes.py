"""The write protocol without a server: what a dropped connection or a conflict leads to."""
from __future__ import annotations

import pytest

from packer.apply import writes
from packer.apply.writes import delete_reconciled, put_reconciled
from packer.plan.model import Write
from packer.remote.errors import Conflict, ConnectionFailed

BODY = {"kind": "Scheduled", "properties": {"displayName": "r", "query": "T"}}


class FakeClient:
    """Scripted answers: `put_errors`/`delete_errors` are raised in turn, `live` is what GET returns."""

    def __init__(self, live=None, put_errors=(), delete_errors=()):
        self.live = live
        self.put_errors = list(put_errors)
        self.delete_errors = list(delete_errors)
        self.calls: list[str] = []

    def put(self, resource_id, body, etag=None):
        self.calls.append(f"PUT {etag}")
        if self.put_errors:
            raise self.put_errors.pop(0)
        self.live = {**body, "etag": '"new"'}
        return self.live

    def delete(self, resource_id, etag=None):
        self.calls.append(f"DELETE {etag}")
        if self.delete_errors:
            raise self.delete_errors.pop(0)
        self.live = None
        return True

    def get(self, resource_id):
        self.calls.append("GET")
        return self.live


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(writes, "RESEND_ATTEMPTS", 3)
    monkeypatch.setattr(writes, "wait_exponential", lambda **_: (lambda retry_state: 0))


def dropped():
    return ConnectionFailed("connection aborted", "/r", "PUT")


def test_a_write_whose_connection_dropped_is_resent_when_the_resource_is_untouched():
    client = FakeClient(live={**BODY, "etag": '"1"', "properties": {"displayName": "old"}}, put_errors=[dropped()])
    put_reconciled(client, Write("PUT", "/r", BODY, '"1"'))
    assert client.calls == ['PUT "1"', "GET", 'PUT "1"']


def test_a_write_that_landed_before_the_drop_is_not_sent_again():
    class LandsThenDrops(FakeClient):
        def put(self, resource_id, body, etag=None):
            self.calls.append(f"PUT {etag}")
            self.live = {**body, "etag": '"2"', "id": resource_id, "systemData": {"createdBy": "x"}}
            raise dropped()

    client = LandsThenDrops()
    put_reconciled(client, Write("PUT", "/r", BODY, None))
    assert client.calls == ["PUT None", "GET"]


def test_a_resource_changed_by_someone_else_during_a_drop_is_never_overwritten():
    client = FakeClient(live={"kind": "Scheduled", "properties": {"displayName": "theirs"}, "etag": '"9"'},
                        put_errors=[dropped()])
    with pytest.raises(Conflict, match="changed by someone else"):
        put_reconciled(client, Write("PUT", "/r", BODY, '"1"'))
    assert client.calls == ['PUT "1"', "GET"]


def test_a_conflict_is_success_only_when_the_live_body_is_ours():
    ours = FakeClient(live={**BODY, "etag": '"2"'}, put_errors=[Conflict(412, "PreconditionFailed", "stale", "/r")])
    put_reconciled(ours, Write("PUT", "/r", BODY, '"1"'))
    theirs = FakeClient(live={"properties": {"displayName": "x"}, "etag": '"2"'},
                        put_errors=[Conflict(412, "PreconditionFailed", "stale", "/r")])
    with pytest.raises(Conflict, match="PreconditionFailed|stale"):
        put_reconciled(theirs, Write("PUT", "/r", BODY, '"1"'))
    assert theirs.calls == ['PUT "1"', "GET"]


def test_persistent_drops_give_up_with_the_connection_error():
    client = FakeClient(put_errors=[dropped() for _ in range(10)])
    with pytest.raises(ConnectionFailed):
        put_reconciled(client, Write("PUT", "/r", BODY, None))
    assert client.calls.count("PUT None") == 3


def test_deletes_are_done_when_the_resource_is_gone():
    client = FakeClient(live=None, delete_errors=[dropped()])  # the delete landed, then the connection dropped
    delete_reconciled(client, Write("DELETE", "/r", etag='"1"'))
    assert client.calls == ['DELETE "1"', "GET"]


def test_a_delete_of_an_untouched_resource_is_resent():
    client = FakeClient(live={**BODY, "etag": '"1"'}, delete_errors=[dropped()])
    delete_reconciled(client, Write("DELETE", "/r", etag='"1"'))
    assert client.calls == ['DELETE "1"', "GET", 'DELETE "1"'] and client.live is None


def test_a_connection_that_never_reached_the_server_is_not_retried_twice():
    never_sent = ConnectionFailed("connection refused", "/r", "PUT", sent=False)
    client = FakeClient(put_errors=[never_sent, never_sent])
    with pytest.raises(ConnectionFailed):
        put_reconciled(client, Write("PUT", "/r", BODY, None))
    assert client.calls == ["PUT None"]  # azure-core already made its connect retries
