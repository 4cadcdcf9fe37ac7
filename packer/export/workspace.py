"""Export one workspace's Sentinel content as content files, and prove the round trip.

`read_workspace` lists the workspace as plan does (packer.plan.live: the same list calls,
paced by the client's budget, plus each watchlist's items as plan lists them) and converts every
alert rule, hunting query, parser, workbook, automation rule and watchlist
(packer.export.convert). `export_workspace` writes them under a content folder, then reads that
folder back through validation and renders every item again for this workspace with the code
plan uses (packer.bodies.resources): every field whose rendered value differs
from the live one is a field the content format cannot hold, and is listed in the report
with both values, as is every file validation refuses (moved to `unexported/`, so the
content folder stays valid) and every item the format cannot hold at all. Nothing is
dropped silently.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from packer import resource_ids
from packer.bodies.automation import live_items_by_key, watchlist_state
from packer.bodies.resources import DesiredResource, ResourceType, desired_resources
from packer.content.model import ContentSet
from packer.export.convert import (
    ExportedDoc,
    NotExportable,
    automation_rule_document,
    rule_document,
    saved_search_document,
    watchlist_document,
    workbook_document,
)
from packer.export.files import check_empty, write_docs
from packer.plan.diff import field_changes
from packer.plan.live import LiveState, body_value, read_live_state
from packer.plan.model import FieldChange
from packer.remote.client import WorkspaceClient
from packer.targets.model import Target
from packer.validate import validate_paths

UNEXPORTED = "unexported"  # beside the content folder: files validation refused


@dataclass(frozen=True)
class ExportedItem:
    """One live item written as content, and what of it the content cannot hold (`lost`)."""

    kind: str
    name: str
    resource_id: str
    file: str  # posix, relative to the export folder
    template: str | None = None  # the template a rule is linked to
    template_version: str | None = None
    template_source: str | None = None  # the solution that installed that template, when the workspace says
    lost: tuple[FieldChange, ...] = ()  # path, live value (before), value the exported content gives (after)
    problems: tuple[str, ...] = ()  # validation errors: the file is under unexported/

    @property
    def lossless(self) -> bool:
        return not self.lost and not self.problems


@dataclass(frozen=True)
class WorkspaceRead:
    """A workspace's content converted, before anything is written."""

    target: Target
    state: LiveState
    docs: tuple[ExportedDoc, ...]
    not_exportable: tuple[NotExportable, ...] = ()
    other_searches: tuple[str, ...] = ()  # saved searches that are no Sentinel content (other categories)
    watchlist_items: Mapping[str, tuple[dict, ...]] = field(default_factory=dict)  # lower-cased watchlist id -> items


@dataclass(frozen=True)
class WorkspaceExport:
    target: Target
    items: tuple[ExportedItem, ...]
    not_exportable: tuple[NotExportable, ...] = ()
    other_searches: tuple[str, ...] = ()
    content_root: Path | None = None

    @property
    def lossless(self) -> bool:
        return not self.not_exportable and all(i.lossless for i in self.items)


def read_workspace(client: WorkspaceClient) -> WorkspaceRead:
    state = read_live_state(client)
    docs: list[ExportedDoc] = []
    refused: list[NotExportable] = []
    others: list[str] = []
    items: dict[str, tuple[dict, ...]] = {}
    for rid, body in sorted(state.resources.items()):
        meta = state.metadata_of(body.get("id", rid))
        if "/alertrules/" in rid:
            converted = rule_document(body, meta)
        elif "/savedsearches/" in rid:
            converted = saved_search_document(body, meta)
            if converted is None:
                others.append(f"{body_value(body, 'properties', 'category')}: "
                              f"{body_value(body, 'properties', 'displayName')}")
                continue
        elif "/microsoft.insights/workbooks/" in rid:
            converted = workbook_document(body, meta)
        elif "/automationrules/" in rid:
            converted = automation_rule_document(body, meta)
        elif "/watchlists/" in rid:
            listed = client.list_collection(resource_ids.watchlist_items_collection(body.get("id", rid)))
            items[rid.lower()] = tuple(listed)
            converted = watchlist_document(body, meta, list(listed))
        else:  # a kind added to the registry since: listed, never dropped silently
            kind = rid.rsplit("/", 2)[-2]
            converted = NotExportable(kind, body.get("id", rid), str(body_value(body, "properties", "displayName")
                                                                       or rid.rsplit("/", 1)[-1]),
                                      f"export does not write {kind} yet")
        (docs if isinstance(converted, ExportedDoc) else refused).append(converted)
    return WorkspaceRead(client.target, state, tuple(docs), tuple(refused), tuple(others), items)


def export_workspace(client: WorkspaceClient, out: Path) -> WorkspaceExport:
    """Write the workspace's content under `out`/content (which must not exist or be empty)."""
    content_root = Path(out) / "content"
    check_empty(content_root)
    read = read_workspace(client)
    files = write_docs(list(read.docs), content_root)
    content, problems = load_exported(content_root, Path(out))
    lost = lost_fields(content, read.target, read.state, read.watchlist_items)
    items = tuple(exported_item(doc, files[doc.resource_id.lower()], Path(out), read.state,
                        lost.get(doc.resource_id.lower(), ()), problems) for doc in read.docs)
    return WorkspaceExport(read.target, items, read.not_exportable, read.other_searches, content_root)


def load_exported(content_root: Path, out: Path) -> tuple[ContentSet, dict[Path, tuple[str, ...]]]:
    """The exported content as plan will read it (validated, without KQL: the workspace ran these
    queries already); files with errors move to `out`/unexported, their errors returned by file."""
    report = validate_paths([content_root], kql=False)
    failed: dict[Path, list[str]] = {}
    for problem in report.errors:
        failed.setdefault(Path(problem.path).resolve(), []).append(f"{problem.field or 'file'}: {problem.message}")
    moved: dict[Path, tuple[str, ...]] = {}
    for path, messages in failed.items():
        target = out / UNEXPORTED / path.relative_to(content_root.resolve())
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), target)
        json_file = path.with_suffix(".json")
        if json_file.exists():
            shutil.move(str(json_file), target.with_suffix(".json"))
        moved[path] = tuple(messages)
    if moved:
        report = validate_paths([content_root], kql=False)
    return report.content, moved


def lost_fields(content: ContentSet, target: Target, state: LiveState,
                watchlist_items: Mapping[str, tuple[dict, ...]] | None = None) -> dict[str, tuple[FieldChange, ...]]:
    """By lower-cased resource id: the fields where the content, rendered for `target` as plan
    renders it, differs from the live resource (a watchlist: what plan compares, its properties
    and its items by search key, `watchlist_items` holding the live items by watchlist id)."""
    out: dict[str, tuple[FieldChange, ...]] = {}
    for desired in desired_resources(content, target):
        live = state.resource(desired.resource_id)
        if live is None:
            continue
        if desired.resource_type == ResourceType.WATCHLIST:
            listed = (watchlist_items or {}).get(desired.resource_id.lower(), ())
            out[desired.resource_id.lower()] = watchlist_changes(live, list(listed), desired)
        else:
            out[desired.resource_id.lower()] = field_changes(live, desired.body)
    return out


def watchlist_changes(live: dict, items: list[dict], desired: DesiredResource) -> tuple[FieldChange, ...]:
    key = str((live.get("properties") or {}).get("itemsSearchKey") or "")
    live_values = {k: (b.get("properties") or {}).get("itemsKeyValue") or {}
                   for k, b in live_items_by_key(key, items).items()}
    return field_changes(watchlist_state(live, live_values), watchlist_state(desired.body, desired.children))


def exported_item(doc: ExportedDoc, path: Path, out: Path, state: LiveState, lost: tuple[FieldChange, ...],
          problems: dict[Path, tuple[str, ...]]) -> ExportedItem:
    errors = problems.get(path.resolve(), ())
    where = (out / UNEXPORTED / path.relative_to(out / "content")) if errors else path
    template, version = doc.template or (None, None)
    return ExportedItem(doc.kind, doc.name, doc.resource_id, where.relative_to(out).as_posix(), template,
                        version or None, template_source(state, template) if template else None, lost, errors)


def template_source(state: LiveState, template: str) -> str | None:
    """Which solution installed the template a rule links to, when the workspace holds it."""
    for body in state.templates.values():
        props = body.get("properties") or {}
        if str(props.get("contentId", "")).lower() == template.lower():
            return str(props.get("packageName") or props.get("source", {}).get("name") or "") or None
    return None
