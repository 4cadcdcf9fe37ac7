"""Every registered content kind (packer.content.load.KINDS) has what docs/architecture.md's
"A content kind" list says it needs: a model, a schema and validation, a body renderer and an
emulator route. Adding a kind that misses one fails here, so the list stays true."""
from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import pytest

from packer import resource_ids
from packer.bodies.resources import RENDERERS, desired_resources
from packer.content.load import KINDS, discover, load_content_unchecked
from packer.content.model import ContentItem, ContentKind, ContentSet
from packer.emulator import routes
from packer.emulator.validation import packaged_validator
from packer.remote.api_versions import api_version_for
from packer.targets.model import Target
from packer.validate.files import field_kind, folder_kind
from packer.validate.schemas import schema

ROOT = Path(__file__).resolve().parents[1]
TARGET = Target("ws", "tenant", "sub", "rg", "law", "org/repo")
EMULATOR_SCOPES = {resource_ids.Scope.SENTINEL: "sentinel", resource_ids.Scope.WORKSPACE: "workspace",
                   resource_ids.Scope.RESOURCE_GROUP: "group"}
KIND_IDS = [spec.kind.value for spec in KINDS]


def test_every_content_kind_is_registered_once():
    assert sorted(spec.kind for spec in KINDS) == sorted(ContentKind)
    for attribute in ("folder", "schema", "field", "model"):
        values = [getattr(spec, attribute) for spec in KINDS]
        assert len(set(values)) == len(values), f"two kinds share a {attribute}"


@pytest.mark.parametrize("spec", KINDS, ids=KIND_IDS)
def test_the_model_is_a_content_item_the_content_set_holds(spec):
    assert dataclasses.is_dataclass(spec.model) and spec.model.content_kind is spec.kind
    assert spec.model in typing.get_args(ContentItem)
    marker = object()
    content = ContentSet(None, **{spec.field: (marker,)})
    assert marker in content.items, f"ContentSet.items leaves out {spec.field}"


@pytest.mark.parametrize("spec", KINDS, ids=KIND_IDS)
def test_validation_knows_the_kind_by_folder_fields_and_schema(spec):
    assert schema(spec.schema)["type"] == "object"
    for folder in (spec.folder, *spec.folder_aliases):
        assert folder_kind(Path("somewhere") / folder / "item.yaml") == spec.schema
    if spec.signature:
        assert field_kind({key: "x" for key in spec.signature}) == spec.schema


@pytest.mark.parametrize("spec", KINDS, ids=KIND_IDS)
def test_the_kind_renders_into_its_collection_and_the_emulator_serves_it(spec):
    assert spec.model in RENDERERS
    route = routes.KINDS.get(spec.collection.name.lower())
    assert route is not None, f"no emulator route for {spec.collection.name}"
    assert route.writable and route.type_name.lower() == spec.collection.resource_type.lower()
    assert route.scope == EMULATOR_SCOPES[spec.collection.scope]
    collection_id = spec.collection.collection_id(TARGET.workspace_id, TARGET.resource_group_id)
    assert api_version_for(collection_id) in route.api_versions
    assert packaged_validator(route.name) is not None, f"the emulator checks no {route.name} body"


def test_the_example_content_renders_each_item_into_its_kinds_collection():
    content = load_content_unchecked(ROOT / "content")
    by_kind = {spec.kind: spec for spec in KINDS}
    rendered = desired_resources(content, TARGET)
    assert {r.kind for r in rendered} == {spec.kind for spec in KINDS if getattr(content, spec.field)}
    for resource in rendered:
        collection = by_kind[resource.kind].collection
        expected = collection.collection_id(TARGET.workspace_id, TARGET.resource_group_id)
        assert resource.resource_id.rsplit("/", 1)[0] == expected
    found = {f.kind for f in discover(ROOT / "content")} - {None}
    assert found == {r.kind for r in rendered}
