"""A parsed file seen the way Microsoft's CI sees it.

CI (YamlDotNet + Json.NET) reads every scalar as text and binds keys and enum names
case-insensitively. `CiDocument` rebuilds the YAML value that way: scalars become their literal
text (`1.0` stays "1.0", `01:00:00` is not turned into 3600), nulls stay None, keys spelled in
another case than the schema's (`datatypes`) are renamed to the schema spelling, and so are the
enum names of rules and hunting queries (`entityType: host` is Host): each reported as a
warning. Positions stay reachable through the original spelling.

Validation judges this view and the model builders (packer.content.load) build from it, so a
file is read one way. The key spellings come from the kind's JSON schema (packer/schemas/).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable, TypeVar

from packer.content.reference import entity_types
from packer.content.yamlsource import FieldPath, Position, YamlDocument
from packer.problems import ERROR, WARNING, Problem
from packer.vocabulary import AGGREGATION_KINDS, SEVERITIES, canonical_tactic

T = TypeVar("T")


@dataclass
class CiDocument:
    source: YamlDocument
    value: Any = None
    problems: list[Problem] = field(default_factory=list)
    # (original parent path, canonical key) -> key as written
    _written: dict[tuple[FieldPath, str], str] = field(default_factory=dict)
    _linked: dict[Path, Any] = field(default_factory=dict)

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

    def linked(self, path: Path, read: Callable[[Path, Path | None], T]) -> T:
        """The file at `path` this one links to (a watchlist's CSV, a workbook's JSON), read by
        `read` from the content root once per view: validation checks what the model is built from."""
        if path not in self._linked:
            self._linked[path] = read(path, self.source.root)
        return self._linked[path]

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
    """`doc` as CI sees it as the kind `schema_name`: keys spelled as the schema spells them, enum
    names as CI binds them (canonicalise_enums); a CiDocument is kept. Validation and the model
    builders both make a file's view here, so a file reads the same on every path."""
    if isinstance(doc, CiDocument):
        return doc
    view = ci_document(doc, keys(schema_name))
    if schema_name in _ENUM_SCHEMAS:
        canonicalise_enums(view, list_from_text=_ENUM_SCHEMAS[schema_name])
    return view


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


def _by_lower(names) -> dict[str, str]:
    return {n.lower(): n for n in names}


# The kinds whose enum names are fixed, and whether their tactics/techniques may be text.
_ENUM_SCHEMAS = {"analytic-rule": False, "hunting-query": True}


def canonicalise_enums(doc: CiDocument, list_from_text: bool) -> None:
    """Json.NET binds enum names case-insensitively: fix the spelling, warn, let the schema judge the rest.

    With `list_from_text` (hunting queries) a text value for tactics/relevantTechniques is split
    on commas into a list, with a warning, as the packager reads it.
    """
    d = doc.value
    if list_from_text:
        _lists_from_text(doc)
    _fix_enum(doc, ("severity",), _by_lower(SEVERITIES))
    if isinstance(d.get("tactics"), list):
        for i, tactic in enumerate(d["tactics"]):
            # the packager joins hunting tactics with spaces removed: "Initial access" -> InitialAccess
            spelled = tactic.replace(" ", "") if list_from_text and isinstance(tactic, str) else tactic
            if isinstance(tactic, str) and canonical_tactic(spelled) and canonical_tactic(spelled) != tactic:
                d["tactics"][i] = canonical_tactic(spelled)
                doc.problems.append(_case_warning(doc, ("tactics", i), tactic, d["tactics"][i]))
    if isinstance(d.get("eventGroupingSettings"), dict):
        _fix_enum(doc, ("eventGroupingSettings", "aggregationKind"), _by_lower(AGGREGATION_KINDS))
    mappings = d.get("entityMappings")
    for i, mapping in enumerate(mappings if isinstance(mappings, list) else []):
        if isinstance(mapping, dict):
            _fix_enum(doc, ("entityMappings", i, "entityType"), _by_lower(entity_types()))


def _lists_from_text(doc: CiDocument) -> None:
    """Hunting queries (never structure-checked by CI) may write `tactics: A, B` or leave empty entries."""
    d = doc.value
    for name in ("tactics", "relevantTechniques"):
        if isinstance(d.get(name), str):
            d[name] = [part.strip() for part in d[name].split(",") if part.strip()]
            doc.problems.append(doc.problem((name,), WARNING, "list-as-text",
                                            "is written as text; write a YAML list (- value), one entry per line"))
        elif isinstance(d.get(name), list) and any(v is None or v == "" for v in d[name]):
            d[name] = [v for v in d[name] if v is not None and v != ""]
            doc.problems.append(doc.problem((name,), WARNING, "list-empty-entry",
                                            "has an empty entry; remove it"))


def _fix_enum(doc: CiDocument, path: tuple, names: dict[str, str]) -> None:
    parent = doc.value
    for part in path[:-1]:
        parent = parent[part]
    value = parent.get(path[-1])
    if isinstance(value, str) and value.strip().lower() in names and names[value.strip().lower()] != value:
        parent[path[-1]] = names[value.strip().lower()]
        doc.problems.append(_case_warning(doc, path, value, parent[path[-1]]))


def _case_warning(doc: CiDocument, path: tuple, written: str, canonical: str) -> Problem:
    return doc.problem(path, WARNING, "enum-case",
                       f"'{written}' is read as '{canonical}' (CI matches names case-insensitively); write '{canonical}'",
                       at_value=True)
