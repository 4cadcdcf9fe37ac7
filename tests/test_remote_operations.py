"""packer.remote.operations: polling an Azure-AsyncOperation URL (Retry-After, failure, bound).
The apply path on the emulator is in test_automation_watchlists."""
from __future__ import annotations

import pytest

from packer.remote.errors import OperationFailed
from packer.remote.operations import wait_for_operation

WATCHLIST = ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w/"
             "providers/Microsoft.SecurityInsights/watchlists/Assets")


def _answers(*answers):
    pending = list(answers)
    return lambda: pending.pop(0)


def test_it_waits_as_long_as_retry_after_says_then_returns_the_final_status():
    slept = []
    done = wait_for_operation(_answers(({"status": "InProgress"}, "3"), ({"status": "InProgress"}, None),
                                       ({"status": "Succeeded", "percentComplete": 100}, None)),
                              WATCHLIST, timeout=60, interval=5, sleep=slept.append, clock=lambda: 0.0)
    assert slept == [3.0, 5.0] and done["percentComplete"] == 100


def test_a_failed_upload_is_an_error_naming_the_watchlist_and_the_services_reason():
    with pytest.raises(OperationFailed) as failed:
        wait_for_operation(_answers(({"status": "Failed", "error": {"code": "BadContent",
                                                                    "message": "row 3 has no key"}}, None)),
                           WATCHLIST, timeout=60, interval=5, sleep=lambda s: None)
    assert failed.value.code == "OperationFailed"
    assert failed.value.message == "the upload of watchlist 'Assets' ended Failed: BadContent: row 3 has no key"


def test_the_wait_is_bounded():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    forever = lambda: ({"status": "InProgress"}, "10")  # noqa: E731
    with pytest.raises(OperationFailed) as timed_out:
        wait_for_operation(forever, WATCHLIST, timeout=25, interval=5, sleep=sleep, clock=lambda: now[0])
    assert timed_out.value.code == "OperationTimedOut" and slept == [10.0, 10.0]
    assert "watchlist 'Assets' was still InProgress after 25s" in timed_out.value.message


def test_a_delete_whose_status_stays_deleting_is_done_once_the_resource_is_gone():
    """pulumi/pulumi-azure-native#4816: the delete's status kept answering `Deleting` after the
    watchlist was gone; the wait reads the resource and stops there."""
    reads = iter([False, True])  # still there after the first poll, gone after the second
    stuck = lambda: ({"status": "Deleting", "percentComplete": 100.0}, "0")  # noqa: E731
    done = wait_for_operation(stuck, WATCHLIST, timeout=60, interval=5, method="DELETE",
                              gone=lambda: next(reads), sleep=lambda s: None, clock=lambda: 0.0)
    assert done["status"] == "Deleting"


def test_a_delete_that_never_ends_is_an_error_naming_the_deletion_of_the_watchlist():
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    stuck = lambda: ({"status": "Deleting"}, None)  # noqa: E731
    with pytest.raises(OperationFailed) as timed_out:
        wait_for_operation(stuck, WATCHLIST, timeout=12, interval=5, method="DELETE", gone=lambda: False,
                           sleep=sleep, clock=lambda: now[0])
    assert timed_out.value.code == "OperationTimedOut" and timed_out.value.method == "DELETE"
    assert "the deletion of watchlist 'Assets' was still Deleting after 12s" in timed_out.value.message
