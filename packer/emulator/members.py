"""Members Azure keeps: a body pruned to what the api-version's spec defines, as the services do
(unknown members, top level or inside `properties`, are dropped, not stored and not returned).

Driven by swagger files of Azure/azure-rest-api-specs, which the project does not copy: a
folder given with `--specs DIR` (a checkout of that repository's `specification/` layout), or
the folders in SPEC_ROOTS (the test suite puts ../shared/specs there). The resource's GET 200
schema at the api-version, or, where no file of that version is at hand, at the nearest one of
the same channel (stable or preview). Objects whose schema declares no members (customDetails,
mainTemplate) keep everything. With no spec folder at all, bodies are kept as sent.
"""
from __future__ import annotations

import threading
from pathlib import Path

from packer.emulator.routes import Kind
from packer.emulator.swagger import SwaggerSchemas

# Spec folders every emulator of this process prunes by, before its own `--specs` folder.
SPEC_ROOTS: list[Path] = []


class Members:
    def __init__(self, roots: tuple[Path, ...]):
        self._schemas = [SwaggerSchemas(Path(r)) for r in roots]
        self._converted: dict[tuple[str, str], dict | None] = {}
        self._lock = threading.Lock()

    def schema(self, kind: Kind, api_version: str) -> dict | None:
        key = (kind.name, api_version)
        if key not in self._converted:
            with self._lock:
                self._converted[key] = self._find(kind, api_version)
        return self._converted[key]

    def _find(self, kind: Kind, api_version: str) -> dict | None:
        for schemas in reversed(self._schemas):  # a --specs folder first
            versions = sorted({v for _, v in schemas._files()}, reverse=True)
            preview = api_version.endswith("-preview")
            ordered = [api_version] + [v for v in versions if v.endswith("-preview") == preview] + versions
            for version in ordered:
                found = schemas.operation(kind, version, "get")
                if found is None:
                    continue
                path, operation = found
                response = operation.get("responses", {}).get("200", {})
                if "schema" in response:
                    return schemas.convert(response["schema"], path)
        return None

    def prune(self, kind: Kind, api_version: str, body: dict) -> dict:
        schema = self.schema(kind, api_version)
        if schema is None:
            return body
        return _prune(body, schema, schema.get("$defs", {}))


def _resolve(node: dict, defs: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        node = defs.get(node["$ref"].rsplit("/", 1)[-1], {})
    return node if isinstance(node, dict) else {}


def _members(node: dict, value: dict, defs: dict, found: dict, depth: int = 0) -> tuple[bool, dict | None]:
    """Collect declared members into `found`; (any declared, additionalProperties schema)."""
    node = _resolve(node, defs)
    declared, extra = "properties" in node, node.get("additionalProperties")
    found.update({k: v for k, v in node.get("properties", {}).items() if k not in found})
    branches = list(node.get("allOf", [])) + [b for b in node.get("anyOf", []) if b.get("type") != "null"]
    condition = node.get("if", {}).get("properties", {})
    if condition and all(value.get(k) == c.get("const") for k, c in condition.items()):
        branches.append(node.get("then", {}))
    for branch in branches if depth < 20 else ():
        more, more_extra = _members(branch, value, defs, found, depth + 1)
        declared, extra = declared or more, extra or more_extra
    return declared, extra


def _prune(value, node, defs: dict):
    node = _resolve(node, defs)
    if isinstance(value, list):
        items = node.get("items") or next((b.get("items") for b in node.get("anyOf", []) if "items" in b), None)
        return [_prune(v, items, defs) for v in value] if items else value
    if not isinstance(value, dict):
        return value
    found: dict = {}
    declared, extra = _members(node, value, defs, found)
    if not declared:
        return value
    out = {}
    for name, member in value.items():
        if name in found:
            out[name] = _prune(member, found[name], defs)
        elif isinstance(extra, dict):
            out[name] = _prune(member, extra, defs)
    return out


_shared: dict[tuple[Path, ...], Members] = {}
_shared_lock = threading.Lock()


def members_for(specs_dir: Path | None = None) -> Members:
    """One Members per set of spec folders for the process (conversions are cached in it)."""
    roots = tuple(Path(r).resolve() for r in SPEC_ROOTS) + ((Path(specs_dir).resolve(),) if specs_dir else ())
    with _shared_lock:
        if roots not in _shared:
            _shared[roots] = Members(roots)
        return _shared[roots]
