"""Optional: JSON Schemas for PUT bodies taken from swagger (OpenAPI 2) files in a specs directory."""
from __future__ import annotations

from pathlib import Path

from jsonschema import Draft202012Validator

from packer.emulator.routes import Kind


class SwaggerSchemas:
    def __init__(self, root: Path):
        self.root = root

    def validator(self, kind: Kind, api_version: str) -> Draft202012Validator | None:
        return None
