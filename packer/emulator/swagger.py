"""JSON Schemas for request and response bodies, taken from swagger (OpenAPI 2) files in a specs directory.

`--specs DIR` points at a copy of Azure/azure-rest-api-specs files (any layout below DIR). For a
kind and api-version the operation is found by its path template (".../alertRules/{ruleId}") in
a file whose info.version is that api-version. Swagger schemas become JSON Schema: `$ref`s
across files are resolved, `x-nullable` allows null, enums the spec marks `modelAsString` stay
open (clients and services treat them as extensible), and a `discriminator` base expands to the
subtype named by its `x-ms-discriminator-value`.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from jsonschema import Draft202012Validator

from packer.emulator.routes import Kind

_SEGMENT = {"workbooks": "Microsoft.Insights/workbooks"}


class SwaggerSchemas:
    def __init__(self, root: Path):
        self.root = Path(root)
        self._documents: dict[Path, dict] = {}
        self._index: list[tuple[Path, str]] | None = None
        self._validators: dict[tuple[str, str], Draft202012Validator] = {}

    # --- loading -------------------------------------------------------------------------------
    def _load(self, path: Path) -> dict:
        path = path.resolve()
        if path not in self._documents:
            try:
                self._documents[path] = json.loads(path.read_text(encoding="utf-8-sig"))
            except (OSError, ValueError):
                self._documents[path] = {}
        return self._documents[path]

    def _files(self) -> list[tuple[Path, str]]:
        if self._index is None:
            self._index = []
            for path in sorted(self.root.rglob("*.json")):
                if "examples" in path.parts:
                    continue
                doc = self._load(path)
                if isinstance(doc, dict) and doc.get("swagger") == "2.0" and doc.get("paths"):
                    self._index.append((path.resolve(), str(doc.get("info", {}).get("version", ""))))
        return self._index

    def operation(self, kind: Kind, api_version: str, method: str) -> tuple[Path, dict] | None:
        segment = _SEGMENT.get(kind.name, kind.name).lower()
        pattern = re.compile(rf"/{re.escape(segment)}/\{{[^}}/]+\}}$", re.I)
        for path, version in self._files():
            if version != api_version:
                continue
            for template, operations in self._load(path)["paths"].items():
                if pattern.search(template) and method.lower() in operations:
                    return path, operations[method.lower()]
        return None

    # --- validators ----------------------------------------------------------------------------
    def validator(self, kind: Kind, api_version: str) -> Draft202012Validator | None:
        """For the PUT body of `kind` at `api_version`, or None when the specs lack it."""
        found = self.operation(kind, api_version, "put")
        if found is None:
            return None
        path, operation = found
        for parameter in operation.get("parameters", []):
            parameter, where = self._deref(parameter, path)
            if parameter.get("in") == "body":
                return self._compiled(parameter["schema"], where)
        return None

    def definition_validator(self, relative_path: str, name: str) -> Draft202012Validator | None:
        """For definition `name` of the swagger file at `relative_path` below the root (for bodies
        no operation names, such as common-types' OperationStatusResult); None when absent."""
        path = (self.root / relative_path).resolve()
        if name not in self._load(path).get("definitions", {}):
            return None
        return self._compiled({"$ref": f"#/definitions/{name}"}, path)

    def response_validator(self, kind: Kind, api_version: str, method: str, status: int) -> Draft202012Validator | None:
        found = self.operation(kind, api_version, method)
        if found is None:
            return None
        path, operation = found
        response = operation.get("responses", {}).get(str(status))
        if not response or "schema" not in response:
            return None
        return self._compiled(response["schema"], path, self.example_nulls(path, operation, status))

    def example_nulls(self, path: Path, operation: dict, status: int) -> frozenset[str]:
        """Property names that the operation's own x-ms-examples return as null for `status`.

        The service returns members such as `alertRuleTemplateName: null` for a rule that was not
        made from a template (CreateScheduledAlertRule.json, GetScheduledAlertRule.json), while the
        schema types them as plain strings without x-nullable. Where the examples and the schema
        disagree, the examples are recorded responses of the real service, so they win.
        """
        names: set[str] = set()
        for example in operation.get("x-ms-examples", {}).values():
            document = self._load((path.parent / example.get("$ref", "")).resolve()) if "$ref" in example else {}
            body = document.get("responses", {}).get(str(status), {}).get("body")
            _collect_null_members(body, names)
        return frozenset(names)

    def _compiled(self, schema: dict, where: Path, nullable: frozenset[str] = frozenset()) -> Draft202012Validator:
        key = (str(where), json.dumps(schema, sort_keys=True), tuple(sorted(nullable)))
        if key not in self._validators:
            self._validators[key] = Draft202012Validator(self.convert(schema, where, nullable))
        return self._validators[key]

    def _deref(self, node: dict, where: Path) -> tuple[dict, Path]:
        while isinstance(node, dict) and "$ref" in node:
            file_part, _, pointer = node["$ref"].partition("#")
            target = (where.parent / file_part).resolve() if file_part else where
            node = _pointer(self._load(target), pointer)
            where = target
        return node, where

    # --- conversion --------------------------------------------------------------------------
    def convert(self, schema: dict, where: Path, nullable: frozenset[str] = frozenset()) -> dict:
        converter = _Converter(self, nullable)
        root = converter.node(schema, where)
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": converter.defs, **root}


def _collect_null_members(node, names: set[str]) -> None:
    if isinstance(node, dict):
        for name, value in node.items():
            if value is None:
                names.add(name)
            else:
                _collect_null_members(value, names)
    elif isinstance(node, list):
        for value in node:
            _collect_null_members(value, names)


def _pointer(document: dict, pointer: str) -> dict:
    """The node at a JSON pointer; {} (anything goes) when a referenced file or node is missing."""
    node = document
    for part in [p for p in pointer.split("/") if p]:
        if not isinstance(node, dict):
            return {}
        node = node.get(part.replace("~1", "/").replace("~0", "~"), {})
    return node


class _Converter:
    def __init__(self, schemas: SwaggerSchemas, nullable: frozenset[str] = frozenset()):
        self.schemas = schemas
        self.nullable = nullable  # member names that may be null whatever their schema says
        self.defs: dict[str, dict] = {}

    def _ref(self, ref: str, where: Path, polymorphic: bool = True) -> dict:
        file_part, _, pointer = ref.partition("#")
        target = (where.parent / file_part).resolve() if file_part else where
        key = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{target.stem}{pointer}") + ("" if polymorphic else "__base")
        if key not in self.defs:
            self.defs[key] = {}  # placeholder: breaks recursion
            definition = _pointer(self.schemas._load(target), pointer)
            converted = self.node(definition, target)
            if polymorphic and "discriminator" in definition:
                converted = self._polymorphic(definition, target, pointer, key)
            self.defs[key] = converted
        return {"$ref": f"#/$defs/{key}"}

    def _polymorphic(self, definition: dict, where: Path, pointer: str, key: str) -> dict:
        """The base plus, per subtype in the same file, `if kind == value then subtype`."""
        field = definition["discriminator"]
        base_name = pointer.rsplit("/", 1)[-1]
        branches = [self._ref(f"#{pointer}", where, polymorphic=False)]
        for name, candidate in self.schemas._load(where).get("definitions", {}).items():
            parents = [p.get("$ref", "") for p in candidate.get("allOf", [])]
            if any(p.endswith(f"/{base_name}") for p in parents) and "x-ms-discriminator-value" in candidate:
                branches.append({"if": {"properties": {field: {"const": candidate["x-ms-discriminator-value"]}}},
                                 "then": self._ref(f"#/definitions/{name}", where)})
        return {"allOf": branches}

    def _member(self, name: str, schema: dict, where: Path) -> dict:
        converted = self.node(schema, where)
        return {"anyOf": [{"type": "null"}, converted]} if name in self.nullable else converted

    def node(self, schema: dict, where: Path) -> dict:
        if not isinstance(schema, dict):
            return {}
        if "$ref" in schema:
            return self._ref(schema["$ref"], where)
        out: dict = {}
        swagger_type = schema.get("type")
        if swagger_type:
            out["type"] = [swagger_type, "null"] if schema.get("x-nullable") else swagger_type
        if "enum" in schema and not schema.get("x-ms-enum", {}).get("modelAsString", False):
            out["enum"] = list(schema["enum"]) + ([None] if schema.get("x-nullable") else [])
        for keyword in ("required", "minimum", "maximum", "minLength", "maxLength", "pattern", "minItems",
                        "maxItems"):
            if keyword in schema:
                out[keyword] = schema[keyword]
        if "properties" in schema:
            out["properties"] = {name: self._member(name, sub, where) for name, sub in schema["properties"].items()}
        if isinstance(schema.get("additionalProperties"), dict):
            out["additionalProperties"] = self.node(schema["additionalProperties"], where)
        if "items" in schema:
            out["items"] = self.node(schema["items"], where)
        if "allOf" in schema:
            out["allOf"] = [self._ref(p["$ref"], where, polymorphic=False) if "$ref" in p else self.node(p, where)
                            for p in schema["allOf"]]
        return out
