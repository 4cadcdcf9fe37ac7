"""Unknown keys: Microsoft's CI ignores them, so a typo (`entityMapings:`) silently drops a field.

The schemas in packer/schemas close every object whose keys are known (`additionalProperties:
false`), which is what an editor shows. Validation does not make that an error (CI accepts the
file): each unknown key is a warning naming it, with "did you mean" when a known key of the
same object is close (difflib's similarity ratio).
"""
from __future__ import annotations

import difflib
from typing import Any, Iterator

from packer.content.document import CiDocument, field_name
from packer.validate.problems import WARNING, Problem

SIMILAR = 0.75  # difflib ratio: entityMapings/entityMappings 0.96, customDetail/customDetails 0.96


def unknown_key_problems(schema: dict, doc: CiDocument) -> list[Problem]:
    return list(_walk(doc, schema, doc.value, (), schema.get("$defs", {})))


def suggestion(key: str, known: list[str]) -> str | None:
    """The known key closest to `key` (case-insensitively), if close enough to be a typo of it."""
    by_lower = {k.lower(): k for k in known}
    match = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=SIMILAR)
    return by_lower[match[0]] if match else None


def _walk(doc: CiDocument, node: dict, value: Any, path: tuple, defs: dict) -> Iterator[Problem]:
    node = _resolved(node, defs)
    if isinstance(value, dict):
        known = _properties(node, defs)
        lowered = {k.lower(): sub for k, sub in known.items()}
        for key, child in value.items():
            sub = known.get(key, lowered.get(str(key).lower()))
            if sub is None:
                if node.get("additionalProperties") is False:
                    yield _unknown(doc, path, str(key), list(known))
                continue
            if isinstance(sub, dict):
                yield from _walk(doc, sub, child, path + (key,), defs)
    elif isinstance(value, list):
        items = _items(node, defs)
        if items is not None:
            for index, item in enumerate(value):
                yield from _walk(doc, items, item, path + (index,), defs)


def _unknown(doc: CiDocument, path: tuple, key: str, known: list[str]) -> Problem:
    close = suggestion(key, known)
    hint = f"did you mean '{close}'?" if close else f"known keys here: {', '.join(sorted(known, key=str.lower))}"
    return doc.problem(path + (key,), WARNING, "key.unknown",
                       f"unknown key '{key}' in {field_name(path) or 'the file'}: Microsoft's CI ignores it and it "
                       f"is not deployed; {hint}")


def _resolved(node: Any, defs: dict) -> dict:
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref", "")
    return defs.get(ref.rsplit("/", 1)[-1], {}) if ref.startswith("#/$defs/") else node


def _properties(node: dict, defs: dict) -> dict[str, Any]:
    """Known keys of an object schema, including those of its anyOf/oneOf/allOf branches."""
    known = dict(node.get("properties") or {})
    for option in node.get("anyOf", []) + node.get("oneOf", []) + node.get("allOf", []):
        for name, sub in _properties(_resolved(option, defs), defs).items():
            known.setdefault(name, sub)
    return known


def _items(node: dict, defs: dict) -> dict | None:
    if isinstance(node.get("items"), dict):
        return node["items"]
    for option in node.get("anyOf", []) + node.get("oneOf", []):
        items = _items(_resolved(option, defs), defs)
        if items is not None:
            return items
    return None
