"""Three-way merge of an active item per field, for upgrades of customised items.

base = the item as made from the template version it was created from, ours = as made from the
new template, theirs = the live item. Per field (objects flatten to paths; lists and scalars are
leaves), on normalised bodies (packer.remote.normalise: server fields and defaults do not count):
- ours == theirs: that value;
- changed only upstream (base == theirs): ours;
- changed only in the workspace (base == ours): theirs, so no local customisation is lost;
- changed on both sides differently: a Conflict, decided by `on_conflict`
  (fail: reported, nothing merged; ours: the new template's value; theirs: the live value).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from packer.errors import ConfigError
from packer.remote.normalise import normalise

ON_CONFLICT = ("fail", "ours", "theirs")
_ABSENT = object()


def check_on_conflict(value: str) -> None:
    if value not in ON_CONFLICT:
        raise ConfigError(f"--on-conflict must be one of {', '.join(ON_CONFLICT)}, not {value!r}")


@dataclass(frozen=True)
class Conflict:
    path: str  # "properties.severity"
    base: Any
    ours: Any
    theirs: Any

    def describe(self) -> str:
        return (f"{self.path}: template was {_show(self.base)}, new template {_show(self.ours)}, "
                f"workspace {_show(self.theirs)}")


@dataclass(frozen=True)
class MergeResult:
    body: dict  # ours, with the workspace's values where they win (under fail: ours for conflicts)
    kept: tuple[str, ...]  # paths whose workspace value was kept
    taken: tuple[str, ...]  # paths whose new template value was taken over a local one (conflicts, ours)
    conflicts: tuple[Conflict, ...]


def three_way(base: Mapping[str, Any], ours: Mapping[str, Any], theirs: Mapping[str, Any],
              on_conflict: str = "fail") -> MergeResult:
    check_on_conflict(on_conflict)
    flat_base, flat_ours, flat_theirs = (_flatten(normalise(dict(b))) for b in (base, ours, theirs))
    theirs_wins: dict[tuple[str, ...], Any] = {}
    kept, taken, conflicts = [], [], []
    for path in sorted(set(flat_base) | set(flat_ours) | set(flat_theirs)):
        b, o, t = (f.get(path, _ABSENT) for f in (flat_base, flat_ours, flat_theirs))
        if o == t or b == t:
            continue
        if b == o:
            theirs_wins[path] = t
            kept.append(_dotted(path))
            continue
        conflicts.append(Conflict(_dotted(path), _value(b), _value(o), _value(t)))
        if on_conflict == "theirs":
            theirs_wins[path] = t
            kept.append(_dotted(path))
        else:
            taken.append(_dotted(path))
    return MergeResult(_overlaid(ours, theirs_wins), tuple(kept), tuple(taken), tuple(conflicts))


def _flatten(value: Any, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    if isinstance(value, dict) and value:
        out: dict[tuple[str, ...], Any] = {}
        for key, member in value.items():
            out.update(_flatten(member, (*prefix, key)))
        return out
    return {prefix: value} if prefix else {}


def _overlaid(ours: Mapping[str, Any], values: Mapping[tuple[str, ...], Any]) -> dict:
    """`ours` as sent (defaults the API requires kept), with `values` set (or removed: absent)."""
    out = json.loads(json.dumps(dict(ours)))
    for path, value in values.items():
        node = out
        for key in path[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        if value is _ABSENT:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    return out


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


def _value(value: Any) -> Any:
    return None if value is _ABSENT else value


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    text = text if len(text) <= 60 else text[:57] + "..."
    return "(absent)" if value is None else repr(text) if isinstance(value, str) else text
