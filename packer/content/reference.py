"""Reference lists from packer/data/ (derived from Azure-Sentinel's CI; see each file's _source)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


def _data(name: str) -> dict:
    return json.loads(resources.files("packer").joinpath("data", name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class EntityType:
    name: str
    identifiers: frozenset[str]
    required_sets: tuple[frozenset[str], ...]


@lru_cache(maxsize=None)
def tactics_by_technique() -> dict[str, frozenset[str]]:
    return {k: frozenset(v) for k, v in _data("techniques.json")["tacticsByTechnique"].items()}


@lru_cache(maxsize=None)
def entity_types() -> dict[str, EntityType]:
    return {
        name: EntityType(name, frozenset(spec["identifiers"]), tuple(frozenset(s) for s in spec["requiredSets"]))
        for name, spec in _data("entities.json")["entityTypes"].items()
    }


@lru_cache(maxsize=None)
def connector_ids() -> frozenset[str]:
    return frozenset(_data("connectors.json")["connectorIds"])
