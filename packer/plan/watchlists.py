"""A watchlist's plan: the watchlist and its items, diffed item by item by search key.

The watchlist is one plan item. Ownership and drift work as for every kind (packer.plan.compute),
on the watchlist *with* its items: the metadata records the hash of both
(packer.bodies.automation.watchlist_state), so an item edited or deleted in the portal makes the
watchlist `drifted`. The writes touch only what differs:
- no watchlist yet: one PUT with every item as CSV (rawContent), then the metadata: the upload is
  a long-running operation, and the client waits for it to complete before the metadata
  (packer.remote.operations); a watchlist still uploading (uploadStatus InProgress) is blocked;
- else: a PUT of the watchlist only when its own properties differ, then per item a PUT (added:
  a new item named uuid5(alias + key), created only if absent; changed: the live item, with its
  etag) or a DELETE (a key no longer in the CSV), then the metadata. One CSV row changed is one
  item write (plus the metadata's stamp).
"""
from __future__ import annotations

from typing import Any

from packer import resource_ids
from packer.bodies.automation import (
    item_body,
    item_name,
    live_items_by_key,
    watchlist_create_body,
    watchlist_hash,
    watchlist_state,
)
from packer.bodies.resources import DesiredResource
from packer.plan.live import owned_by, recorded_hashes
from packer.plan.model import Action, FieldChange, PlanItem, Write
from packer.remote.normalise import content_hash, normalise

Planner = Any  # packer.plan.compute._Planner, which calls in here (not imported: no cycle)


def classify_watchlist(planner: Planner, d: DesiredResource) -> PlanItem:
    live = planner.state.resource(d.resource_id)
    meta = planner.state.metadata_of(d.resource_id, d.metadata_id)
    if live is None:
        body = watchlist_create_body(d.body, d.columns, d.children)
        writes = (Write("PUT", d.resource_id, body, None, create=True), _metadata(planner, d, meta))
        return planner._item(d, Action.CREATE, f"from {d.source_path}; {len(d.children)} item(s) in one upload",
                             writes=writes)
    if str((live.get("properties") or {}).get("uploadStatus") or "").lower() == "inprogress":
        # Its items are not all there yet (packer.emulator.watchlists; Watchlists.json: uploadStatus).
        return planner._item(d, Action.BLOCKED, "its upload is still in progress (uploadStatus InProgress): "
                             "run plan again once the upload has completed")
    search_key = str((live.get("properties") or {}).get("itemsSearchKey") or d.body["properties"]["itemsSearchKey"])
    listed = planner.client.list_collection(resource_ids.watchlist_items_collection(live["id"]))
    live_items = live_items_by_key(search_key, listed)
    live_values = {k: (b.get("properties") or {}).get("itemsKeyValue") or {} for k, b in live_items.items()}
    live_hash = watchlist_hash(live, live_values)
    ours = owned_by(meta, planner.target.repository)
    if not ours:  # foreign, or adopted, as for every kind (--adopt, --adopt-from)
        return planner._not_ours(d, meta, live_hash)
    _, stored = recorded_hashes(meta)
    if live_hash == d.content_hash:
        if ours and stored == live_hash and planner.same_metadata(meta, d.metadata_body):
            return planner._item(d, Action.UNCHANGED, live_hash=live_hash)
        return planner._item(d, Action.UPDATE, "metadata only: records ownership, version or source",
                             writes=(_metadata(planner, d, meta),), live_hash=live_hash)
    if search_key != d.body["properties"]["itemsSearchKey"]:
        return planner._item(d, Action.BLOCKED, f"the search key changes from {search_key} to "
                             f"{d.body['properties']['itemsSearchKey']}: Sentinel keeps a watchlist's search key; "
                             "delete the watchlist (or give the new one another alias)", live_hash=live_hash)
    writes: list[Write] = []
    changes = _property_changes(live, d.body)
    if changes:
        writes.append(Write("PUT", d.resource_id, dict(d.body), live.get("etag")))
    item_writes, item_changes = _item_diff(d, live["id"], live_items)
    writes += item_writes
    writes.append(_metadata(planner, d, meta))
    changes += item_changes
    edited = stored is not None and stored != live_hash
    reason = _summary(item_changes)
    if edited:
        return planner._item(d, Action.DRIFTED, "changed outside sentinel-packer since the last apply"
                             + (f" ({reason})" if reason else ""), changes=changes, writes=tuple(writes),
                             live_hash=live_hash)
    return planner._item(d, Action.UPDATE, reason, changes=changes, writes=tuple(writes), live_hash=live_hash)


def _metadata(planner: Planner, d: DesiredResource, meta: dict | None) -> Write:
    """The metadata PUT, its stamp already holding the stored state: the state the writes leave
    (the watchlist and items as desired), which no single write's answer shows."""
    return planner._put_metadata(d, meta, d.content_hash)


def _property_changes(live: dict, desired: dict) -> tuple[FieldChange, ...]:
    before, after = watchlist_state(live, {})["properties"], watchlist_state(desired, {})["properties"]
    before, after = normalise({"properties": before}).get("properties", {}), normalise({"properties": after}).get(
        "properties", {})
    return tuple(FieldChange(f"properties.{k}", before.get(k), after.get(k))
                 for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k))


def _item_diff(d: DesiredResource, watchlist_id: str,
               live_items: dict[str, dict]) -> tuple[list[Write], tuple[FieldChange, ...]]:
    live_by_lower = {k.lower(): (k, b) for k, b in live_items.items()}
    alias = resource_ids.name_of(d.resource_id)
    writes: list[Write] = []
    changes: list[FieldChange] = []
    for key, values in d.children.items():
        found = live_by_lower.pop(key.lower(), None)
        if found is None:
            item_id = resource_ids.watchlist_item_id(watchlist_id, item_name(alias, key))
            writes.append(Write("PUT", item_id, item_body(values), None, create=True))
            changes.append(FieldChange(f"items[{key}]", None, dict(values)))
            continue
        live_values = dict((found[1].get("properties") or {}).get("itemsKeyValue") or {})
        if content_hash(item_body(live_values)) != content_hash(item_body(values)):
            writes.append(Write("PUT", found[1]["id"], item_body(values), found[1].get("etag")))
            changes.append(FieldChange(f"items[{key}]", live_values, dict(values)))
    for key, body in live_by_lower.values():
        writes.append(Write("DELETE", body["id"], etag=body.get("etag")))
        changes.append(FieldChange(f"items[{key}]", dict((body.get("properties") or {}).get("itemsKeyValue") or {}),
                                   None))
    return writes, tuple(changes)


def _summary(changes: tuple[FieldChange, ...]) -> str:
    added = sum(1 for c in changes if c.before is None)
    removed = sum(1 for c in changes if c.after is None)
    changed = len(changes) - added - removed
    parts = [f"{n} item(s) {what}" for n, what in ((added, "added"), (changed, "changed"), (removed, "removed")) if n]
    return ", ".join(parts)
