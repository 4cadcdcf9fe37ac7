"""Export a fleet, de-forked: one content item per rule, the workspaces' differences as overlays.

The same rule across workspaces is found as the issue asks: rules linked to the same template,
or with the same query once comments and whitespace are set aside; other kinds by their name.
One content item has one resource name (its id), so inside such a group the copies sharing the
most common name become one item, and copies under another name are separate items (named in
the report). Among the copies of one item, the most common document is the item; a workspace
whose copy differs only in what overlays can set (severity, enabled, queryFrequency,
queryPeriod, triggerThreshold, or an exclusion appended to the query: packer.overlay) gets an
overlay in the generated targets.yaml; a watchlist whose copy differs only in its items gets
its own items CSV (`watchlist-items/<workspace>/<alias>.csv`, the overlay's `watchlists`). A copy
that differs in anything else cannot be expressed:
it is written under `forks/<workspace>/`, the item is disabled in that workspace (so the
workspace's rule is left as it is), and the report says so. An item is disabled where it does
not exist.

The result is verified as a single workspace's export is: the content, with each workspace's
generated overlays, rendered for that workspace and compared with what it holds.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from packer.export.convert import ExportedDoc
from packer.export.files import check_empty, dump_yaml, write_doc, write_docs
from packer.export.workspace import (
    WorkspaceExport,
    WorkspaceRead,
    exported_item,
    load_exported,
    lost_fields,
)
from packer.targets import load_inventory

OVERRIDABLE = ("severity", "enabled", "queryFrequency", "queryPeriod", "triggerThreshold")
FORKS = "forks"
WATCHLIST_ITEMS = "watchlist-items"  # beside targets.yaml: each workspace's own watchlist items
_EXCLUSION = re.compile(r"^\n\| where not\((?P<column>[A-Za-z_][A-Za-z0-9_]*) in~ \((?P<values>.*)\)\)"
                        r"(?: // exclusion: (?P<reason>.*))?\n$")
_COMMENT = re.compile(r"//[^\n]*")


@dataclass(frozen=True)
class Copy:
    workspace: str
    doc: ExportedDoc


@dataclass(frozen=True)
class ItemReport:
    """One content item of the fleet export: where it exists and how each copy relates to it."""

    kind: str
    name: str
    file: str
    workspaces: tuple[str, ...]
    identical: tuple[str, ...]
    overlays: tuple[tuple[str, str], ...] = ()  # (workspace, what its overlay sets)
    forks: tuple[tuple[str, str, str], ...] = ()  # (workspace, file under forks/, what differs)
    same_rule_as: str | None = None  # another item's name: the same rule under another resource name

    def sentence(self) -> str:
        text = f"{self.kind} '{self.name}' exists in {len(self.workspaces)} workspace(s); {len(self.identical)} identical"
        differ = Counter(what for _, what in self.overlays)
        text += "".join(f", {n} differ only in {what}" for what, n in sorted(differ.items()))
        if self.forks:
            text += f", {len(self.forks)} differ in what overlays cannot express (" + "; ".join(
                f"{ws}: {what}, kept in {file}" for ws, file, what in self.forks) + ")"
        if self.same_rule_as:
            text += f"; the same rule as '{self.same_rule_as}' under another id: a separate rule"
        return text


@dataclass(frozen=True)
class FleetExport:
    items: tuple[ItemReport, ...]
    workspaces: tuple[WorkspaceExport, ...]
    content_root: Path
    targets_file: Path

    @property
    def lossless(self) -> bool:
        return all(w.lossless for w in self.workspaces) and not any(i.forks for i in self.items)


@dataclass
class _Plan:
    """What de-forking decided: documents to write, overlays per workspace, the report."""

    docs: list[ExportedDoc] = field(default_factory=list)
    overlays: dict[str, dict[str, Any]] = field(default_factory=dict)  # section -> entries (watchlists: alias -> CSV)
    forks: list[tuple[str, ExportedDoc]] = field(default_factory=list)
    items_files: dict[str, str] = field(default_factory=dict)  # a workspace's watchlist CSV (posix, from out) -> text
    items: list[ItemReport] = field(default_factory=list)
    item_docs: list[ExportedDoc] = field(default_factory=list)  # each item's document
    names: dict[str, ExportedDoc] = field(default_factory=dict)  # resource name -> the item written under it

    def overlay(self, workspace: str, section: str, entry: dict) -> None:
        entries = self.overlays.setdefault(workspace, {}).setdefault(section, [])
        if entry not in entries:
            entries.append(entry)

    def own_items(self, workspace: str, doc: ExportedDoc) -> None:
        """`doc`'s items as `workspace`'s own: a CSV the overlay's `watchlists` names."""
        alias = _content_id(doc)
        path = f"{WATCHLIST_ITEMS}/{workspace}/{alias}.csv"
        self.items_files[path] = str(doc.items_csv)
        self.overlays.setdefault(workspace, {}).setdefault("watchlists", {})[alias] = path


def export_fleet(reads: list[WorkspaceRead], inventory_path: Path, out: Path) -> FleetExport:
    """Write the de-forked content under `out`/content and `out`/targets.yaml (the inventory with
    each workspace's generated overlay), then verify every workspace against it."""
    out = Path(out)
    check_empty(out / "content")
    plan = defork(reads)
    files = write_docs(plan.docs, out / "content")
    _write_forks(plan, out)
    for path, text in plan.items_files.items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        with open(out / path, "w", encoding="utf-8", newline="") as csv_file:  # values keep their line breaks
            csv_file.write(text)
    targets_file = out / "targets.yaml"
    targets_file.write_text(inventory_text(Path(inventory_path), plan.overlays, [r.target.name for r in reads]),
                            encoding="utf-8")
    content, problems = load_exported(out / "content", out)
    inventory = load_inventory(targets_file)
    by_name = {_resource_name(d): d for d in plan.docs}
    workspaces = []
    for read in reads:
        here = inventory.content_for(content, inventory.target(read.target.name))
        items = []
        for rid, lost in lost_fields(here, read.target, read.state, read.watchlist_items).items():
            doc = by_name[rid.rsplit("/", 1)[-1]]
            item = exported_item(doc, files[doc.resource_id.lower()], out, read.state, lost, problems)
            items.append(replace(item, resource_id=rid))
        refused = tuple(exported_item(d, files[d.resource_id.lower()], out, read.state, (), problems)
                        for d in plan.docs if files[d.resource_id.lower()].resolve() in problems
                        and any(_resource_name(own) == _resource_name(d) for own in read.docs))
        workspaces.append(WorkspaceExport(read.target, tuple(items) + refused, read.not_exportable,
                                          read.other_searches, out / "content"))
    reports = tuple(replace(item, file=files[doc.resource_id.lower()].relative_to(out).as_posix())
                    for item, doc in zip(plan.items, plan.item_docs))
    return FleetExport(reports, tuple(workspaces), out / "content", targets_file)


# --- de-forking -----------------------------------------------------------------------------------


def defork(reads: list[WorkspaceRead]) -> _Plan:
    plan = _Plan()
    order = [r.target.name for r in reads]
    groups: dict[tuple, list[Copy]] = {}
    for read in reads:
        for doc in read.docs:
            groups.setdefault(_same_rule(doc), []).append(Copy(read.target.name, doc))
    for copies in groups.values():
        by_name: dict[str, list[Copy]] = {}
        for copy in copies:
            by_name.setdefault(_resource_name(copy.doc), []).append(copy)
        ranked = sorted(by_name.values(), key=lambda c: (-len(c), order.index(c[0].workspace)))
        main = ranked[0][0].doc.name
        for index, same_name in enumerate(ranked):
            taken = plan.names.get(_resource_name(same_name[0].doc))
            if taken is not None:  # another rule of this id exists elsewhere: one id, one content item
                _forks_of(plan, taken, same_name, f"another rule than '{taken.name}' under its id")
                continue
            _one_item(plan, same_name, order, main if index else None)
    return plan


def _forks_of(plan: _Plan, item: ExportedDoc, copies: list[Copy], what: str) -> None:
    """Copies that cannot be `item`: kept under forks/, `item` disabled in their workspaces."""
    report_index = plan.item_docs.index(item)
    forks = []
    for copy in copies:
        plan.forks.append((copy.workspace, copy.doc))
        plan.overlay(copy.workspace, "disable", {"id": _content_id(item), "kind": item.kind})
        forks.append((copy.workspace, f"{FORKS}/{copy.workspace}/{copy.doc.folder}/{copy.doc.stem}.yaml", what))
    plan.items[report_index] = replace(plan.items[report_index], forks=plan.items[report_index].forks + tuple(forks))


def _same_rule(doc: ExportedDoc) -> tuple:
    if doc.kind == "AnalyticsRule":
        if doc.template:
            return "template", doc.template[0].lower()
        return "query", " ".join(_COMMENT.sub("", doc.document.get("query", "")).split())
    return doc.kind, _resource_name(doc)


def _resource_name(doc: ExportedDoc) -> str:
    return doc.resource_id.rsplit("/", 1)[-1].lower()


def _one_item(plan: _Plan, copies: list[Copy], order: list[str], same_rule_as: str | None) -> None:
    counted = Counter(_signature(c.doc) for c in copies)
    base = next(c.doc for c in copies if _signature(c.doc) == counted.most_common(1)[0][0])
    plan.docs.append(base)
    plan.names[_resource_name(base)] = base
    select = {"id": _content_id(base), "kind": base.kind}
    identical, overlays, forks = [], [], []
    for copy in copies:
        if _signature(copy.doc) == _signature(base):
            identical.append(copy.workspace)
            continue
        if copy.doc.items_csv is not None and _signature(replace(copy.doc, items_csv=base.items_csv)) == \
                _signature(base):  # a watchlist with items of its own
            plan.own_items(copy.workspace, copy.doc)
            overlays.append((copy.workspace, "items"))
            continue
        expressed = _overlay_for(base.document, copy.doc.document)
        if expressed is None:
            what = ", ".join([k for k in sorted(set(base.document) | set(copy.doc.document))
                              if base.document.get(k) != copy.doc.document.get(k)]
                             + (["items"] if copy.doc.items_csv != base.items_csv else [])
                             + (["source"] if copy.doc.items_file != base.items_file else []))
            plan.forks.append((copy.workspace, copy.doc))
            plan.overlay(copy.workspace, "disable", dict(select))
            forks.append((copy.workspace, f"{FORKS}/{copy.workspace}/{copy.doc.folder}/{copy.doc.stem}.yaml", what))
            continue
        overrides, exclusion = expressed
        if overrides:
            plan.overlay(copy.workspace, "overrides", {"select": dict(select), **overrides})
        if exclusion:
            plan.overlay(copy.workspace, "exclusions", {"select": dict(select), **exclusion})
        overlays.append((copy.workspace, ", ".join([*overrides, *(["exclusion"] if exclusion else [])])))
    present = {c.workspace for c in copies}
    for workspace in order:
        if workspace not in present:
            plan.overlay(workspace, "disable", dict(select))
    plan.items.append(ItemReport(base.kind, base.name, "", tuple(c.workspace for c in copies),
                                 tuple(identical), tuple(overlays), tuple(forks), same_rule_as))
    plan.item_docs.append(base)


def _signature(doc: ExportedDoc) -> str:
    """What makes two copies the same item: the document, and a watchlist's items and CSV name."""
    return json.dumps([doc.document, doc.items_csv, doc.items_file], sort_keys=True)


def _content_id(doc: ExportedDoc) -> str:
    """The id an overlay selects the item by (ContentItem.content_id)."""
    return str(doc.document.get("workbookKey") or doc.document.get("watchlistAlias") or doc.document["id"])


def _overlay_for(base: dict, copy: dict) -> tuple[dict, dict] | None:
    """(overrides, exclusion) turning `base` into `copy`, or None when overlays cannot."""
    if base.get("kind") != "Scheduled" and base.get("kind") != "NRT" or base.get("kind") != copy.get("kind"):
        return None
    differ = {k for k in set(base) | set(copy) if base.get(k) != copy.get(k)}
    overrides = {k: copy[k] for k in OVERRIDABLE if k in differ and k in copy}
    if base.get("kind") == "NRT" and set(overrides) - {"severity", "enabled"}:
        return None
    exclusion: dict[str, Any] = {}
    if "query" in differ:
        exclusion = _exclusion(base["query"], copy["query"]) or {}
        if not exclusion:
            return None
    if differ - set(overrides) - {"query"}:
        return None
    return overrides, exclusion


def _exclusion(base: str, copy: str) -> dict | None:
    """The exclusion overlay whose appended filter turns `base` into `copy` (packer.overlay.apply)."""
    head = base.rstrip()
    if not copy.startswith(head):
        return None
    match = _EXCLUSION.match(copy[len(head):])
    if not match or match.group("column").lower() not in base.lower():
        return None
    try:
        values = json.loads(f"[{match.group('values')}]")
    except ValueError:
        return None
    if not all(isinstance(v, str) for v in values):
        return None
    out: dict[str, Any] = {"column": match.group("column"), "values": values}
    if match.group("reason"):
        out["reason"] = match.group("reason")
    return out


# --- files --------------------------------------------------------------------------------------


def _write_forks(plan: _Plan, out: Path) -> None:
    used: set[str] = set()
    for workspace, doc in plan.forks:
        write_doc(doc, out / FORKS / workspace / doc.folder, doc.stem, used)


def inventory_text(source: Path, overlays: dict[str, dict[str, Any]], exported: list[str]) -> str:
    """The inventory's exported workspaces, each with the generated overlay instead of its own
    (tenant overlays go too: the exported content already holds what they changed)."""
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    for tenant in data.get("tenants") or []:
        tenant.pop("overlay", None)
    data["workspaces"] = [w for w in data.get("workspaces") or [] if w.get("name") in exported]
    for workspace in data["workspaces"]:
        workspace.pop("overlay", None)
        generated = overlays.get(workspace.get("name"))
        if generated:
            workspace["overlay"] = {k: generated[k] for k in ("disable", "overrides", "exclusions", "watchlists")
                                    if k in generated}
    header = "# Generated by `sentinel-packer export --all`: each workspace's differences from the shared content.\n"
    return header + dump_yaml(data)
