"""Watchlist behaviour beyond one resource: bulk item creation from `rawContent`, and items
going with their watchlist.

Watchlists_CreateOrUpdate "creates or updates a Watchlist and its Watchlist Items (bulk creation,
e.g. through text/csv content type)" when the body has rawContent and contentType
(Watchlists.json 2024-09-01; CreateWatchlistAndWatchlistItems.json skips `numberOfLinesToSkip`
lines before the header). Each CSV row becomes an item named by a new GUID. Deleting a watchlist
deletes its items (the items live under it: .../watchlists/{alias}/watchlistItems).

The upload is asynchronous. Watchlists_CreateOrUpdate is `x-ms-long-running-operation` with
`final-state-via: azure-async-operation`; its 201 "includes the Provisioning State and the
Azure-AsyncOperation header"; `uploadStatus` is "New, InProgress or Complete" and "when a
Watchlist upload status is InProgress, the Watchlist cannot be deleted" (Watchlists.json
2024-09-01). Microsoft confirmed that the upload returns a status header like the delete's and
that clients should poll it before going on (Azure/Azure-Sentinel#10044, comment of 2024-12-24).
The status URL sits under the watchlist, `.../watchlists/{alias}/watchlistStatuses/{id}`, and
answers an OperationStatusResult with `percentComplete` (the body quoted in
pulumi/pulumi-azure-native#4816). So here a PUT with rawContent stores the watchlist with
uploadStatus and provisioningState InProgress, answers with Azure-AsyncOperation, and writes the
items only when the operation completes (operations.py: after `watchlist_upload_polls` polls or
`watchlist_upload_seconds`); then uploadStatus is Complete and provisioningState Succeeded.
A DELETE meanwhile is refused: 409 Conflict (INFERRED: no public report shows the service's
code or wording for it).

The delete is asynchronous too, from api-version 2024-04-01-preview on: Watchlists_Delete is
`x-ms-long-running-operation` (`final-state-via: azure-async-operation`) answering 202 with
Azure-AsyncOperation and Location, or 204 (Watchlists.json 2024-09-01); Microsoft: "the
2024-04-01-preview or later API versions ... will return a 202 (Accepted) status code for the
Delete a Watchlist action, along with an Azure-AsyncOperation header" (Azure/Azure-Sentinel#10044).
Its status is polled at the same `watchlistStatuses` URL, which still answers once the watchlist
is gone (pulumi/pulumi-azure-native#4816). DeleteWatchlist.json's 200 is what older versions
answer (their delete was synchronous). Here the watchlist and its items go when the operation
completes (the same polls/seconds as an upload); a second DELETE meanwhile answers 202 with the
first one's status URL (INFERRED: ARM's DELETE is idempotent; no report shows the service's answer)
and a PUT is refused, 409 "Delete is currently in progress." (the text users report, #10044's title;
the code is INFERRED).
"""
from __future__ import annotations

import csv
import io
import uuid

from packer.emulator import armerrors
from packer.emulator.armerrors import ArmError
from packer.emulator.routes import KINDS, Route

STATUSES = "watchlistStatuses"


def bulk_items(route: Route, props: dict) -> list[tuple[Route, dict]]:
    """(item route, item body) per CSV row of `rawContent`; [] without it. 400 for what Sentinel
    cannot take: a content type other than CSV/TSV, no header, or a search key the header lacks."""
    raw = props.get("rawContent")
    if not raw:
        return []
    content_type = str(props.get("contentType") or "").lower()
    if content_type not in ("text/csv", "text/tsv"):
        raise armerrors.bad_request("The contentType of the raw content must be text/csv or text/tsv.",
                                    target="properties.contentType")
    lines = str(raw).replace("\r\n", "\n").split("\n")[int(props.get("numberOfLinesToSkip") or 0):]
    delimiter = "\t" if content_type == "text/tsv" else ","
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    if not rows or not any(h.strip() for h in rows[0]):
        raise armerrors.bad_request("The raw content has no header row.", target="properties.rawContent")
    header = [h.strip() for h in rows[0]]
    key = props.get("itemsSearchKey")
    if key not in header:
        raise armerrors.bad_request(f"The search key '{key}' is not a column of the raw content "
                                    f"({', '.join(header)}).", target="properties.itemsSearchKey")
    items = []
    kind = KINDS["watchlistitems"]
    for row in rows[1:]:
        if not any(v.strip() for v in row):
            continue
        values = dict(zip(header, (v.strip() for v in row)))
        item_route = Route(kind, route.subscription, route.resource_group, route.workspace, str(uuid.uuid4()),
                           parent=route.name)
        items.append((item_route, {"properties": {"itemsKeyValue": values}}))
    return items



def uploading(stored: dict) -> dict:
    """The stored watchlist while its items upload."""
    return {**stored, "properties": {**stored["properties"], "uploadStatus": "InProgress",
                                     "provisioningState": "InProgress"}}


def uploaded(stored: dict) -> dict:
    """The stored watchlist once its items are in (same etag: the watchlist itself did not change)."""
    return {**stored, "properties": {**stored["properties"], "uploadStatus": "Complete",
                                     "provisioningState": "Succeeded"}}


def status_collection(watchlist_id: str) -> str:
    return f"{watchlist_id}/{STATUSES}"


ASYNC_DELETE_FROM = "2024-04-01"  # the date of the first api-version whose delete is asynchronous


def deletes_asynchronously(api_version: str) -> bool:
    """Whether a DELETE at `api_version` answers 202 (Azure/Azure-Sentinel#10044), else 200 at once."""
    return api_version[:10] >= ASYNC_DELETE_FROM


def being_deleted(alias: str) -> ArmError:
    """A PUT while the watchlist's delete runs: the message is the one users report
    (Azure/Azure-Sentinel#10044's title); the code and the rest are ours."""
    return ArmError(409, "Conflict", f"Delete is currently in progress. Watchlist '{alias}' can be written "
                                     "again once its delete operation has completed.")


def delete_refused(alias: str) -> ArmError:
    return ArmError(409, "Conflict", f"Watchlist '{alias}' cannot be deleted while its upload is in progress "
                                     "(uploadStatus InProgress). Try again once the upload has completed.")
