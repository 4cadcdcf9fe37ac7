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

from dataclasses import dataclass
from typing import Any, Mapping

from packer.remote.normalise import normalise

ON_CONFLICT = ("fail", "ours", "theirs")
_ABSENT = object()


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
    body: dict  # the merged body (normalised form); valid even with conflicts under fail
    kept: tuple[str, ...]  # paths whose workspace value was kept
    taken: tuple[str, ...]  # paths whose new template value was taken over a local one (conflicts, ours)
    conflicts: tuple[Conflict, ...]


def three_way(base: Mapping[str, Any], ours: Mapping[str, Any], theirs: Mapping[str, Any],
              on_conflict: str = "fail") -> MergeResult:
    if on_conflict not in ON_CONFLICT:
        raise ValueError(f"on_conflict must be one of {', '.join(ON_CONFLICT)}")
    flat_base, flat_ours, flat_theirs = (_flatten(normalise(dict(b))) for b in (base, ours, theirs))
    merged: dict[tuple[str, ...], Any] = {}
    kept, taken, conflicts = [], [], []
    for path in sorted(set(flat_base) | set(flat_ours) | set(flat_theirs)):
        b, o, t = (f.get(path, _ABSENT) for f in (flat_base, flat_ours, flat_theirs))
        if o == t or b == t:
            value = o
        elif b == o:
            value = t
            kept.append(_dotted(path))
        else:
            conflicts.append(Conflict(_dotted(path), _value(b), _value(o), _value(t)))
            value = t if on_conflict == "theirs" else o
            (kept if on_conflict == "theirs" else taken).append(_dotted(path))
        if value is not _ABSENT:
            merged[path] = value
    return MergeResult(_unflatten(merged), tuple(kept), tuple(taken), tuple(conflicts))


def _flatten(value: Any, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    if isinstance(value, dict) and value:
        out: dict[tuple[str, ...], Any] = {}
        for key, member in value.items():
            out.update(_flatten(member, (*prefix, key)))
        return out
    return {prefix: value} if prefix else {}


def _unflatten(flat: Mapping[tuple[str, ...], Any]) -> dict:
    out: dict = {}
    for path, value in flat.items():
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {})
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
