"""What a workspace holds, read with list calls only, and who owns each resource.

One snapshot per plan: the collections every registered content kind lives in
(packer.content.load.KINDS: alert rules, saved searches, Sentinel workbooks linked to the
workspace, automation rules, watchlists without their items: packer.plan.watchlists lists the
items of the watchlists it plans), then metadata, Content Hub packages and templates (one list call each, paged); the
table list is read separately, only when a rule is about to be written. Ownership is read from metadata (see
packer.bodies.resources for the marker).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from packer import resource_ids
from packer.content.load import live_collections
from packer.plan.query_needs import WorkspaceTables
from packer.remote.client import WorkspaceClient
from packer.remote.errors import RemoteError
from packer.bodies.resources import OWNER_PREFIX, SOURCE_KIND, mark_owner, parse_stamp


@dataclass(frozen=True)
class LiveState:
    resources: Mapping[str, dict]  # lower-cased resource id -> body (rules, savedSearches, workbooks)
    metadata: Mapping[str, dict]  # lower-cased metadata id -> body
    packages: Mapping[str, dict] = field(default_factory=dict)  # contentPackages, by lower-cased id
    templates: Mapping[str, dict] = field(default_factory=dict)  # contentTemplates, by lower-cased id
    _by_parent: dict[str, dict] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for body in self.metadata.values():
            parent = str(((body.get("properties") or {}).get("parentId")) or "").lower()
            if parent:
                self._by_parent.setdefault(parent, body)

    def resource(self, resource_id: str) -> dict | None:
        return self.resources.get(resource_id.lower())

    def metadata_of(self, resource_id: str, metadata_id: str | None = None) -> dict | None:
        """The metadata describing a resource: by parentId, else by the expected metadata id."""
        found = self._by_parent.get(resource_id.lower())
        if found is None and metadata_id:
            found = self.metadata.get(metadata_id.lower())
        return found

    def etags(self) -> dict[str, str]:
        out = {rid: str(body.get("etag") or "") for rid, body in self.resources.items()}
        out.update({mid: str(body.get("etag") or "") for mid, body in self.metadata.items()})
        for collection in (self.packages, self.templates):
            out.update({rid: str(body.get("etag") or "") for rid, body in collection.items()})
        return out


def read_live_state(client: WorkspaceClient) -> LiveState:
    resources: dict[str, dict] = {}
    for collection in live_collections():
        resources.update(_by_id(client.list_in(collection)))
    return LiveState(resources, _by_id(client.list_in(resource_ids.METADATA)),
                     _by_id(client.list_in(resource_ids.CONTENT_PACKAGES)),
                     _by_id(client.list_in(resource_ids.CONTENT_TEMPLATES)))


def _by_id(bodies: list[dict]) -> dict[str, dict]:
    return {body["id"].lower(): body for body in bodies if body.get("id")}


def workspace_tables(client: WorkspaceClient) -> tuple[WorkspaceTables | None, str]:
    """The workspace's tables and their columns, or None and why they are unknown."""
    try:
        tables = WorkspaceTables.from_bodies(client.list_in(resource_ids.TABLES))
    except RemoteError as exc:
        return None, f"table probe skipped: {exc.code}: {exc.message}"
    if not tables.names:
        return None, "table probe skipped: the workspace lists no tables"
    return tables, ""


# --- ownership ------------------------------------------------------------------------------


def source_of(metadata: dict | None) -> dict:
    return ((metadata or {}).get("properties") or {}).get("source") or {}


def owner_of(metadata: dict | None) -> str | None:
    """The ownership mark "sentinel-packer:<repository>:<path>@<commit>" of an item, from
    customVersion (items linked to a solution), else from the older SourceRepository source."""
    props = (metadata or {}).get("properties") or {}
    marked = mark_owner(props.get("customVersion"))
    if marked:
        return marked
    source = source_of(metadata)
    source_id = str(source.get("sourceId", ""))
    if source.get("kind") == SOURCE_KIND and source_id.startswith(OWNER_PREFIX):
        return source_id
    return None


def owned_by(metadata: dict | None, repository: str) -> bool:
    """Deployed by this tool from this repository (older form: source kind, name and id must all
    match). Repository names compare as GitHub compares them: case-insensitively."""
    owner = owner_of(metadata)
    if not owner or not owner.lower().startswith(f"{OWNER_PREFIX}{repository}:".lower()):
        return False
    source = source_of(metadata)
    return source.get("kind") != SOURCE_KIND or same_repository(str(source.get("name") or ""), repository)


def same_repository(one: str, other: str) -> bool:
    """GitHub's `owner/name` is case-insensitive (Contoso/Sentinel is contoso/sentinel)."""
    return one.casefold() == other.casefold()


def owning_repository(metadata: dict | None) -> str | None:
    """The repository a sentinel-packer mark names, if any."""
    owner = owner_of(metadata)
    return owner[len(OWNER_PREFIX):].split(":", 1)[0] if owner else None


def other_repository(metadata: dict | None) -> str | None:
    """The repository that owns an item: a sentinel-packer mark's, else a Sentinel Repositories
    deployment's (source kind SourceRepository, its name), else None."""
    owner = owning_repository(metadata)
    if owner:
        return owner
    source = source_of(metadata)
    return str(source.get("name") or "") or None if source.get("kind") == SOURCE_KIND else None


def owner_description(metadata: dict | None) -> str:
    source = source_of(metadata)
    owner = owning_repository(metadata)
    if owner:
        return f"deployed by sentinel-packer from repository {owner!r}"
    if not source:
        return "no sentinel-packer metadata (created in the portal or by another tool)"
    return f"source {source.get('kind')} {source.get('name')!r}".strip()


def recorded_hashes(metadata: dict | None) -> tuple[str | None, str | None]:
    """(hash of the body we last sent, hash of the body the service stored then)."""
    return parse_stamp(((metadata or {}).get("properties") or {}).get("customVersion"))


def fingerprint(etags: Mapping[str, str], watched: Iterable[str]) -> str:
    """sha256 over each watched id and its etag ('-' when absent), order-independent."""
    lines = sorted(f"{rid.lower()} {etags.get(rid.lower()) or '-'}" for rid in set(w.lower() for w in watched))
    return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()


def display_name(body: dict | None) -> str:
    props = (body or {}).get("properties") or {}
    return str(props.get("displayName") or props.get("functionAlias") or (body or {}).get("name") or "")


def body_value(body: dict | None, *path: str) -> Any:
    value: Any = body or {}
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value
