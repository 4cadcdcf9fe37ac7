"""Content items -> the exact management-API bodies for one workspace (what `apply` PUTs).

The `properties` come from `packer.bodies.properties` (the packager's own mapping, one place);
this module adds what the live API needs and drops what only a template carries:
- alertRules (Scheduled, NRT): `kind`; `alertRuleTemplateName` = the rule id and
  `templateVersion` = its version (the contentId/version of the AlertRuleTemplate the built
  package installs), so the portal links the rule to its template; the rule's own `enabled`;
  template-only fields (status, requiredDataConnectors) and fields the pinned api-version does
  not define (subTechniques, sentinelEntitiesMappings) are dropped, or the live rule would
  never compare equal.
- savedSearches: hunting queries (category "Hunting Queries", tags description/tactics/
  techniques) and parsers (functionAlias, functionParameters); the template's inner `eTag: "*"`
  is dropped (concurrency uses the resource etag).
- workbooks (resource-group level): kind shared, category sentinel, sourceId = the workspace
  id; `location` is added at write time (the workspace's, or the existing workbook's).

Deterministic names: rule = content id; hunting query = its id; parser = its function name
(as Content Hub names it); workbook = uuid5 of workspace id + key, seeded by the workbook's `id`
GUID when it has one (workbooks live in the resource group, which several workspaces share).

Metadata (`Microsoft.SecurityInsights/metadata/<Kind>-<name>`), one per item, holds both the
portal's linkage and our ownership mark. The REST spec (Metadata.json, 2024-09-01) has no
free-form property, so:
- linkage, as Content Hub writes it for content created from a solution: kind, contentId
  (= the template's), version (= the template's), parentId (the item's id), source {kind:
  Solution, name: <solution name>, sourceId: <solution id>}, author/support from solution.yaml;
- ownership, in `customVersion` (free text in the spec, not used by Content Hub for items):
  "sentinel-packer:<repository>:<path>@<commit> sha256:<desired> live=sha256:<stored>": this
  tool, this repository, the file and the commit of the last change applied, then the hash of
  the body we sent and of the body the service stored in answer (packer.remote.normalise;
  apply fills the second from the PUT response). A live body hashing differently from
  <stored> was edited outside this tool.
Content without solution.yaml has no package: its metadata keeps the older form, source =
{kind: SourceRepository, name: <repository>, sourceId: "sentinel-packer:<repository>:<path>@<commit>"}
and customVersion = the hashes alone. Both forms are recognised as ours.
"""
from __future__ import annotations

import re
import uuid
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from packer import resource_ids
from packer.content.load import git_root
from packer.content.model import (
    AnalyticRule,
    AutomationRule,
    ContentItem,
    ContentKind,
    ContentSet,
    HuntingQuery,
    Parser,
    RuleKind,
    Solution,
    Watchlist,
    Workbook,
)
from packer.bodies.automation import automation_rule_body, watchlist_body, watchlist_hash, watchlist_items
from packer.remote.normalise import content_hash
from packer.bodies.properties import (
    analytic_rule_properties,
    hunting_query_properties,
    parser_properties,
    workbook_properties,
)
from packer.targets.model import Target

OWNER_PREFIX = "sentinel-packer:"
SOURCE_KIND = "SourceRepository"
WORKBOOK_NAMESPACE = uuid.UUID("6f1c1b5e-63b5-4b36-9a43-7f2f5c2a9e10")

# ScheduledAlertRuleProperties at the pinned api-version (AlertRules.json 2024-09-01). An NRT rule
# sends these minus NRT_EXCLUDED, all in NrtAlertRuleProperties of the preview version NRT rules go
# at (api_versions.alert_rule_api_version: no stable spec defines NRT).
RULE_PROPERTIES = (
    "alertRuleTemplateName", "templateVersion", "description", "displayName", "enabled", "query",
    "queryFrequency", "queryPeriod", "severity", "suppressionDuration", "suppressionEnabled",
    "triggerOperator", "triggerThreshold", "tactics", "techniques", "eventGroupingSettings",
    "customDetails", "entityMappings", "alertDetailsOverride", "incidentConfiguration",
)
NRT_EXCLUDED = frozenset({"queryFrequency", "queryPeriod", "triggerOperator", "triggerThreshold"})


class ResourceType:
    ALERT_RULE = "alertRules"
    SAVED_SEARCH = "savedSearches"
    WORKBOOK = "workbooks"
    METADATA = "metadata"
    AUTOMATION_RULE = "automationRules"
    WATCHLIST = "watchlists"


@dataclass(frozen=True)
class DesiredResource:
    """One content item rendered for one workspace: the resource and its ownership metadata."""

    key: str  # "<ContentKind>/<contentId>": unique within a content set
    kind: ContentKind
    resource_type: str  # ResourceType.*
    resource_id: str
    display_name: str
    source_path: str  # posix, relative to the repository root when known
    body: Mapping[str, Any]  # the API body, without etag
    content_hash: str
    metadata_id: str
    metadata_body: Mapping[str, Any]
    calls: tuple[str, ...] = ()  # parser function aliases the query calls (deploy those first)
    # a watchlist's items: search-key value -> values; its content_hash covers them (bodies.automation)
    children: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    columns: tuple[str, ...] = ()  # a watchlist's CSV header

    @property
    def name(self) -> str:
        return self.resource_id.rsplit("/", 1)[-1]


def desired_resources(content: ContentSet, target: Target, commit: str | None = None,
                      root: Path | None = None) -> list[DesiredResource]:
    """Every item a workspace receives, in ContentSet order (parsers first; watchlists and
    automation rules last)."""
    aliases = tuple(p.function_alias for p in content.parsers)
    return [desired_resource(item, target, commit, root, content.solution, aliases) for item in content.items]


def desired_resource(item: ContentItem, target: Target, commit: str | None = None, root: Path | None = None,
                     solution: Solution | None = None, parser_aliases: tuple[str, ...] = ()) -> DesiredResource:
    resource_type, resource_id, body, display_name = _render(item, target)
    children = watchlist_items(item) if isinstance(item, Watchlist) else {}
    digest = watchlist_hash(body, children) if isinstance(item, Watchlist) else content_hash(body)
    path = _relative(item.source.path, root)
    metadata_id = metadata_id_for(target, item.content_kind, resource_id)
    metadata = metadata_body(item, target, resource_id, digest, path, commit, solution)
    query = getattr(item, "query", None)
    calls = tuple(a for a in parser_aliases if query and a != getattr(item, "function_alias", None)
                  and re.search(rf"(?<![\w.]){re.escape(a)}(?!\w)", query))
    return DesiredResource(
        key=item_key(item), kind=item.content_kind, resource_type=resource_type, resource_id=resource_id,
        display_name=display_name, source_path=path, body=body, content_hash=digest, metadata_id=metadata_id,
        metadata_body=metadata, calls=calls, children=children,
        columns=item.columns if isinstance(item, Watchlist) else (),
    )


def item_key(item: ContentItem) -> str:
    return f"{item.content_kind.value}/{content_id_of(item)}"


def content_id_of(item: ContentItem) -> str:
    """The contentId the built package uses for this item."""
    if isinstance(item, Parser):
        return f"{item.function_name}-Parser"
    return item.content_id


# --- per kind -------------------------------------------------------------------------------


Rendered = tuple[str, str, dict, str]  # (ResourceType, resource id, API body, display name)


def _render(item: ContentItem, target: Target) -> Rendered:
    renderer = RENDERERS.get(type(item))
    if renderer is None:
        raise TypeError(f"no API body for {type(item).__name__}")
    return renderer(item, target)


def _alert_rule(rule: AnalyticRule, target: Target) -> Rendered:
    rid = resource_ids.alert_rule_id(target.workspace_id, rule.id)
    return ResourceType.ALERT_RULE, rid, alert_rule_body(rule), rule.name


def _hunting_query(query: HuntingQuery, target: Target) -> Rendered:
    rid = resource_ids.saved_search_id(target.workspace_id, query.id)
    return ResourceType.SAVED_SEARCH, rid, {"properties": _saved_search(hunting_query_properties(query))}, query.name


def _parser(parser: Parser, target: Target) -> Rendered:
    rid = resource_ids.saved_search_id(target.workspace_id, parser.function_name)
    return ResourceType.SAVED_SEARCH, rid, {"properties": _saved_search(parser_properties(parser))}, parser.title


def _workbook(workbook: Workbook, target: Target) -> Rendered:
    rid = resource_ids.workbook_id(target.resource_group_id, workbook_name(workbook, target))
    return ResourceType.WORKBOOK, rid, workbook_body(workbook, target), workbook.title


def _watchlist(watchlist: Watchlist, target: Target) -> Rendered:
    rid = resource_ids.watchlist_id(target.workspace_id, watchlist.alias)
    return ResourceType.WATCHLIST, rid, watchlist_body(watchlist), watchlist.display_name


def _automation_rule(rule: AutomationRule, target: Target) -> Rendered:
    rid = resource_ids.automation_rule_id(target.workspace_id, rule.id)
    return ResourceType.AUTOMATION_RULE, rid, automation_rule_body(rule, target.workspace_id), rule.display_name


# One per content kind's model (packer.content.load.KINDS; tests/test_content_kinds.py checks).
RENDERERS: dict[type, Callable[[Any, Target], Rendered]] = {
    AnalyticRule: _alert_rule,
    HuntingQuery: _hunting_query,
    Parser: _parser,
    Workbook: _workbook,
    Watchlist: _watchlist,
    AutomationRule: _automation_rule,
}


def alert_rule_body(rule: AnalyticRule) -> dict:
    """Linked to the template of its own id, unless the rule names another (alertRuleTemplateName,
    as an exported rule made from Microsoft's template does) or none ("": made from scratch)."""
    template = rule.id if rule.alert_rule_template is None else rule.alert_rule_template
    body = rule_from_template(rule.kind.value, analytic_rule_properties(rule), template, rule.version, rule.enabled)
    if not template:
        for key in ("alertRuleTemplateName", "templateVersion"):
            body["properties"].pop(key, None)
    if rule.techniques:
        body["properties"]["techniques"] = list(rule.techniques)
    return body


def rule_from_template(kind: str, template_properties: Mapping[str, Any], template_content_id: str,
                       template_version: str, enabled: bool) -> dict:
    """An active rule made from an AlertRuleTemplate's `kind`/`properties`, as Content Hub makes
    one: linked by alertRuleTemplateName = the template's contentId and templateVersion = its
    version; template-only fields dropped (content-hub-install.md 2.1)."""
    props = {**template_properties, "enabled": enabled, "alertRuleTemplateName": template_content_id,
             "templateVersion": template_version}
    allowed = [k for k in RULE_PROPERTIES if not (kind == RuleKind.NRT.value and k in NRT_EXCLUDED)]
    return {"kind": kind, "properties": {k: props[k] for k in allowed if k in props}}


def active_body_from_template(template: dict, desired_body) -> dict | None:
    """The active item a live contentTemplate makes: its inner resource's kind and properties (a
    rule linked to the template by name and version, with the desired `enabled`), as the API
    body of that kind. None when the template has no inner resource (listed without $expand)."""
    props = template.get("properties") or {}
    resources = (props.get("mainTemplate") or {}).get("resources") or []
    inner = next((r for r in resources if isinstance(r, dict)
                  and not str(r.get("type", "")).lower().endswith("/metadata")), None)
    if inner is None:
        return None
    inner_props = dict(inner.get("properties") or {})
    if str(inner.get("type", "")).lower().endswith("alertruletemplates"):
        enabled = bool(((desired_body or {}).get("properties") or {}).get("enabled"))
        return rule_from_template(str(inner.get("kind", "")), inner_props, str(props.get("contentId", "")),
                                  str(props.get("version", "")), enabled)
    inner_props.pop("eTag", None)
    body = {"properties": inner_props}
    if inner.get("kind"):
        body = {"kind": inner["kind"], **body}
    return body


def _saved_search(props: dict) -> dict:
    return {k: v for k, v in props.items() if k != "eTag"}


def workbook_name(workbook: Workbook, target: Target) -> str:
    """A GUID per (workbook, workspace): workbooks live in the resource group, which several
    workspaces may share, so the workbook's own `id` seeds the name instead of being it. An exported
    workbook pins the name it has in Azure (`resourceName`)."""
    if workbook.resource_name:
        return workbook.resource_name
    try:
        namespace = uuid.UUID(str(workbook.id)) if workbook.id else WORKBOOK_NAMESPACE
    except ValueError:
        namespace = WORKBOOK_NAMESPACE
    return str(uuid.uuid5(namespace, f"{target.workspace_id.lower()}|{workbook.key}"))


def workbook_body(workbook: Workbook, target: Target) -> dict:
    return {"kind": "shared", "properties": workbook_properties(workbook, target.workspace_id)}


def with_location(body: Mapping[str, Any], location: str | None) -> dict:
    """A workbook body ready to PUT (ARM tracked resources need `location`)."""
    out = dict(body)
    if location:
        out = {"location": location, **out}
    return out


# --- ownership metadata ---------------------------------------------------------------------


def metadata_id_for(target: Target, kind: ContentKind, resource_id: str) -> str:
    return resource_ids.metadata_id(target.workspace_id, f"{kind.value}-{resource_ids.name_of(resource_id)}")


_STAMP = re.compile(r"(?:^|(?<= ))(sha256:[0-9a-f]+)(?: live=(sha256:[0-9a-f]+))?(?: (merged))?$")
MERGED = "merged"  # the last write kept edits made in the workspace (packer.plan.merge)


def ownership_stamp(desired_hash: str, stored_hash: str | None = None, merged: bool = False) -> str:
    stamp = desired_hash if not stored_hash else f"{desired_hash} live={stored_hash}"
    return f"{stamp} {MERGED}" if merged else stamp


def owner_mark(owner_id: str, desired_hash: str, stored_hash: str | None = None, merged: bool = False) -> str:
    """The customVersion of an item we own: who owns it, then the hash stamp."""
    return f"{owner_id} {ownership_stamp(desired_hash, stored_hash, merged)}"


def stamp_merged(text: object) -> bool:
    """Whether the last write kept workspace edits (they are still customisations to keep)."""
    match = _STAMP.search(text) if isinstance(text, str) else None
    return bool(match and match.group(3))


def merged_metadata(metadata: Mapping[str, Any]) -> dict:
    """A metadata body whose stamp says the write it goes with kept workspace edits."""
    props = dict(metadata.get("properties") or {})
    text = props.get("customVersion")
    desired, _ = parse_stamp(text)
    owner = mark_owner(text)
    if desired:
        props["customVersion"] = owner_mark(owner, desired, merged=True) if owner else ownership_stamp(
            desired, merged=True)
    return {**metadata, "properties": props}


def parse_stamp(text: object) -> tuple[str | None, str | None]:
    """(desired hash, stored hash) from a customVersion; stored defaults to desired (older stamps)."""
    match = _STAMP.search(text) if isinstance(text, str) else None
    if not match:
        return None, None
    return match.group(1), match.group(2) or match.group(1)


def mark_owner(text: object) -> str | None:
    """The owner id a customVersion starts with (new form), else None."""
    if not isinstance(text, str) or not text.startswith(OWNER_PREFIX):
        return None
    match = _STAMP.search(text)
    return text[:match.start()].rstrip() if match else text


def stamped_metadata(metadata: Mapping[str, Any], stored_hash: str | None) -> dict:
    """A metadata body with the stored hash added to its stamp (at apply time, after the PUT)."""
    props = dict(metadata.get("properties") or {})
    text = props.get("customVersion")
    desired, _ = parse_stamp(text)
    if desired and stored_hash and not _recorded_stored(text):
        owner, merged = mark_owner(text), stamp_merged(text)
        props["customVersion"] = (owner_mark(owner, desired, stored_hash, merged) if owner
                                  else ownership_stamp(desired, stored_hash, merged))
    return {**metadata, "properties": props}


def _recorded_stored(text: object) -> bool:
    """The stamp already says what the service stored (the plan knew it: a watchlist's state)."""
    match = _STAMP.search(text) if isinstance(text, str) else None
    return bool(match and match.group(2))


def owner_source_id(repository: str, path: str, commit: str | None) -> str:
    return f"{OWNER_PREFIX}{repository}:{path}@{commit or 'uncommitted'}"


def owner_source_path(source_id: str, repository: str) -> str:
    """The file path an owner_source_id records (for an id of this repository)."""
    return source_id[len(f"{OWNER_PREFIX}{repository}:"):].rsplit("@", 1)[0]


def metadata_body(item: ContentItem, target: Target, resource_id: str, digest: str, path: str,
                  commit: str | None, solution: Solution | None = None) -> dict:
    return item_metadata_body(item.content_kind.value, content_id_of(item), item.version, resource_id, digest,
                              owner_source_id(target.repository, path, commit), target.repository, solution)


def solution_source(solution: Solution) -> dict:
    """`source` of everything Content Hub installs or creates from this solution."""
    return {"kind": "Solution", "name": solution.name, "sourceId": solution.content_id}


def item_metadata_body(kind: str, content_id: str, version: str, parent_id: str, digest: str, owner_id: str,
                       repository: str, solution: Solution | None) -> dict:
    """Content Hub's linkage + our ownership mark (see the module docstring)."""
    props: dict[str, Any] = {"parentId": parent_id, "kind": kind, "contentId": content_id, "version": version}
    if solution is None:
        props["source"] = {"kind": SOURCE_KIND, "name": repository, "sourceId": owner_id}
        props["customVersion"] = digest
        return {"properties": props}
    props["source"] = solution_source(solution)
    props["customVersion"] = owner_mark(owner_id, digest)
    props["author"] = {k: v for k, v in (("name", solution.author.name), ("email", solution.author.email)) if v}
    support = solution.support
    props["support"] = {k: v for k, v in (("tier", support.tier), ("name", support.name),
                                          ("email", support.email), ("link", support.link)) if v}
    return {"properties": props}


def repository_path(path: Path, root: Path | None) -> str:
    """A file's path as recorded in ownership marks (see _relative)."""
    return _relative(path, root)


def _relative(path: Path, root: Path | None) -> str:
    """The file's path in its repository: relative to `root`, else to the enclosing Git work
    tree, else to the working directory; else its last two parts (never a machine's tmp path)."""
    resolved = path.resolve()
    for base in (root, _git_root(resolved.parent), Path.cwd()):
        if base is None:
            continue
        try:
            return resolved.relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return Path(*resolved.parts[-2:]).as_posix()


_git_root = lru_cache(maxsize=256)(git_root)  # asked once per rendered item, for few folders
