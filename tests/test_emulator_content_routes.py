"""contentPackages and contentTemplates (Content Hub resources) through a real SDK client's pipeline:
create, read, list with nextLink paging, replace with stale and current etags, delete, and a
body missing a property the spec requires."""
from __future__ import annotations

import pytest

from packer.emulator.clients import send, sentinel_client


def _package(n: int) -> dict:
    return {"properties": {"contentId": f"pkg-{n}", "contentProductId": f"prod-pkg-{n}", "contentKind": "Solution",
                           "version": "1.0.0", "displayName": f"Package {n}"}}


def _template(n: int) -> dict:
    return {"properties": {"contentId": f"rule-{n}", "contentProductId": f"prod-rule-{n}", "contentKind": "AnalyticsRule",
                           "version": "1.0.0", "displayName": f"Template {n}", "packageId": "pkg-0",
                           "packageVersion": "1.0.0", "source": {"kind": "Solution", "name": "Package 0"},
                           "mainTemplate": {"resources": []}}}


@pytest.mark.parametrize(("collection", "body", "required"), [
    ("contentPackages", _package, "contentProductId"),
    ("contentTemplates", _template, "packageId"),
])
def test_content_hub_routes_create_list_replace_and_delete(emulator_factory, collection, body, required):
    emu = emulator_factory({"page_size": 2})
    client = sentinel_client(emu)
    base = f"{emu.workspace.resource_id}/providers/Microsoft.SecurityInsights/{collection}"

    created = [send(client, "PUT", f"{base}/item-{n}", body(n)) for n in range(3)]
    assert [r.status_code for r in created] == [201, 201, 201]
    first = created[0].json()  # `type` lower-cased as GetPackageById.json / GetTemplateById.json spell it
    assert first["name"] == "item-0" and first["etag"] and first["type"] == f"Microsoft.SecurityInsights/{collection.lower()}"
    assert send(client, "GET", f"{base}/item-0").json()["properties"] == first["properties"]

    page = send(client, "GET", base).json()
    assert len(page["value"]) == 2 and page["nextLink"]
    rest = send(client, "GET", page["nextLink"]).json()
    assert [r["name"] for r in page["value"] + rest["value"]] == ["item-0", "item-1", "item-2"]

    replaced = send(client, "PUT", f"{base}/item-0", {**body(0), "etag": first["etag"]})
    assert replaced.status_code == 200 and replaced.json()["etag"] != first["etag"]
    stale = send(client, "PUT", f"{base}/item-0", {**body(0), "etag": first["etag"]})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "Conflict"

    invalid = body(9)
    del invalid["properties"][required]
    rejected = send(client, "PUT", f"{base}/item-9", invalid)
    assert rejected.status_code == 400 and required in rejected.text()

    assert send(client, "DELETE", f"{base}/item-1").status_code == 200
    assert send(client, "DELETE", f"{base}/item-1").status_code == 204
    assert send(client, "GET", f"{base}/item-1").status_code == 404
