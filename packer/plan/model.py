"""The plan: a value computed once, saved as JSON, reviewed, and applied exactly.

A Plan holds, per content item, what will happen and why (action, reason, field-level
changes) and the exact writes that make it happen (method, resource id, body, the etag read).
It records a fingerprint of the workspace state it was computed against (the etags of every
resource it read or will write), so `apply` can refuse a plan the workspace has moved past.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Mapping

from packer.errors import ConfigError
from packer.resource_ids import ResourceRole, role_of
from packer.targets.model import Target

PLAN_FORMAT = "sentinel-packer/plan@1"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    DRIFTED = "drifted"  # edited outside this tool since our last apply
    PRUNE = "prune"  # ours, no longer in the content
    FOREIGN = "foreign"  # same id or name, not ours: never touched
    BLOCKED = "blocked"  # would be rejected (tables missing in this workspace)
    UPGRADE = "upgrade"  # a new version: package, template, or the active item made from it
    UNINSTALL = "uninstall"  # a template (or the package) no longer in the content: removed from the package
    CONFLICT = "conflict"  # an upgrade whose merge with local edits conflicts (--on-conflict fail)
    ADOPT = "adopt"  # not ours, equal to the content: takes ownership by writing its metadata only


CHANGING = frozenset({Action.CREATE, Action.UPDATE, Action.DRIFTED, Action.PRUNE, Action.UPGRADE, Action.UNINSTALL,
                      Action.CONFLICT, Action.ADOPT})


@dataclass(frozen=True)
class Adoption:
    """Which existing items equal to the content, not ours, a plan takes over (compute_plan's
    `adopt` and `adopt_from`; the --adopt and --adopt-from flags of plan, apply and rollout)."""

    adopt: bool = False
    adopt_from: tuple[str, ...] = ()

    def key(self) -> tuple[bool, frozenset[str]]:
        """What the planner acts on: --adopt-from implies --adopt; repository names ignore case."""
        return self.adopt or bool(self.adopt_from), frozenset(r.casefold() for r in self.adopt_from)

    def flags(self) -> str:
        """As typed on the command line, for messages ("no --adopt" when none)."""
        words = (["--adopt"] if self.adopt else []) + [f"--adopt-from {r}" for r in self.adopt_from]
        return " ".join(words) or "no --adopt"

    def to_dict(self) -> dict:
        return {"adopt": self.adopt, "adopt_from": list(self.adopt_from)}

    @classmethod
    def from_dict(cls, data: object) -> "Adoption":
        """From to_dict()'s shape; None (nothing recorded) is no adoption. ConfigError otherwise."""
        if data is None:
            return cls()
        adopt = data.get("adopt", False) if isinstance(data, dict) else None
        repositories = data.get("adopt_from", []) if isinstance(data, dict) else None
        if not isinstance(adopt, bool) or not isinstance(repositories, list) \
                or not all(isinstance(r, str) for r in repositories):
            raise ConfigError("field `adoption` must be {adopt: true|false, adopt_from: [owner/name, ...]}")
        return cls(adopt, tuple(repositories))


@dataclass(frozen=True)
class MergeConflict:
    """A field changed both upstream and in the workspace: the three values (None: absent)."""

    path: str
    base: Any = None  # the template version the item was created from
    ours: Any = None  # the new template
    theirs: Any = None  # the live item


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: `path` like "properties.query"; values are JSON (None: absent)."""

    path: str
    before: Any = None
    after: Any = None
    text_diff: str | None = None  # unified diff, for multi-line text (KQL, workbook JSON)


@dataclass(frozen=True)
class Write:
    """One API call apply will make. PUT bodies are final (no etag: `etag` is sent with them)."""

    method: str  # PUT | DELETE
    resource_id: str
    body: Mapping[str, Any] | None = None
    etag: str | None = None  # what the plan read; None: the resource did not exist
    role: ResourceRole = ResourceRole.RESOURCE  # the item's own resource, or its ownership metadata
    create: bool = False  # the plan read no resource: sent with If-None-Match: *, never overwrites


@dataclass(frozen=True)
class PlanItem:
    key: str  # "<ContentKind>/<contentId>"
    kind: str  # ContentKind value
    name: str
    action: Action
    resource_type: str
    resource_id: str
    source_path: str = ""
    reason: str = ""
    changes: tuple[FieldChange, ...] = ()
    writes: tuple[Write, ...] = ()
    calls: tuple[str, ...] = ()  # parser aliases the query calls
    content_hash: str | None = None  # of the desired body
    live_hash: str | None = None
    replaces: str | None = None  # a create that needs this (pruned) resource of ours gone first
    conflicts: tuple[MergeConflict, ...] = ()

    @property
    def is_change(self) -> bool:
        return self.action in CHANGING


@dataclass(frozen=True)
class Plan:
    target: Target
    commit: str | None
    created_at: str
    fingerprint: str  # of the watched resources' etags at plan time
    watched: tuple[str, ...]  # resource ids the fingerprint covers
    items: tuple[PlanItem, ...]
    notes: tuple[str, ...] = ()
    format: str = PLAN_FORMAT

    @property
    def counts(self) -> Counter:
        return Counter(item.action for item in self.items)

    @property
    def has_changes(self) -> bool:
        return any(item.is_change for item in self.items)

    def summary(self) -> str:
        counts = self.counts
        parts = [f"{counts.get(a, 0)} to {a.value}" for a in (Action.CREATE, Action.UPDATE, Action.PRUNE)]
        parts += [f"{counts[a]} to {a.value}" for a in (Action.UPGRADE, Action.UNINSTALL, Action.ADOPT)
                  if counts.get(a)]
        extra = [f"{counts[a]} {a.value}" for a in (Action.DRIFTED, Action.CONFLICT, Action.FOREIGN, Action.BLOCKED)
                 if counts.get(a)]
        return f"Plan: {', '.join(parts)}; {counts.get(Action.UNCHANGED, 0)} unchanged" + (
            f"; {', '.join(extra)}" if extra else "")

    # --- JSON ---------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        data = asdict(self)
        data["counts"] = {a.value: self.counts.get(a, 0) for a in Action}
        data["has_changes"] = self.has_changes
        return _jsonable(data)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Plan":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"the plan file is not JSON: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict) -> "Plan":
        if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
            raise ConfigError(f"not a sentinel-packer plan (expected format {PLAN_FORMAT!r}); re-run `plan --out`")
        try:
            target = data["target"]
            return cls(
                target=Target(**{**target, "tags": tuple(target.get("tags") or ())}),
                commit=data.get("commit"),
                created_at=data["created_at"],
                fingerprint=data["fingerprint"],
                watched=tuple(data.get("watched") or ()),
                items=tuple(_item(i) for i in data["items"]),
                notes=tuple(data.get("notes") or ()),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"the plan file is damaged ({exc}); re-run `plan --out`") from None


def _item(data: dict) -> PlanItem:
    return PlanItem(
        key=data["key"], kind=data["kind"], name=data["name"], action=Action(data["action"]),
        resource_type=data["resource_type"], resource_id=data["resource_id"],
        source_path=data.get("source_path", ""), reason=data.get("reason", ""),
        changes=tuple(FieldChange(**c) for c in data.get("changes") or ()),
        writes=tuple(_write(w) for w in data.get("writes") or ()),
        calls=tuple(data.get("calls") or ()), content_hash=data.get("content_hash"),
        live_hash=data.get("live_hash"), replaces=data.get("replaces"),
        conflicts=tuple(MergeConflict(**c) for c in data.get("conflicts") or ()),
    )


def _write(data: dict) -> Write:
    # Plans saved before writes carried their role: the id says which one is the metadata.
    role = ResourceRole(data["role"]) if "role" in data else role_of(data["resource_id"])
    return Write(**{**data, "role": role})


def _jsonable(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
