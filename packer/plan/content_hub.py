"""Plan the Content Hub install of one package into one workspace: the `contentPackages`
resource and its `contentTemplates`, given their bodies (packer.package.hub_resources).

`plan_install(bodies, state, target, owner_id)` is shared by `plan`/`apply`/`rollout` (bodies
from the content's own package) and `install PACKAGE.zip` (bodies from the zip's mainTemplate).

Ownership. A package is ours when a metadata record of kind Solution whose parentId is the
package carries this repository's mark in `customVersion` (with the hash stamp of the package
body we sent / the service stored, as for items; see packer.bodies.resources). Templates are
ours when their `packageId` is the contentId of a package of ours. Anything else (Microsoft's
solutions, another repository's) is never written or deleted: a package or template with one
of our contentIds that is not ours is `foreign`.

Actions: create / update (same version, body changed) / upgrade (version changed, shown as
`package 3.0.0 -> 3.1.0`, `template <name> 1.0.0 -> 1.0.1`) / unchanged / uninstall (a template
of our package that the content no longer has, or our package when the content has none; run
by every apply: the portal's "Delete" removes a solution's templates likewise) / foreign.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping

from packer.package.hub_resources import HubResource, PackageBodies
from packer.plan.live import LiveState, owned_by, owner_description, recorded_hashes
from packer.plan.model import Action, PlanItem, Write
from packer.remote.normalise import content_hash
from packer.bodies.resources import owner_mark
from packer.resource_ids import ResourceRole, metadata_id
from packer.targets.model import Target

PACKAGE_TYPE = "contentPackages"
TEMPLATE_TYPE = "contentTemplates"
# A template's record of the package version that installed it. A new package version alone
# does not re-install a template whose item did not change: `packageVersion` (and the
# description, "... with template version <package version>") then keep the version of the
# package that last changed the item, as an item's contentProductId keeps its own version.
PACKAGE_BOOKKEEPING = frozenset({"packageVersion", "description"})
_HUNTING_NAME = re.compile(r"_Hunting_Query_\d+$")


def package_metadata_id(target: Target, package_content_id: str) -> str:
    return metadata_id(target.workspace_id, f"Solution-{package_content_id}")


def package_metadata_body(package: HubResource, digest: str, owner_id: str) -> dict:
    """The package's record: Content Hub's fields for a solution, and our mark in customVersion."""
    props = package.properties
    body = {"parentId": package.resource_id, "kind": "Solution", "contentId": package.content_id,
            "version": package.version,
            "source": dict(props.get("source") or {"kind": "Solution", "name": package.display_name,
                                                   "sourceId": package.content_id})}
    for key in ("author", "support"):
        if props.get(key):
            body[key] = dict(props[key])
    body["customVersion"] = owner_mark(owner_id, digest)
    return {"properties": body}


def plan_install(bodies: PackageBodies | None, state: LiveState, target: Target, owner_id: str,
                 uninstall_others: bool = True) -> list[PlanItem]:
    """Plan items for the package and its templates (in apply order: package, then templates),
    then the uninstalls. `bodies` None: the content has no package; ours are uninstalled.
    `uninstall_others=False` (install PACKAGE.zip) leaves this repository's other packages alone."""
    ours = owned_packages(state, target.repository)
    items: list[PlanItem] = []
    keep: str | None = None
    if bodies is not None:
        keep = bodies.package.content_id.lower()
        items += _plan_package(bodies, state, target, owner_id, ours)
    for content_id, (package, metadata) in sorted(ours.items()):
        if content_id != keep and uninstall_others:
            items += _uninstall_package(content_id, package, metadata, state)
    return items


def owned_packages(state: LiveState, repository: str) -> dict[str, tuple[dict | None, dict]]:
    """contentId (lower-cased) -> (live package or None, its metadata), for packages of ours."""
    out: dict[str, tuple[dict | None, dict]] = {}
    for meta in state.metadata.values():
        props = meta.get("properties") or {}
        if props.get("kind") != "Solution" or not owned_by(meta, repository):
            continue
        package = state.packages.get(str(props.get("parentId", "")).lower())
        out[str(props.get("contentId", "")).lower()] = (package, meta)
    return out


def live_templates_of(state: LiveState, package_content_id: str) -> list[dict]:
    wanted = package_content_id.lower()
    return [t for t in state.templates.values()
            if str((t.get("properties") or {}).get("packageId", "")).lower() == wanted]


def live_template_by_kind_and_id(state: LiveState, package_content_id: str) -> dict[tuple[str, str], dict]:
    """(contentKind, contentId) -> the live template of this package (the highest version where
    several are). Only this package's templates: another package may ship the same contentId.
    And a contentId alone is not unique within a package: Microsoft's Windows Firewall has a
    DataConnector and a Workbook both named WindowsFirewall."""
    out: dict[tuple[str, str], dict] = {}
    for body in live_templates_of(state, package_content_id):
        props = body.get("properties") or {}
        key = (str(props.get("contentKind", "")), str(props.get("contentId", "")))
        if key not in out or _version_key(_version(body)) > _version_key(_version(out[key])):
            out[key] = body
    return out


# --- the package and its templates ----------------------------------------------------------


def _plan_package(bodies: PackageBodies, state: LiveState, target: Target, owner_id: str,
                  ours: Mapping[str, tuple[dict | None, dict]]) -> list[PlanItem]:
    package = bodies.package
    live = _live_package(state, package)
    owned = ours.get(package.content_id.lower())
    meta = owned[1] if owned else None
    if live is not None and owned is None:
        owner = _package_owner(live, state)
        reason = f"package {package.content_id} is already installed and is not ours ({owner})"
        return [_item(package, Action.FOREIGN, reason, resource_id=live["id"])] + [
            _item(t, Action.FOREIGN, f"its package {package.content_id} is not ours ({owner})") for t in bodies.templates]
    items = [_package_item(package, live, meta, target, owner_id)]
    live_templates = live_template_by_kind_and_id(state, package.content_id)
    clashes = _foreign_templates(state, package.content_id)
    for template in bodies.templates:
        clash = clashes.get(template.content_id)
        if clash is not None:
            other = (clash.get("properties") or {}).get("packageId") or "no package"
            items.append(_item(template, Action.FOREIGN, f"content id {template.content_id} is already installed "
                               f"by {other}: never touched", resource_id=clash["id"]))
            continue
        items.append(_template_item(template, live_templates.pop((template.content_kind, template.content_id), None),
                                    taken=template.resource_id.lower() in state.templates))
    handled = {i.resource_id.lower() for i in items} | {w.resource_id.lower() for i in items for w in i.writes}
    desired_ids = {t.content_id for t in bodies.templates}
    for body in sorted(live_templates_of(state, package.content_id), key=lambda b: b["id"]):
        if body["id"].lower() in handled:
            continue
        older = str((body.get("properties") or {}).get("contentId", "")) in desired_ids
        items.append(_uninstall_template(body, "an older copy of a template of this package" if older
                                         else "no longer in the content: removed from the package"))
    return items


def _package_item(package: HubResource, live: dict | None, meta: dict | None, target: Target,
                  owner_id: str) -> PlanItem:
    digest = content_hash(dict(package.body))
    metadata_id = (meta or {}).get("id") or package_metadata_id(target, package.content_id)
    metadata = package_metadata_body(package, digest, owner_id)
    # Creates are conditional (If-None-Match: *), as every create of a plan: a package or record
    # someone else made at the id since the plan is refused (412) and reported, never overwritten.
    metadata_write = Write("PUT", metadata_id, metadata, (meta or {}).get("etag"), role=ResourceRole.METADATA,
                           create=meta is None)
    if live is None:
        return _item(package, Action.CREATE, f"install package {package.version}",
                     writes=(Write("PUT", package.resource_id, dict(package.body), create=True), metadata_write),
                     digest=digest)
    live_hash = content_hash(live)
    sent, stored = recorded_hashes(meta)
    same_body = live_hash == digest or (live_hash == stored and digest == sent)
    before = _version(live)
    if same_body and live_hash == stored and _same_owner_record(meta, metadata):
        return _item(package, Action.UNCHANGED, resource_id=live["id"], digest=digest, live_hash=live_hash)
    if same_body:
        return _item(package, Action.UPDATE, "metadata only: the package's ownership record",
                     writes=(metadata_write,),
                     resource_id=live["id"], digest=digest, live_hash=live_hash)
    writes = (Write("PUT", live["id"], dict(package.body), live.get("etag")), metadata_write)
    if before != package.version:
        return _item(package, Action.UPGRADE, f"package {before} -> {package.version}", writes=writes,
                     resource_id=live["id"], digest=digest, live_hash=live_hash)
    return _item(package, Action.UPDATE, f"package {package.version}: contents changed", writes=writes,
                 resource_id=live["id"], digest=digest, live_hash=live_hash)


def _template_item(template: HubResource, live: dict | None, taken: bool = False) -> PlanItem:
    """`taken`: a template exists at the id we install under (a create is then not conditional)."""
    if live is None:
        return _item(template, Action.CREATE, f"template {template.version}",
                     writes=(Write("PUT", template.resource_id, dict(template.body), create=not taken),))
    if live["id"].lower() == template.resource_id.lower() and _same_template(live, template):
        return _item(template, Action.UNCHANGED, resource_id=live["id"])
    if live["id"].lower() != template.resource_id.lower():
        # same contentId under another name (an older packaging vintage): install under the
        # package's name, remove the old copy
        return _item(template, Action.CREATE, f"template {template.display_name} {template.version}; replaces "
                     f"{live['id'].rsplit('/', 1)[-1]}",
                     writes=(Write("PUT", template.resource_id, dict(template.body), create=not taken),
                             Write("DELETE", live["id"], etag=live.get("etag"))))
    before = _version(live)
    writes = (Write("PUT", live["id"], dict(template.body), live.get("etag")),)
    if before != template.version:
        return _item(template, Action.UPGRADE, f"template {template.display_name} {before} -> {template.version}",
                     writes=writes)
    return _item(template, Action.UPDATE, f"template {template.display_name} {template.version}: body changed "
                 "without a version bump", writes=writes)


# --- uninstall ------------------------------------------------------------------------------


def _same_template(live: dict, template: HubResource) -> bool:
    live_props = live.get("properties") or {}
    ignored = set(PACKAGE_BOOKKEEPING)
    if "mainTemplate" not in live_props:  # listed without $expand: compare the rest
        ignored.add("mainTemplate")
    # The service keeps only the members its api-version defines (unknown ones are dropped on
    # write), so a member we send that it does not return cannot differ.
    ignored |= {key for key in template.properties if key not in live_props}
    return content_hash(_comparable(live_props, ignored)) == content_hash(_comparable(template.properties, ignored))


def _comparable(props: Mapping, ignored: set[str]) -> dict:
    """A template's properties without package bookkeeping. The packager numbers items: the inner
    metadata's description ("<solution> Analytics Rule 3") and a hunting query's inner
    savedSearch name ("<solution>_Hunting_Query_3") move when an earlier item is removed; that
    is not a change of this item."""
    out = {k: v for k, v in props.items() if k not in ignored}
    main = out.get("mainTemplate")
    if isinstance(main, dict) and isinstance(main.get("resources"), list):
        out["mainTemplate"] = {**main, "resources": [_without_counter(r) for r in main["resources"]]}
    return {"properties": out}


def _without_counter(resource):
    if not isinstance(resource, dict):
        return resource
    if str(resource.get("type", "")).lower().endswith("/metadata"):
        inner = {k: v for k, v in (resource.get("properties") or {}).items() if k != "description"}
        return {**resource, "properties": inner}
    if _HUNTING_NAME.search(str(resource.get("name", ""))):
        return {k: v for k, v in resource.items() if k != "name"}
    return resource


def _uninstall_package(content_id: str, package: dict | None, metadata: dict, state: LiveState) -> list[PlanItem]:
    items = [_uninstall_template(t, f"package {content_id} is no longer in the content")
             for t in sorted(live_templates_of(state, content_id), key=lambda b: b["id"])]
    writes = [Write("DELETE", package["id"], etag=package.get("etag"))] if package else []
    writes.append(Write("DELETE", metadata["id"], etag=metadata.get("etag"), role=ResourceRole.METADATA))
    props = (package or {}).get("properties") or {}
    items.append(PlanItem(
        key=f"Package/{props.get('contentId') or content_id}", kind="Package",
        name=str(props.get("displayName") or content_id), action=Action.UNINSTALL, resource_type=PACKAGE_TYPE,
        resource_id=(package or metadata)["id"], reason="the content no longer has this package: uninstall it "
        "(active items made from it stay; --prune deletes ours)", writes=tuple(writes)))
    return items


def _uninstall_template(body: dict, reason: str) -> PlanItem:
    props = body.get("properties") or {}
    return PlanItem(
        key=f"Template/{props.get('contentKind', '')}/{props.get('contentId', '')}", kind="Template",
        name=str(props.get("displayName") or props.get("contentId") or body["id"].rsplit("/", 1)[-1]),
        action=Action.UNINSTALL, resource_type=TEMPLATE_TYPE, resource_id=body["id"], reason=reason,
        writes=(Write("DELETE", body["id"], etag=body.get("etag")),))


# --- helpers --------------------------------------------------------------------------------


def _item(resource: HubResource, action: Action, reason: str = "", *, writes: Iterable[Write] = (),
          resource_id: str | None = None, digest: str | None = None, live_hash: str | None = None) -> PlanItem:
    is_package = resource.content_kind == "Solution"
    return PlanItem(
        key=resource.key, kind="Package" if is_package else "Template", name=resource.display_name, action=action,
        resource_type=PACKAGE_TYPE if is_package else TEMPLATE_TYPE, resource_id=resource_id or resource.resource_id,
        reason=reason, writes=tuple(writes), content_hash=digest, live_hash=live_hash)


def _live_package(state: LiveState, package: HubResource) -> dict | None:
    found = state.packages.get(package.resource_id.lower())
    if found is not None:
        return found
    wanted = package.content_id.lower()
    return next((b for b in state.packages.values()
                 if str((b.get("properties") or {}).get("contentId", "")).lower() == wanted), None)


def _package_owner(live: dict, state: LiveState) -> str:
    meta = next((m for m in state.metadata.values()
                 if str((m.get("properties") or {}).get("parentId", "")).lower() == live["id"].lower()), None)
    if meta is not None:
        return owner_description(meta)
    source = (live.get("properties") or {}).get("source") or {}
    return f"source {source.get('kind', '?')} {source.get('name', '')!r}".strip()


def _foreign_templates(state: LiveState, package_content_id: str) -> dict[str, dict]:
    """contentId -> a live template with that contentId from another package (a clash)."""
    mine = package_content_id.lower()
    out: dict[str, dict] = {}
    for body in state.templates.values():
        props = body.get("properties") or {}
        if str(props.get("packageId", "")).lower() != mine:
            out.setdefault(str(props.get("contentId", "")), body)
    return out


def _same_owner_record(live: dict | None, desired: dict) -> bool:
    """Equal but for the commit in the mark and the stored hash (they record the last change)."""
    def comparable(body: dict | None) -> dict:
        props = dict((body or {}).get("properties") or {})
        mark = str(props.pop("customVersion", ""))
        owner, _, rest = mark.partition(" sha256:")
        props["customVersion"] = (owner.rsplit("@", 1)[0], rest.split(" live=")[0])
        props.pop("parentId", None)
        return content_hash({"properties": props}) if props else ""
    return comparable(live) == comparable(desired)


def _version(body: dict | None) -> str:
    return str(((body or {}).get("properties") or {}).get("version", ""))


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))
