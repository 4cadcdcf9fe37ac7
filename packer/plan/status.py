"""What the portal would show for our package in one workspace, per item.

Computed from the workspace alone, the way Content Hub and the rule templates gallery link
things (content-hub-install.md 3.1, 3.2): the installed templates of our package(s); for each,
the active items made from it (analytic rules by `alertRuleTemplateName` = the template's
contentId, other kinds by their metadata's contentId and kind); the active version (a rule's
`templateVersion`, else the metadata `version`) against the template's `version`, compared
for equality as the portal does ("update available" whenever they differ).

States: `up to date`; `update available` (active version != installed template version);
`customised` (same version, but the active item differs from what its template makes: a portal
edit or an overlay; `enabled` does not count); `not installed` (a template with no active
item, or an active item of ours whose template is not installed).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum

from packer.bodies.resources import active_body_from_template
from packer.content.model import UNPACKAGED_KINDS
from packer.plan.content_hub import live_template_by_kind_and_id, owned_packages
from packer.plan.live import LiveState, body_value, display_name, owned_by, read_live_state
from packer.remote.client import WorkspaceClient
from packer.remote.normalise import content_hash
from packer.targets.model import Target

class ItemState(StrEnum):
    UP_TO_DATE = "up to date"
    UPDATE_AVAILABLE = "update available"
    CUSTOMISED = "customised"
    NOT_INSTALLED = "not installed"


@dataclass(frozen=True)
class ItemStatus:
    key: str  # "<contentKind>/<contentId>"
    kind: str
    name: str
    template_version: str | None
    active_version: str | None
    state: ItemState
    detail: str = ""


@dataclass(frozen=True)
class PackageStatus:
    target: Target
    package_id: str | None
    package_version: str | None
    installed_version: str | None
    items: tuple[ItemStatus, ...]

    @property
    def up_to_date(self) -> bool:
        return all(i.state is ItemState.UP_TO_DATE for i in self.items)

    def counts(self) -> dict[str, int]:
        return {s.value: sum(1 for i in self.items if i.state is s) for s in ItemState}

    def to_dict(self) -> dict:
        data = asdict(self)
        for item in data["items"]:
            item["state"] = str(item["state"])
        data["counts"] = self.counts()
        return data


def workspace_status(client: WorkspaceClient) -> PackageStatus:
    return status_of(read_live_state(client), client.target)


def status_of(state: LiveState, target: Target) -> PackageStatus:
    packages = owned_packages(state, target.repository)
    items: list[ItemStatus] = []
    linked: set[str] = set()
    package_id = package_version = installed = None
    for content_id, (package, _meta) in sorted(packages.items()):
        props = (package or {}).get("properties") or {}
        package_id = str(props.get("contentId") or content_id)
        package_version, installed = props.get("version"), props.get("installedVersion")
        for _key, template in sorted(live_template_by_kind_and_id(state, package_id).items()):
            items.append(_item_status(state, template, active_body_from_template, linked))
    for meta in state.metadata.values():  # ours, made from a template no longer installed
        props = meta.get("properties") or {}
        parent = str(props.get("parentId", "")).lower()
        if props.get("kind") == "Solution" or not owned_by(meta, target.repository) or parent in linked:
            continue
        if props.get("kind") in UNPACKAGED_KINDS:  # never made from a template: not the package's status
            continue
        live = state.resource(parent)
        if live is None:
            continue
        items.append(ItemStatus(f"{props.get('kind')}/{props.get('contentId')}", str(props.get("kind", "")),
                                display_name(live), None, _active_version(live, meta), ItemState.NOT_INSTALLED,
                                "no template installed"))
    return PackageStatus(target, package_id, package_version, installed, tuple(items))


def _item_status(state: LiveState, template: dict, derive, linked: set[str]) -> ItemStatus:
    props = template.get("properties") or {}
    content_id, kind = str(props.get("contentId", "")), str(props.get("contentKind", ""))
    version = str(props.get("version", ""))
    name = str(props.get("displayName", content_id))
    live, meta = _active_item(state, content_id, kind)
    key = f"{kind}/{content_id}"
    if live is None:
        return ItemStatus(key, kind, name, version, None, ItemState.NOT_INSTALLED, "template only: no active item")
    linked.add(live["id"].lower())
    active = _active_version(live, meta)
    if active != version:
        return ItemStatus(key, kind, name, version, active, ItemState.UPDATE_AVAILABLE)
    made = derive(template, live)
    if made is not None and content_hash(_without_enabled(made)) != content_hash(_without_enabled(live)):
        return ItemStatus(key, kind, name, version, active, ItemState.CUSTOMISED, "differs from its template")
    return ItemStatus(key, kind, name, version, active, ItemState.UP_TO_DATE)


def _active_item(state: LiveState, content_id: str, kind: str) -> tuple[dict | None, dict | None]:
    if kind == "AnalyticsRule":
        for body in state.resources.values():
            if body_value(body, "properties", "alertRuleTemplateName") == content_id:
                return body, state.metadata_of(body["id"])
        return None, None
    for meta in state.metadata.values():
        props = meta.get("properties") or {}
        if props.get("contentId") == content_id and props.get("kind") == kind:
            live = state.resource(str(props.get("parentId", "")))
            if live is not None:
                return live, meta
    return None, None


def _active_version(live: dict, meta: dict | None) -> str | None:
    version = body_value(live, "properties", "templateVersion") or body_value(meta, "properties", "version")
    return str(version) if version else None


def _without_enabled(body: dict) -> dict:
    props = {k: v for k, v in (body.get("properties") or {}).items() if k != "enabled"}
    return {**body, "properties": props}
