"""Field-level differences between two normalised API bodies; text fields as unified diffs."""
from __future__ import annotations

import difflib
import json
from typing import Any

from packer.plan.model import FieldChange
from packer.remote.normalise import normalise

MAX_DIFF_LINES = 200


def field_changes(live: dict | None, desired: dict) -> tuple[FieldChange, ...]:
    """Changes turning `live` into `desired` (both raw API bodies; normalised here)."""
    before = _flatten(normalise(live or {}))
    after = _flatten(normalise(desired))
    changes = []
    for path in sorted(set(before) | set(after), key=_path_order):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        changes.append(FieldChange(path, old, new, _text_diff(path, old, new)))
    return tuple(changes)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Objects flatten to dotted paths; lists and scalars are leaves."""
    if isinstance(value, dict) and not value and not prefix:
        return {}
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, member in value.items():
            out.update(_flatten(member, f"{prefix}.{key}" if prefix else key))
        return out
    return {prefix: value}


def _path_order(path: str) -> tuple[int, str]:
    return (0 if path in ("kind", "properties.displayName") else 1, path)


def _text_diff(path: str, old: Any, new: Any) -> str | None:
    old_text, new_text = _as_text(path, old), _as_text(path, new)
    if old_text is None or new_text is None or ("\n" not in old_text and "\n" not in new_text):
        return None
    lines = list(difflib.unified_diff(old_text.splitlines(), new_text.splitlines(), "live", "desired", lineterm="", n=2))
    if len(lines) > MAX_DIFF_LINES:
        lines = lines[:MAX_DIFF_LINES] + [f"... {len(lines) - MAX_DIFF_LINES} more diff lines"]
    return "\n".join(lines)


def _as_text(path: str, value: Any) -> str | None:
    if value is None:
        return ""
    if not isinstance(value, str):
        return None
    if path.endswith("serializedData"):
        try:
            return json.dumps(json.loads(value), indent=2, ensure_ascii=False)
        except ValueError:
            return value
    return value
