"""compute_plan: desired bodies vs what the workspace holds -> a Plan.

Reads with list calls only (see packer.plan.live), classifies every content item, and every
resource this tool and this repository own that the content no longer has (prune).
Classification of an item whose resource exists (hashes: packer.remote.normalise; the stamp
"sent / stored" is read from our metadata, see packer.bodies.resources):
- not ours (no sentinel-packer metadata of this repository) -> foreign, unless the live body
  already equals ours and carries no metadata at all (an apply interrupted between the
  resource and its metadata): then only the metadata is written;
- live == desired, or live == what the service stored when we last sent exactly this
  desired body -> unchanged (or a metadata-only update when version/path/stamp differ);
- live != what the service stored after our last apply -> drifted (edited outside);
- else -> update, with a field-level diff.
An item whose resource does not exist is foreign when another resource, not ours, already has
its display name (or function alias), else create. Rules whose tables, or columns of those
tables, are missing from the workspace are blocked instead of created/updated.

Content Hub (packer.plan.content_hub): the content's package and one template per item are planned first
(packer.plan.content_hub), from the un-overlaid content (`package_content`): every workspace gets the
same package; overlays shape only the active items. An item of ours whose template version
moves is an `upgrade`. One of ours edited in the workspace since our last apply, whose template
changed upstream, is merged per field (packer.plan.merge): base = the item as made from the live
template it was created from, ours = as made from the new template, theirs = the live item;
conflicts follow `on_conflict` (fail: the item is `conflict`, nothing of the plan is applied).
Without such a base (no live template of that version), it is `drifted` as before.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping

from packer.content.model import ContentItem, ContentSet
from packer.errors import PackerError
from packer.package.hub_resources import PackageBodies, content_package_bodies
from packer.plan.content_hub import live_template_by_kind_and_id, plan_install
from packer.plan.merge import check_on_conflict, three_way
from packer.plan.watchlists import classify_watchlist
from packer.plan.diff import field_changes
from packer.plan.live import (
    LiveState,
    body_value,
    display_name,
    fingerprint,
    owned_by,
    owner_description,
    owner_of,
    other_repository,
    owning_repository,
    read_live_state,
    recorded_hashes,
    same_repository,
    workspace_tables,
)
from packer.plan.model import Action, MergeConflict, Plan, PlanItem, Write
from packer.plan.query_needs import QueryNeeds, WorkspaceTables, needs_reader
from packer.remote.client import WorkspaceClient
from packer.remote.normalise import content_hash, normalise
from packer.resource_ids import ResourceRole
from packer.bodies.resources import (
    DesiredResource,
    ResourceType,
    content_id_of,
    desired_resources,
    item_key,
    owner_source_id,
    owner_source_path,
    parse_stamp,
    active_body_from_template,
    merged_metadata,
    repository_path,
    stamp_merged,
    stamped_metadata,
    with_location,
)
from packer.targets.model import Target

TablesNeeded = Callable[[ContentItem], "set[str]"]
ColumnsNeeded = Callable[[ContentItem], "Mapping[str, set[str]]"]  # table -> columns the rule reads


def compute_plan(content: ContentSet, target: Target, client: WorkspaceClient, commit: str | None = None, *,
                 root: Path | None = None, probe_tables: bool = True,
                 tables_needed: TablesNeeded | None = None, columns_needed: ColumnsNeeded | None = None,
                 package_content: ContentSet | None = None, on_conflict: str = "fail", install: bool = True,
                 adopt: bool = False, adopt_from: tuple[str, ...] = ()) -> Plan:
    """The plan for one workspace. `content` must be validated (and overlaid) already;
    `commit` is recorded in the ownership metadata of what changes; `root` is the repository
    root paths are recorded against (default: the file's Git work tree). `probe_tables=False`
    skips listing the workspace's tables (no item is then blocked); `tables_needed(rule)`
    replaces the default KQL analysis of which tables a rule reads, and `columns_needed(rule)`
    (table -> columns) of which columns; given `tables_needed` alone, columns are not checked.
    `package_content`: the content the package is built from (default `content`; the fleet
    passes the content before overlays). `install=False` plans the active items alone.
    `adopt`: take ownership of items not ours whose live body equals the content, even when
    another tool or Content Hub wrote their metadata; `adopt_from`: also of those another
    repository owns (named). Adopting writes the metadata only, never the resource."""
    check_on_conflict(on_conflict)
    desired = desired_resources(content, target, commit, root)
    state = read_live_state(client)
    needs = _needs_of(content, tables_needed, columns_needed)
    blocked = _BlockedCheck(content, client if probe_tables else None, needs)
    desired_ids = {d.resource_id.lower() for d in desired}
    items: list[PlanItem] = []
    bodies = None
    if install:
        source = package_content or content
        bodies = content_package_bodies(source, target)
        solution_path = _solution_path(source, root)
        items += plan_install(bodies, state, target, owner_source_id(target.repository, solution_path, commit))
    planner = _Planner(target, state, client, blocked, desired_ids, bodies, on_conflict, adopt, tuple(adopt_from))
    planner.disabled = _disabled_here(package_content, content)
    items += [planner.classify(d) for d in desired]
    items += planner.prunes()
    _refuse_all_foreign(items, state, target, planner.adoptable)
    watched = sorted({rid for item in items for rid in _watched_ids(item)} | planner.extra_watched)
    notes = (blocked.note,) if blocked.note else ()
    return Plan(
        target=target, commit=commit, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        fingerprint=fingerprint(state.etags(), watched), watched=tuple(watched), items=tuple(items), notes=notes,
    )


class AllForeign(PackerError):
    """Every item exists in the workspace and belongs to someone else: nothing would be deployed."""


def _refuse_all_foreign(items: list[PlanItem], state: LiveState, target: Target, adoptable: set[str]) -> None:
    """A repository-name mismatch makes every item foreign; a green "nothing to do" would hide it.
    When some of them equal the content, the error also names the flag that adopts them."""
    if not items or any(item.action is not Action.FOREIGN for item in items):
        return
    owners = sorted({o for o in map(owning_repository, state.metadata.values()) if o}, key=str.casefold)
    where = f"every item of the plan ({len(items)}) already exists in workspace {target.workspace} and is not " \
            f"owned by repository {target.repository!r}, so nothing would be deployed."
    if owners:
        names = ", ".join(repr(o) for o in owners)
        adopt = (f" To take over the {len(adoptable)} that equal the content instead, pass --adopt-from "
                 f"{owners[0]} (their ownership metadata alone is rewritten)." if adoptable else "")
        raise AllForeign(f"{where} They were deployed by sentinel-packer from repository {names}: if this "
                         f"repository was renamed or moved, pass --repository {owners[0]} (or set `repository:` "
                         "in targets.yaml) to keep managing them under the name they were deployed with." + adopt)
    raise AllForeign(f"{where} They were made in the portal or by another tool: delete them or give this "
                     "content new ids and names.")


def _needs_of(content: ContentSet, tables_needed: TablesNeeded | None,
              columns_needed: ColumnsNeeded | None) -> Callable[[ContentItem], QueryNeeds]:
    if tables_needed is None:  # validation's KQL pass answers both (one analysis per query)
        needs = needs_reader(content, content.packaged)
        return lambda item: needs(getattr(item, "query", "") or "")
    return lambda item: QueryNeeds(
        frozenset(tables_needed(item)),
        {t: frozenset(c) for t, c in (columns_needed(item) if columns_needed else {}).items()},
    )


class _BlockedCheck:
    """Why a rule would be rejected here: tables its query needs that the workspace lacks,
    or columns it reads that the workspace's table lacks.
    Asked only for rules about to be written: an unchanged rule costs no KQL analysis, and a
    plan with no rule to write never lists the tables."""

    def __init__(self, content: ContentSet, client: WorkspaceClient | None, needs: Callable[[ContentItem], QueryNeeds]):
        self._rules = {item_key(rule): rule for rule in content.analytic_rules}
        self._client = client  # None: no probe
        self._needs = needs
        self._tables: WorkspaceTables | None = None
        self._probed = False
        self.note = ""

    def reason(self, key: str) -> str | None:
        rule = self._rules.get(key)
        if rule is None or self._client is None:
            return None
        if not self._probed:
            self._tables, self.note = workspace_tables(self._client)
            self._probed = True
        if self._tables is None:
            return None
        return self._tables.blocked_reason(self._needs(rule))


def _watched_ids(item: PlanItem) -> list[str]:
    return [item.resource_id, *(w.resource_id for w in item.writes)]


def _solution_path(content: ContentSet, root: Path | None) -> str:
    return repository_path(content.solution.source.path, root) if content.solution is not None else "solution.yaml"


class _Planner:
    def __init__(self, target: Target, state: LiveState, client: WorkspaceClient, blocked: _BlockedCheck,
                 desired_ids: set[str], bodies: PackageBodies | None = None, on_conflict: str = "fail",
                 adopt: bool = False, adopt_from: tuple[str, ...] = ()):
        self.target = target
        self.adopt = adopt or bool(adopt_from)
        self.adopt_from = adopt_from
        self.bodies = bodies
        self.on_conflict = on_conflict
        self.live_templates = (live_template_by_kind_and_id(state, bodies.package.content_id)
                               if bodies is not None else {})
        self.desired_ids = desired_ids
        self.blocked = blocked
        self.state = state
        self.client = client
        self.extra_watched: set[str] = set()
        self.adoptable: set[str] = set()  # keys of items equal to the content, not ours (adopt, or a flag would)
        self.disabled: frozenset[str] = frozenset()  # contentIds an overlay leaves out of this workspace
        self._location: str | None = None
        self._by_identity: dict[tuple[str, str], list[dict]] | None = None

    def classify(self, d: DesiredResource) -> PlanItem:
        if d.resource_type == ResourceType.WATCHLIST:
            return classify_watchlist(self, d)
        live = self.state.resource(d.resource_id)
        meta = self.state.metadata_of(d.resource_id, d.metadata_id)
        if live is None:
            clash = self._name_clash(d)
            if clash is not None:
                self.extra_watched.add(clash["id"])
                owner = owner_description(self.state.metadata_of(clash["id"]))
                return self._item(d, Action.FOREIGN, f"{clash['id'].rsplit('/', 1)[-1]} already has this name ({owner}); "
                                  "rename one of them, or delete the other to let this tool create it")
            blocked_reason = self.blocked.reason(d.key)
            if blocked_reason:
                return self._item(d, Action.BLOCKED, blocked_reason)
            replaces = self._replaced(d)
            reason = f"from {d.source_path}" + (f"; replaces {replaces.rsplit('/', 1)[-1]} (deleted first)"
                                                if replaces else "")
            return self._item(d, Action.CREATE, reason, writes=(self._put(d, None), self._put_metadata(d, meta)),
                              replaces=replaces)
        live_hash = content_hash(live)
        ours = owned_by(meta, self.target.repository)
        if not ours:
            return self._not_ours(d, meta, live_hash)
        sent, stored = recorded_hashes(meta)
        if live_hash == d.content_hash or (live_hash == stored and d.content_hash == sent):
            if live_hash == stored and _same_metadata(meta, d.metadata_body):
                return self._item(d, Action.UNCHANGED, live_hash=live_hash)
            reason = "metadata only: version, source or stored hash changed"
            return self._item(d, Action.UPDATE, reason, live_hash=live_hash,
                              writes=(self._put_metadata(d, meta, live_hash),),
                              changes=_metadata_changes(meta, d.metadata_body))
        changes = field_changes(live, d.body)
        blocked_reason = self.blocked.reason(d.key)
        if blocked_reason:
            return self._item(d, Action.BLOCKED, blocked_reason, changes=changes, live_hash=live_hash)
        writes = (self._put(d, live), self._put_metadata(d, meta))
        upgrade = self._upgrade_from(d, live, meta)
        edited = stored is not None and stored != live_hash
        kept_before = stamp_merged(body_value(meta, "properties", "customVersion"))  # edits a merge kept
        if edited or kept_before:
            base = self._base_body(d, live)
            if base is not None and content_hash(base) != d.content_hash:
                return self._merged(d, live, meta, base, live_hash, upgrade)
        if edited:
            return self._item(d, Action.DRIFTED, "changed outside sentinel-packer since the last apply",
                              changes=changes, writes=writes, live_hash=live_hash)
        if upgrade:
            return self._item(d, Action.UPGRADE, upgrade, changes=changes, writes=writes, live_hash=live_hash)
        return self._item(d, Action.UPDATE, changes=changes, writes=writes, live_hash=live_hash)

    # --- adoption -----------------------------------------------------------------------------

    def _not_ours(self, d: DesiredResource, meta: dict | None, live_hash: str) -> PlanItem:
        """Foreign, or `adopt` when the live body equals the content: its metadata alone is written.
        Without metadata (made in the portal, or an apply of ours interrupted before its metadata)
        it is always adopted; with another tool's or Content Hub's metadata only with `adopt`;
        owned by another repository only when `adopt_from` names that repository."""
        owner = owner_description(meta)
        if live_hash != d.content_hash:
            hint = "; it differs from the content, so it cannot be adopted (export it first)" if self.adopt else ""
            return self._item(d, Action.FOREIGN, f"exists and is not ours: {owner}{hint}", live_hash=live_hash)
        other = other_repository(meta)
        self.adoptable.add(d.key)
        if other and not any(same_repository(other, r) for r in self.adopt_from):
            return self._item(d, Action.FOREIGN, f"equal to the content but owned by repository {other!r}: "
                              f"--adopt-from {other} takes it over", live_hash=live_hash)
        if meta is not None and not other and not self.adopt:
            return self._item(d, Action.FOREIGN, f"equal to the content, not ours ({owner}): --adopt takes "
                              "ownership (writes its metadata only)", live_hash=live_hash)
        reason = ("equal to the content, no metadata: ownership recorded (metadata only)" if meta is None else
                  f"equal to the content, taken over (it was {owner}): metadata only")
        return self._item(d, Action.ADOPT, reason, live_hash=live_hash,
                          writes=(self._put_metadata(d, meta, live_hash),))

    # --- upgrades -----------------------------------------------------------------------------

    def _upgrade_from(self, d: DesiredResource, live: dict, meta: dict | None) -> str:
        """"<kind> <name> 1.0.0 -> 1.0.1" when the template version the item was made from moves."""
        before = body_value(live, "properties", "templateVersion") if d.resource_type == ResourceType.ALERT_RULE \
            else body_value(meta, "properties", "version")
        after = body_value(d.metadata_body, "properties", "version")
        if not before or not after or before == after:
            return ""
        return f"{before} -> {after}"

    def _base_body(self, d: DesiredResource, live: dict) -> dict | None:
        """The item as made from the live template it was created from (None: unknown)."""
        content_id = body_value(d.metadata_body, "properties", "contentId")
        template = self.live_templates.get((d.kind.value, str(content_id)))
        if template is None:
            return None
        made_from = (body_value(live, "properties", "templateVersion") if d.resource_type == ResourceType.ALERT_RULE
                     else body_value(self.state.metadata_of(d.resource_id, d.metadata_id), "properties", "version"))
        version = body_value(template, "properties", "version")
        if made_from and made_from != version:
            return None
        return active_body_from_template(template, d.body)

    def _merged(self, d: DesiredResource, live: dict, meta: dict | None, base: dict, live_hash: str,
                upgrade: str) -> PlanItem:
        result = three_way(base, d.body, live, self.on_conflict)
        conflicts = tuple(MergeConflict(c.path, c.base, c.ours, c.theirs) for c in result.conflicts)
        if conflicts and self.on_conflict == "fail":
            names = ", ".join(c.path for c in conflicts)
            return self._item(d, Action.CONFLICT, f"edited in the workspace and upstream: {names} "
                              "(--on-conflict ours|theirs decides)", live_hash=live_hash, conflicts=conflicts)
        merged = dict(result.body)
        changes = field_changes(live, merged)
        kept = ", ".join(p.removeprefix("properties.") for p in result.kept)
        reason = "merged with the workspace's edits" + (f" (kept {kept})" if kept else "")
        if conflicts:
            reason += f"; conflicts resolved with --on-conflict {self.on_conflict}"
        if upgrade:
            reason = f"{upgrade}; {reason}"
        metadata = self._put_metadata(d, meta)
        if result.kept:  # still customised: the next upgrade merges again
            metadata = replace(metadata, body=merged_metadata(metadata.body))
        writes = (self._put_body(d, merged, live), metadata)
        return self._item(d, Action.UPGRADE if upgrade else Action.UPDATE, reason, changes=changes, writes=writes,
                          live_hash=live_hash, conflicts=conflicts)

    def prunes(self) -> list[PlanItem]:
        items = []
        for metadata_id, meta in sorted(self.state.metadata.items()):
            props = meta.get("properties") or {}
            parent = str(props.get("parentId") or "")
            if not owned_by(meta, self.target.repository) or parent.lower() in self.desired_ids:
                continue
            if props.get("kind") == "Solution":  # a package's record: packer.plan.content_hub plans it
                continue
            live = self.state.resource(parent)
            writes = [Write("DELETE", live["id"], etag=live.get("etag"))] if live else []
            writes.append(Write("DELETE", meta["id"], etag=meta.get("etag"), role=ResourceRole.METADATA))
            edited = bool(live) and recorded_hashes(meta)[1] not in (None, content_hash(live))
            path = owner_source_path(owner_of(meta) or "", self.target.repository)
            items.append(PlanItem(
                key=f"{props.get('kind', '')}/{props.get('contentId', '')}", kind=str(props.get("kind", "")),
                name=display_name(live) or str(props.get("contentId", "")), action=Action.PRUNE,
                resource_type=_resource_type(parent), resource_id=parent or meta["id"], source_path=path,
                reason=self._prune_reason(str(props.get("contentId", "")))
                + ("" if live else " (resource already gone: metadata only)")
                + ("; it was edited outside sentinel-packer since the last apply" if edited else ""),
                writes=tuple(writes), live_hash=content_hash(live) if live else None,
            ))
        return items

    def _prune_reason(self, content_id: str) -> str:
        if content_id.lower() in self.disabled:
            return "disabled for this workspace by an overlay in targets.yaml"
        return "no longer in the content"

    # --- helpers ------------------------------------------------------------------------------

    @staticmethod
    def same_metadata(live: dict | None, desired: dict) -> bool:
        return _same_metadata(live, desired)

    def _item(self, d: DesiredResource, action: Action, reason: str = "", *, changes=(), writes=(),
              live_hash: str | None = None, replaces: str | None = None, conflicts=()) -> PlanItem:
        return PlanItem(
            key=d.key, kind=d.kind.value, name=d.display_name, action=action, resource_type=d.resource_type,
            resource_id=d.resource_id, source_path=d.source_path, reason=reason, changes=tuple(changes),
            writes=tuple(writes), calls=d.calls, content_hash=d.content_hash, live_hash=live_hash,
            replaces=replaces, conflicts=tuple(conflicts),
        )

    def _put(self, d: DesiredResource, live: dict | None) -> Write:
        return self._put_body(d, d.body, live)

    def _put_body(self, d: DesiredResource, body, live: dict | None) -> Write:
        body = dict(body)
        if d.resource_type == ResourceType.WORKBOOK:
            body = with_location(body, (live or {}).get("location") or self._workspace_location())
        return Write("PUT", d.resource_id, body, (live or {}).get("etag"), create=live is None)

    def _put_metadata(self, d: DesiredResource, meta: dict | None, stored_hash: str | None = None) -> Write:
        """The metadata PUT; for a resource about to be written, apply adds the stored hash."""
        metadata_id = (meta or {}).get("id") or d.metadata_id
        return Write("PUT", metadata_id, stamped_metadata(d.metadata_body, stored_hash), (meta or {}).get("etag"),
                     ResourceRole.METADATA, create=meta is None)

    def _workspace_location(self) -> str | None:
        if self._location is None:
            self._location = str(self.client.get_workspace().get("location") or "")
        return self._location or None

    def _same_name(self, d: DesiredResource) -> list[dict]:
        """Other live resources with this item's display name (or function alias)."""
        if self._by_identity is None:
            self._by_identity = {}
            for body in self.state.resources.values():
                self._by_identity.setdefault(_identity(body), []).append(body)
        wanted = _identity(d.body)
        if not wanted[1]:
            return []
        return [b for b in self._by_identity.get(wanted, ()) if str(b.get("id", "")).lower() != d.resource_id.lower()]

    def _name_clash(self, d: DesiredResource) -> dict | None:
        """Another resource, not ours, with this item's display name (or function alias)."""
        return next((b for b in self._same_name(d)
                     if not owned_by(self.state.metadata_of(b["id"]), self.target.repository)), None)

    def _replaced(self, d: DesiredResource) -> str | None:
        """Our own resource this create replaces under a new name (a workbook whose id changed,
        a parser whose function name changed): the service refuses two of the same name, so
        apply deletes the old one first (with --prune)."""
        if _identity(d.body)[0] not in UNIQUE_NAMES:
            return None
        return next((b["id"] for b in self._same_name(d) if b["id"].lower() not in self.desired_ids
                     and owned_by(self.state.metadata_of(b["id"]), self.target.repository)), None)


UNIQUE_NAMES = frozenset({"workbook", "function"})  # families whose names the services keep unique


def _identity(body: dict) -> tuple[str, str]:
    """(resource family, name users see): what must not be duplicated in a workspace."""
    props = body.get("properties") or {}
    if "triggeringLogic" in props or "itemsSearchKey" in props:
        return "automation-or-watchlist", ""  # names need not be unique (a watchlist's alias is its resource name)
    if props.get("functionAlias"):
        return "function", str(props["functionAlias"]).lower()
    if "category" in props and "query" in props:  # savedSearch
        return f"search:{str(props.get('category')).lower()}", str(props.get("displayName", "")).lower()
    if "serializedData" in props or body.get("kind") == "shared":
        return "workbook", str(props.get("displayName", "")).lower()
    return "rule", str(props.get("displayName", "")).lower()


def _same_metadata(live: dict | None, desired: dict) -> bool:
    return _comparable_metadata(live) == _comparable_metadata(desired)


def _comparable_metadata(body: dict | None) -> dict:
    """Metadata as compared: the commit in sourceId is not a difference (it records the last
    change), nor is the stored hash in customVersion (compared separately)."""
    norm = normalise(body or {})
    props = norm.get("properties", {})
    if "customVersion" in props:
        owner = owner_of(body)
        props["customVersion"] = [owner.rsplit("@", 1)[0] if owner else None,
                                  parse_stamp(props["customVersion"])[0] or props["customVersion"]]
    source = body_value(norm, "properties", "source")
    if isinstance(source, dict) and isinstance(source.get("sourceId"), str):
        norm["properties"]["source"] = {**source, "sourceId": source["sourceId"].rsplit("@", 1)[0]}
    norm.get("properties", {}).pop("parentId", None)  # ids are case-insensitive; matched already
    return norm


def _metadata_changes(live: dict | None, desired: dict):
    return tuple(c for c in field_changes(live, desired) if c.path != "properties.parentId")


def _resource_type(resource_id: str) -> str:
    lowered = resource_id.lower()
    if "/alertrules/" in lowered:
        return ResourceType.ALERT_RULE
    if "/savedsearches/" in lowered:
        return ResourceType.SAVED_SEARCH
    if "/workbooks/" in lowered:
        return ResourceType.WORKBOOK
    if "/automationrules/" in lowered:
        return ResourceType.AUTOMATION_RULE
    if "/watchlists/" in lowered:
        return ResourceType.WATCHLIST
    return ResourceType.METADATA


def _disabled_here(package_content: ContentSet | None, content: ContentSet) -> frozenset[str]:
    """contentIds of the package content that this workspace's overlays disabled."""
    if package_content is None:
        return frozenset()
    here = {content_id_of(item).lower() for item in content.items}
    return frozenset(cid for cid in (content_id_of(item).lower() for item in package_content.items)
                     if cid not in here)
