"""The emulator's Content Hub behaviour beyond plain CRUD (packer/emulator/content.py), each per
the 2024-09-01 specs and examples in ../shared/specs: installedVersion on packages, templates'
mainTemplate only when expanded, OData $filter/$top/$skipToken, and the workspace catalogue
(contentProductPackages/contentProductTemplates) built from package zips."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import shared_path
from packer.emulator.clients import send, sentinel_client
from packer.package.archive import package_zip

SPEC_EXAMPLES = ("specification", "securityinsights", "resource-manager", "Microsoft.SecurityInsights", "stable",
                 "2024-09-01", "examples")


def _template(n: int, kind: str = "AnalyticsRule", package: str = "pkg-a") -> dict:
    return {"properties": {"contentId": f"item-{n}", "contentProductId": f"prod-{n}", "contentKind": kind,
                           "version": "1.0.0", "displayName": f"Item {n}", "packageId": package,
                           "packageVersion": "1.0.0", "source": {"kind": "Solution", "name": "A"},
                           "mainTemplate": {"resources": [{"name": f"r{n}"}]}}}


def _base(emu, collection: str) -> str:
    return f"{emu.workspace.resource_id}/providers/Microsoft.SecurityInsights/{collection}"


def test_an_installed_package_reads_back_with_installed_version(emulator_factory, shared):
    """InstallPackage.json: the response carries installedVersion equal to the version installed."""
    import json

    example = json.loads(shared.joinpath("specs", *SPEC_EXAMPLES, "contentPackages", "InstallPackage.json")
                         .read_text(encoding="utf-8"))
    sent = example["parameters"]["packageInstallationProperties"]
    emu = emulator_factory()
    client = sentinel_client(emu)
    url = f"{_base(emu, 'contentPackages')}/{example['parameters']['packageId']}"
    answered = send(client, "PUT", url, {"properties": sent["properties"]}).json()
    expected = example["responses"]["201"]["body"]
    assert answered["properties"]["installedVersion"] == expected["properties"]["installedVersion"] == "2.0.0"
    assert answered["type"] == expected["type"]
    assert send(client, "GET", url).json()["properties"]["installedVersion"] == "2.0.0"
    upgraded = {"properties": {**sent["properties"], "version": "2.1.0"}}
    assert send(client, "PUT", url, upgraded).json()["properties"]["installedVersion"] == "2.1.0"


def test_template_lists_carry_main_template_only_when_expanded(emulator_factory):
    emu = emulator_factory()
    client = sentinel_client(emu)
    base = _base(emu, "contentTemplates")
    send(client, "PUT", f"{base}/t0", _template(0))
    listed = send(client, "GET", base).json()["value"][0]["properties"]
    assert "mainTemplate" not in listed and listed["contentId"] == "item-0"
    expanded = send(client, "GET", base, **{"$expand": "properties/mainTemplate"}).json()["value"][0]
    assert expanded["properties"]["mainTemplate"] == {"resources": [{"name": "r0"}]}
    assert send(client, "GET", f"{base}/t0").json()["properties"]["mainTemplate"] == {"resources": [{"name": "r0"}]}


def test_template_lists_filter_top_and_page(emulator_factory):
    emu = emulator_factory({"page_size": 2})
    client = sentinel_client(emu)
    base = _base(emu, "contentTemplates")
    kinds = ["AnalyticsRule", "HuntingQuery", "AnalyticsRule", "Parser", "AnalyticsRule"]
    for n, kind in enumerate(kinds):
        send(client, "PUT", f"{base}/t{n}", _template(n, kind, "pkg-a" if n < 4 else "pkg-b"))

    def names(params: dict) -> list[str]:
        page = send(client, "GET", base, **params).json()
        out = [b["name"] for b in page["value"]]
        while page.get("nextLink"):
            page = send(client, "GET", page["nextLink"]).json()
            out += [b["name"] for b in page["value"]]
        return out

    assert names({"$filter": "properties/contentKind eq 'AnalyticsRule'"}) == ["t0", "t2", "t4"]
    assert names({"$filter": "properties/contentKind eq 'AnalyticsRule' and properties/packageId eq 'pkg-a'"}) == ["t0", "t2"]
    assert names({"$filter": "properties/contentKind eq 'Parser' or properties/packageId eq 'pkg-b'"}) == ["t3", "t4"]
    assert names({"$filter": "properties/contentKind ne 'AnalyticsRule'"}) == ["t1", "t3"]
    assert names({"$top": "3"}) == ["t0", "t1", "t2"]
    assert names({"$orderby": "properties/contentKind desc", "$skip": "1", "$top": "2"}) == ["t1", "t0"]
    assert names({"$orderby": "properties/displayName"}) == ["t0", "t1", "t2", "t3", "t4"]
    assert names({}) == ["t0", "t1", "t2", "t3", "t4"]
    bad = send(client, "GET", base, **{"$filter": "startswith(properties/displayName, 'I')"})
    assert bad.status_code == 400 and "startswith(properties/displayName" in bad.text()
    unsorted = send(client, "GET", base, **{"$orderby": "properties/contentKind, properties/version"})
    assert unsorted.status_code == 400 and "$orderby" in unsorted.text()


def _corpus_zip(tmp_path: Path, solution: str) -> Path:
    folder = shared_path("corpus", "solutions", solution, "Package")
    path = tmp_path / f"{solution}.zip"
    path.write_bytes(package_zip({name: (folder / name).read_bytes()
                                  for name in ("mainTemplate.json", "createUiDefinition.json")}))
    return path


def test_the_catalogue_offers_the_configured_packages_for_the_workspace(emulator_factory, tmp_path):
    from packer.package.arm_hash import unique_string

    emu = emulator_factory({"content_catalogue": [str(_corpus_zip(tmp_path, "OpenVPN"))]})
    client = sentinel_client(emu)
    products = send(client, "GET", _base(emu, "contentProductPackages")).json()["value"]
    [product] = products
    solution_id = "azuresentinel.azure-sentinel-solution-openvpn"
    version = product["properties"]["version"]
    assert product["name"] == f"{solution_id}-sl-{unique_string(f'{solution_id}-Solution-{solution_id}-{version}')}"
    assert product["type"] == "Microsoft.SecurityInsights/contentproductpackages"
    assert "installedVersion" not in product["properties"] and "packagedContent" not in product["properties"]
    expanded = send(client, "GET", _base(emu, "contentProductPackages"),
                    **{"$expand": "properties/packagedContent"}).json()["value"][0]
    assert expanded["properties"]["packagedContent"]["resources"]

    templates = send(client, "GET", _base(emu, "contentProductTemplates"),
                     **{"$filter": f"properties/packageId eq '{solution_id}'"}).json()["value"]
    assert [t["properties"]["contentKind"] for t in templates] == ["Parser"]
    assert "packagedContent" not in templates[0]["properties"]  # lists omit the body (content-hub-install.md 1.3)
    one = send(client, "GET", f"{_base(emu, 'contentProductTemplates')}/{templates[0]['name']}")
    assert one.status_code == 200 and one.json()["name"] == templates[0]["name"]
    packaged = one.json()["properties"]["packagedContent"]
    assert packaged["resources"][0]["name"] == f"{emu.workspace.name}/OpenVpnEvent"  # evaluated for this workspace
    assert send(client, "PUT", f"{_base(emu, 'contentProductPackages')}/{product['name']}", {"properties": {}}).status_code == 405

    installed = {"properties": {"contentId": solution_id, "contentProductId": product["name"], "contentKind": "Solution",
                                "version": version, "displayName": "OpenVPN"}}
    send(client, "PUT", f"{_base(emu, 'contentPackages')}/{solution_id}", installed)
    again = send(client, "GET", f"{_base(emu, 'contentProductPackages')}/{product['name']}").json()
    assert again["properties"]["installedVersion"] == version


def test_a_catalogue_entry_that_is_not_a_package_is_a_config_error(tmp_path):
    from packer.emulator.config import EmulatorConfig
    from packer.errors import ConfigError

    bogus = tmp_path / "x.zip"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="content_catalogue: .*x.zip: not a zip file"):
        EmulatorConfig.from_dict({"content_catalogue": [str(bogus)]})
