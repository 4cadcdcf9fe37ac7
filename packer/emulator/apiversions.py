"""The api-versions the emulator serves, per resource type: its own table, read from specs/apiVersions.json.

Not shared with the client it tests (packer/remote/api_versions.py): the client picks versions,
the emulator answers whatever the specs define, so a client choosing a version Azure does not
serve fails here as it would there. Each list's source is recorded beside it in the JSON file.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).parent / "specs" / "apiVersions.json"


@lru_cache(maxsize=None)
def _table() -> dict[str, dict]:
    return json.loads(TABLE.read_text(encoding="utf-8"))["resourceTypes"]


def served(resource_type: str) -> tuple[str, ...]:
    """Every api-version the specs define for `resource_type` (a key of the table), newest first."""
    entry = _table()[resource_type]
    versions = entry["versions"]
    if isinstance(versions, str):  # an alias: the same list as another resource type
        return served(versions)
    return tuple(versions)


@lru_cache(maxsize=None)
def kind_versions(resource_type: str) -> dict[str, tuple[str, ...]]:
    """Body kinds that only some api-versions define (lower-cased kind -> those versions)."""
    kinds = _table()[resource_type].get("kinds", {})
    return {k.lower(): tuple(v) for k, v in kinds.items() if not k.startswith("$")}
