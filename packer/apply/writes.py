"""One write of a plan, made safely: conditional on the etag read, reconciled when unsure.

azure-core retries 429/5xx and connections that never reached the server (packer.remote).
What it cannot do is decide what happened to a write whose connection dropped after it was
sent, or whether a 409/412 is someone else's change or our own earlier attempt that landed.
That is done here: re-read the resource and
- if it now holds exactly our body -> done (the write landed);
- if it is untouched (same etag as the plan read, or still absent) -> send again (tenacity,
  a few times with back-off);
- otherwise -> `Conflict`: someone else changed it; never overwritten blindly.
A create is sent with If-None-Match: * (`Write.create`): a resource someone else created at the
planned id since the plan is refused by the service (412) and reported, never overwritten.
Nothing azure-core already retried is retried again here: a connection that never reached the
server (after azure-core's connect retries) and a failed re-read are final.
"""
from __future__ import annotations

from typing import Callable

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from packer.plan.model import Write
from packer.remote.client import WorkspaceClient
from packer.remote.errors import Conflict, ConnectionFailed
from packer.remote.normalise import content_hash

RESEND_ATTEMPTS = 4


class _Resend(Exception):
    """The write was sent, its outcome unknown, and the re-read shows it did not land."""

    def __init__(self, dropped: ConnectionFailed):
        super().__init__(str(dropped))
        self.dropped = dropped


def execute(client: WorkspaceClient, write: Write) -> dict | None:
    """Make one write; a PUT returns the body the service stored (as answered or re-read)."""
    if write.method == "PUT":
        return put_reconciled(client, write)
    if write.method == "DELETE":
        delete_reconciled(client, write)
        return None
    raise ValueError(f"unknown write method {write.method}")


def _resending(send: Callable[[], dict | None]) -> dict | None:
    """Run `send` again (with back-off) while it raises _Resend; then give the drop back."""
    try:
        for attempt in Retrying(retry=retry_if_exception_type(_Resend), stop=stop_after_attempt(RESEND_ATTEMPTS),
                                wait=wait_exponential(multiplier=0.2, max=3), reraise=True):
            with attempt:
                return send()
    except _Resend as resend:
        raise resend.dropped from None
    return None


def put_reconciled(client: WorkspaceClient, write: Write) -> dict:
    body = dict(write.body or {})
    expected = content_hash(body)

    def send() -> dict:
        try:
            if write.create:
                return client.put(write.resource_id, body, create=True)
            return client.put(write.resource_id, body, write.etag)
        except ConnectionFailed as dropped:
            if not dropped.sent:
                raise  # never reached the server, after azure-core's own connect retries
            live = client.get(write.resource_id)
            if live is not None and content_hash(live) == expected:
                return live
            if (live is None) if write.create else (_etag(live) == write.etag):
                raise _Resend(dropped) from None  # untouched: our write never landed
            raise _changed(write, "while the connection dropped") from None
        except Conflict as conflict:
            live = client.get(write.resource_id)
            if live is not None and content_hash(live) == expected:
                return live  # an earlier attempt of ours landed
            if live is None and write.etag is None:
                raise  # not a concurrent change: the API refuses the create itself (say, a name in use)
            if write.create:
                raise Conflict(conflict.status, "CreatedConcurrently",
                               "created by someone else meanwhile (it did not exist when the plan was made); "
                               "nothing was overwritten: re-run plan", write.resource_id, "PUT") from None
            raise Conflict(conflict.status, conflict.code,
                           f"{conflict.message} (re-read: the resource was changed by someone else since "
                           "the plan; re-run plan)", write.resource_id, "PUT") from None

    return _resending(send)


def delete_reconciled(client: WorkspaceClient, write: Write) -> None:
    def send() -> None:
        try:
            client.delete(write.resource_id, write.etag)
        except ConnectionFailed as dropped:
            if not dropped.sent:
                raise
            live = client.get(write.resource_id)
            if live is None:
                return
            if _etag(live) == write.etag:
                raise _Resend(dropped) from None
            raise _changed(write, "while the connection dropped") from None
        except Conflict as conflict:
            if client.get(write.resource_id) is None:
                return
            raise Conflict(conflict.status, conflict.code,
                           f"{conflict.message} (re-read: changed by someone else since the plan; re-run plan)",
                           write.resource_id, "DELETE") from None

    _resending(send)


def _etag(live: dict | None) -> str | None:
    return None if live is None else live.get("etag")


def _changed(write: Write, when: str) -> Conflict:
    what = "created by someone else meanwhile" if write.create else "changed by someone else"
    return Conflict(None, "ConcurrentChange",
                    f"the resource was {what} {when}; nothing was overwritten: re-run plan",
                    write.resource_id, write.method)
