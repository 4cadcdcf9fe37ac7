"""A parsed file seen the way Microsoft's CI sees it.

CI (YamlDotNet + Json.NET) reads every scalar as text and binds keys case-insensitively.
`CiDocument` rebuilds the YAML value that way: scalars become their literal text (`1.0` stays
"1.0", `01:00:00` is not turned into 3600), nulls stay None, and keys spelled in another case
than the schema's (`datatypes`) are renamed to the schema spelling and reported as warnings.
Positions stay reachable through the original spelling.

Validation judges this view and the model builders (packer.content.load) build from it, so a
file is read one way. The key spellings come from the kind's JSON schema (packer/schemas/).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from packer.content.yamlsource import FieldPath, Position, YamlDocument
from packer.problems import ERROR, WARNING, Problem


@dataclass
class CiDocument:
    source: YamlDocument
    value: Any = None
    problems: list[Problem] = field(default_factory=list)
    # (original parent path, canonical key) -> key as written
    _written: dict[tuple[FieldPath, str], str] = field(default_factory=dict)

    @property
    def path(self):
        return self.source.path

    def original(self, path: FieldPath) -> FieldPath:
        result: FieldPath = ()
        for part in path:
            result += (self._written.get((result, part), part) if isinstance(part, str) else part,)
        return result

    def position(self, path: FieldPath) -> Position:
        return self.source.position(self.original(path))

    def value_position(self, path: FieldPath) -> Position:
        """Where the value (not the key) of `path` starts; for errors inside block scalars."""
        original = self.original(path)
        return self.source.positions.get(original + ("<value>",)) or self.source.position(original)

    def raw(self, path: FieldPath) -> str | None:
        return self.source.raw(self.original(path))

    def problem(self, path: FieldPath, severity, code: str, message: str, at_value: bool = False) -> Problem:
        where = self.value_position(path) if at_value else self.position(path)
        return Problem(self.path, where.line, where.column, field_name(path), severity, code, message)


def field_name(path: FieldPath) -> str:
    """('entityMappings', 0, 'fieldMappings', 1) -> 'entityMappings[0].fieldMappings[1]'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# lower-case key -> (schema spelling, KeyTree of its value); lists share their items' tree
KeyTree = dict[str, tuple[str, "KeyTree"]]


def key_tree(schema: dict, root: dict | None = None) -> KeyTree:
    """The known keys at each level of a JSON Schema (free-form maps such as customDetails have none)."""
    root = root or schema
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    tree: KeyTree = {}
    for option in schema.get("anyOf", []) + schema.get("allOf", []):
        tree.update(key_tree(option, root))
    if "items" in schema:
        tree.update(key_tree(schema["items"], root))
    for name, sub in schema.get("properties", {}).items():
        tree[name.lower()] = (name, key_tree(sub, root) if isinstance(sub, dict) else {})
    return tree


@lru_cache(maxsize=None)
def schema(name: str) -> dict:
    """packer/schemas/<name>.schema.json (a content kind's `schema`, or "solution")."""
    text = resources.files("packer").joinpath("schemas", f"{name}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=None)
def keys(name: str) -> KeyTree:
    """The key spellings of the schema `name`, by level."""
    return key_tree(schema(name))


def ci_view(doc: "YamlDocument | CiDocument", schema_name: str) -> CiDocument:
    """`doc` as CI sees it, keys spelled as the schema `schema_name` spells them; a CiDocument is kept."""
    return doc if isinstance(doc, CiDocument) else ci_document(doc, keys(schema_name))


def ci_document(source: YamlDocument, keys: KeyTree) -> CiDocument:
    """Build the CI view of `source`, renaming case-variant keys known to `keys`."""
    doc = CiDocument(source)
    doc.value = _ci_value(doc, source.value, (), (), keys)
    return doc


def _ci_value(doc: CiDocument, value: Any, written: FieldPath, canonical: FieldPath, keys: KeyTree) -> Any:
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, child in value.items():
            name, subtree = keys.get(key.lower(), (key, {}))
            if name != key:
                if name in value or name in result:
                    where = doc.source.position(written + (key,))
                    doc.problems.append(
                        Problem(doc.path, where.line, where.column, field_name(canonical + (key,)), ERROR,
                                "key-case-duplicate", f"'{key}' and '{name}' are one key for CI (it matches keys "
                                "case-insensitively), and readers disagree on which value wins: keep one")
                    )
                    name = key  # keep them apart, the schema judges each
                else:
                    doc._written[(written, name)] = key
                    where = doc.source.position(written + (key,))
                    doc.problems.append(
                        Problem(doc.path, where.line, where.column, field_name(canonical + (name,)), WARNING,
                                "key-case", f"key '{key}' is read as '{name}' (CI matches keys case-insensitively); write '{name}'")
                    )
            result[name] = _ci_value(doc, child, written + (key,), canonical + (name,), subtree)
        return result
    if isinstance(value, list):
        return [_ci_value(doc, item, written + (i,), canonical + (i,), keys) for i, item in enumerate(value)]
    if value is None or isinstance(value, str):
        return value
    raw = doc.source.raw(written)
    return raw if raw is not None else str(value)
