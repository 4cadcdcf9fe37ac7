"""Waiting for an asynchronous ARM operation: poll its Azure-AsyncOperation URL until `status`
is terminal, honouring Retry-After, within a bound.

A watchlist PUT with rawContent is one (Watchlists_CreateOrUpdate, `x-ms-long-running-operation`,
`final-state-via: azure-async-operation`, Watchlists.json 2024-09-01): its items are not there
until the operation completes, so nothing that depends on them (the metadata recording their
hash) may be written before. Microsoft's advice is the same: poll the header's URL and go on
only once the operation is done (Azure/Azure-Sentinel#10044).
Not azure-core's LROPoller: it polls on a thread with no bound on the polls (result(timeout)
returns and leaves the thread polling), and Sentinel's watchlist status monitor has been seen
never to reach a terminal state (pulumi/pulumi-azure-native#4816, Azure/azure-sdk-for-go#26937).
The polls still go through the SDK client's pipeline (WorkspaceClient), and Retry-After is parsed
by azure-core's RetryPolicy.
A watchlist DELETE is one too (Watchlists_Delete: 202 + Azure-AsyncOperation from api-version
2024-04-01-preview on, Azure/Azure-Sentinel#10044). Its status has been seen to stay `Deleting`
although the watchlist is gone within seconds (pulumi/pulumi-azure-native#4816, fixed there in
#4817 by reading the resource), so a delete's wait also ends once `gone()` says the resource is
no longer there.
"""
from __future__ import annotations

import time
from typing import Callable

from azure.core.pipeline.policies import RetryPolicy

from packer import resource_ids
from packer.remote.errors import OperationFailed

SUCCEEDED = "succeeded"
FAILED = ("failed", "canceled", "cancelled")

Poll = Callable[[], tuple[dict, str | None]]  # one GET of the status URL: (body, Retry-After header)


def wait_for_operation(poll: Poll, resource_id: str, *, timeout: float, interval: float, method: str = "PUT",
                       gone: Callable[[], bool] | None = None,
                       sleep: Callable[[float], None] = time.sleep,
                       clock: Callable[[], float] = time.monotonic) -> dict:
    """Poll until the operation `method` started on `resource_id` succeeds (its last status body
    is returned); OperationFailed when it fails, is canceled or is still running after `timeout`
    seconds. With `gone` (a delete), a status still running while gone() is true counts as done.
    Between polls: the Retry-After the service asks for, else `interval` seconds."""
    deadline = clock() + timeout
    what = describe(resource_id, method)
    while True:
        body, retry_after = poll()
        status = str(body.get("status") or "")
        if status.lower() == SUCCEEDED:
            return body
        if status.lower() in FAILED:
            error = body.get("error") or {}
            detail = f": {error.get('code', '')}: {error.get('message', '')}".rstrip(": ") if error else ""
            raise OperationFailed(None, "OperationFailed", f"{what} ended {status}{detail}", resource_id, method)
        if gone is not None and gone():
            return body
        delay = _delay(retry_after, interval)
        if clock() + delay >= deadline:
            raise OperationFailed(None, "OperationTimedOut",
                                  f"{what} was still {status or 'running'} after {timeout:g}s; "
                                  "it may yet complete: run plan again to see where it stands", resource_id, method)
        sleep(delay)


def describe(resource_id: str, method: str = "PUT") -> str:
    """What an error names: the upload (or deletion) of watchlist 'alias', or the operation on a resource."""
    name = resource_ids.name_of(resource_id)
    if "/watchlists/" in resource_id.lower():
        return f"the {'deletion' if method == 'DELETE' else 'upload'} of watchlist '{name}'"
    return f"the operation on '{name}'"


def _delay(retry_after: str | None, interval: float) -> float:
    if retry_after:
        try:
            return max(0.0, RetryPolicy().parse_retry_after(retry_after))
        except (ValueError, TypeError):
            pass
    return interval
