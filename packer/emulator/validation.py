"""Request bodies checked against JSON Schemas derived from Microsoft's REST specs.

Always on: the compact schemas in packer/emulator/specs/ (sources in docs/emulator.md). With a
specs directory (`--specs DIR`), swagger files found there are used too (see swagger.py).
specs/apiVersions.json names the api-versions whose spec defines a kind (alert rules: NRT only
in previews); a body of that kind at any other version is refused, naming `kind`.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from packer.emulator import apiversions, armerrors
from packer.emulator.routes import Kind

SPECS = Path(__file__).parent / "specs"
SCHEMA_FILES = {
    "alertRules": "alertRules.schema.json",
    "metadata": "metadata.schema.json",
    "contentPackages": "contentPackages.schema.json",
    "contentTemplates": "contentTemplates.schema.json",
    "savedSearches": "savedSearches.schema.json",
    "workbooks": "workbooks.schema.json",
    "automationRules": "automationRules.schema.json",
    "watchlists": "watchlists.schema.json",
    "watchlistItems": "watchlistItems.schema.json",
}


@lru_cache(maxsize=None)
def _packaged_schema(kind_name: str) -> dict | None:
    name = SCHEMA_FILES.get(kind_name)
    return json.loads((SPECS / name).read_text(encoding="utf-8")) if name else None


@lru_cache(maxsize=None)
def packaged_validator(kind_name: str) -> Draft202012Validator | None:
    schema = _packaged_schema(kind_name)
    return Draft202012Validator(schema) if schema is not None else None


def kind_defined_at(kind_name: str, body_kind: object, api_version: str) -> bool:
    if not isinstance(body_kind, str):
        return True  # a missing or mistyped kind is the schema's to report
    versions = apiversions.kind_versions(kind_name).get(body_kind.lower())
    return versions is None or api_version in versions


def check_kind_version(kind: Kind, body: dict, api_version: str) -> None:
    """The spec of `api_version` must define the body's kind. The real answer to an unknown kind
    is not documented; this 400 naming `kind` rests on the specs, not on an observed response."""
    body_kind = body.get("kind")
    if kind_defined_at(kind.name, body_kind, api_version):
        return
    versions = apiversions.kind_versions(kind.name)[body_kind.lower()]
    raise armerrors.bad_request(
        f"The kind '{body_kind}' is not supported by api-version '{api_version}' of "
        f"{kind.type_name}; it is available in api-version(s) {', '.join(versions)}.", target="kind")


def _location(error: ValidationError) -> str:
    path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in error.absolute_path)
    return path.replace(".[", "[")


def describe(error: ValidationError) -> tuple[str, str]:
    """(property path, message) naming the offending property the way ARM errors do."""
    where = _location(error)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        target = f"{where}.{missing}" if where else missing
        return target, f"Required property '{missing}' not found in JSON. Path '{where}'."
    if error.validator == "additionalProperties":
        return where, f"Could not find member {error.message.split('(')[-1].rstrip(')')} on object. Path '{where}'."
    return where, f"Error converting value at path '{where}': {error.message}."


def _most_relevant(errors: list[ValidationError]) -> ValidationError:
    from jsonschema.exceptions import best_match

    return best_match(errors)


class Validator:
    def __init__(self, specs_dir: str | Path | None = None):
        self.specs_dir = Path(specs_dir) if specs_dir else None
        self.swagger = None
        if specs_dir:
            from packer.emulator.swagger import SwaggerSchemas

            self.swagger = SwaggerSchemas(Path(specs_dir))

    def check(self, kind: Kind, body: dict, api_version: str) -> None:
        check_kind_version(kind, body, api_version)
        validators = [packaged_validator(kind.name)]
        if self.swagger is not None:
            validators.append(self.swagger.validator(kind, api_version))
        for validator in validators:
            if validator is None:
                continue
            errors = list(validator.iter_errors(body))
            if errors:
                target, message = describe(_most_relevant(errors))
                raise armerrors.bad_request(f"Invalid data model. [{message}]", target=target)
