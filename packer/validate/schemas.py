"""The JSON Schemas in packer/schemas/, compiled once, and their errors as Problems."""
from __future__ import annotations

import ast
from functools import lru_cache

import fastjsonschema
from jsonschema import Draft202012Validator, ValidationError

from packer.content.load import KINDS, SOLUTION_SCHEMA
from packer.content.document import CiDocument, field_name, keys, schema  # noqa: F401 (keys: named here before)
from packer.validate.problems import ERROR, Problem
from packer.validate.unknown_keys import unknown_key_problems

SCHEMA_FILES = {name: f"{name}.schema.json" for name in (*(spec.schema for spec in KINDS), SOLUTION_SCHEMA)}


@lru_cache(maxsize=None)
def _inlined(name: str) -> dict:
    """The schema with its local $refs inlined (they are not recursive): ~20% faster to validate."""
    return _inline_refs(schema(name), schema(name).get("$defs", {}))


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(_inlined(name))


@lru_cache(maxsize=None)
def fast_check(name: str):
    """A compiled yes/no check (fastjsonschema, ~12x faster); jsonschema explains the files it rejects.

    The schemas use nothing beyond draft-07 once $refs are inlined, so fastjsonschema compiles them
    as draft-07. tests/test_validate_corpus.py checks that both agree on every real file.
    """
    return fastjsonschema.compile({**_inlined(name), "$schema": "http://json-schema.org/draft-07/schema#"},
                                  use_default=False)


def _inline_refs(node, defs: dict):
    """Also drops `additionalProperties: false`: it is there for editors; Microsoft's CI accepts
    unknown keys, so validation reports them as warnings (packer.validate.unknown_keys)."""
    if isinstance(node, dict):
        if node.get("$ref", "").startswith("#/$defs/"):
            return _inline_refs(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline_refs(v, defs) for k, v in node.items()
                if k != "$defs" and not (k == "additionalProperties" and v is False)}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


def schema_problems(name: str, doc: CiDocument) -> list[Problem]:
    return _schema_errors(name, doc) + unknown_key_problems(schema(name), doc)


def _schema_errors(name: str, doc: CiDocument) -> list[Problem]:
    try:
        fast_check(name)(doc.value)
        return []
    except fastjsonschema.JsonSchemaValueException:
        pass  # invalid: let jsonschema find every error, with paths
    problems = []
    for error in _specific(validator(name).iter_errors(doc.value)):
        if error.validator is None:
            continue  # a `false` sub-schema (field forbidden for a kind): the kind check reports it
        path = tuple(error.absolute_path)
        if error.validator == "required":
            missing = _missing_field(error)
            path = path + (missing,)
            where = doc.position(path[:-1])
            problems.append(Problem(doc.path, where.line, where.column, field_name(path), ERROR,
                                    "schema.required", f"required field '{missing}' is missing"))
            continue
        problems.append(doc.problem(path, ERROR, f"schema.{error.validator}", _message(error)))
    return problems


def _specific(errors):
    """For anyOf (a list or a text), report what is wrong inside the branch that fits the value's type."""
    for error in errors:
        inner = [e for e in error.context or () if e.validator != "type"] if error.validator == "anyOf" else []
        if inner:
            yield from _specific(inner)
        else:
            yield error


def _missing_field(error: ValidationError) -> str:
    """jsonschema reports one error per missing field; its name is only in the message ('x' is a ...)."""
    quoted = error.message.split(" is a required property")[0]
    try:
        return str(ast.literal_eval(quoted))
    except (ValueError, SyntaxError):
        return quoted


FORMAT_HINTS = {
    "version": "a semantic version X.Y.Z (e.g. 1.0.0; write `1.0` as 1.0.0)",
    "Version": "a semantic version X.Y.Z (e.g. 1.0.0)",
    "id": "a GUID (8-4-4-4-12 hex digits, e.g. 2f1b8d9e-6c7a-4b3e-9a51-0c2d4e6f8a10)",
    "relevantTechniques": "an ATT&CK technique id (T1234 or T1234.001, capital T)",
    "triggerThreshold": "a whole number from 0 to 10000",
    "columnName": "a column name (letters, digits, _; starting with a letter or _)",
    "customDetails": "a valid custom detail (key: letters then letters/digits/_, at most 20; value: a column name)",
    "alertDisplayNameFormat": "non-blank text",
    "alertDescriptionFormat": "non-blank text",
    "firstPublishDate": "a date YYYY-MM-DD",
    "lastPublishDate": "a date YYYY-MM-DD",
}

_TYPE_WORDS = {"string": "text", "array": "a list", "object": "a mapping (key: value)", "integer": "a whole number",
               "number": "a number", "null": "empty", "boolean": "true or false"}


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(error: ValidationError) -> str:
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "type":
        wanted = expected if isinstance(expected, list) else [expected]
        if value is None:
            return "has no value; " + " or ".join(_TYPE_WORDS.get(w, w) for w in wanted) + " is required"
        return f"must be {' or '.join(_TYPE_WORDS.get(w, w) for w in wanted)}, not {_describe(value)}"
    if kind == "enum":
        return f"{_shown(value)} is not allowed; use one of: {', '.join(map(str, expected))}"
    if kind == "const":
        return f"must be {expected!r}"
    if kind == "pattern":
        hint = FORMAT_HINTS.get(next((p for p in reversed(error.absolute_path) if isinstance(p, str)), ""))
        return f"{_shown(value)} is not {hint}" if hint else f"{_shown(value)} does not match the format {expected}"
    if kind in ("maxLength", "minLength"):
        return f"is {len(value)} characters long; allowed {'at most' if kind == 'maxLength' else 'at least'} {expected}"
    if kind in ("maxItems", "minItems"):
        return f"has {len(value)} entries; allowed {'at most' if kind == 'maxItems' else 'at least'} {expected}"
    if kind == "maxProperties":
        return f"has {len(value)} entries; allowed at most {expected}"
    if kind in ("minimum", "maximum"):
        return f"{value} is out of range ({'at least' if kind == 'minimum' else 'at most'} {expected})"
    if kind == "anyOf":
        return f"must be a list or a single text value, not {_describe(value)}"
    return error.message


def _describe(value) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"the text {_shown(value)}" if isinstance(value, str) else _shown(value)
