"""`install PACKAGE.zip`: reading a package zip, evaluating it for a workspace, and the promise
that Microsoft's package and the same solution built from its inputs install the same
contentPackages/contentTemplates except for the differences docs/install.md lists."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import PROJECT_ROOT, shared_path
from test_build_jsondiff import differences, pattern_matches
from packer.package.archive import package_zip
from packer.package.arm_expr import Scope
from packer.package.install import PackageError, PackageInstall, package_install, read_package

INSTALL_DOC = PROJECT_ROOT / "docs" / "install.md"
SOLUTIONS = ("Cloud Service Threat Protection Essentials", "Microsoft Copilot", "OpenVPN", "Windows Firewall")
SCOPE = Scope("11111111-2222-3333-4444-555555555555", "rg-sec", "westeurope")


def microsoft_zip(tmp_path: Path, solution: str) -> Path:
    """Microsoft's Solutions/<X>/Package/<version>.zip layout, from the corpus's two files."""
    folder = shared_path("corpus", "solutions", solution, "Package")
    path = tmp_path / "microsoft" / f"{solution}.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(package_zip({n: (folder / n).read_bytes() for n in ("mainTemplate.json", "createUiDefinition.json")}))
    return path


def built_zip(tmp_path: Path, solution: str) -> Path:
    """The same solution built from its inputs by the CLI (`build --solution-input`), at the package's version."""
    from typer.testing import CliRunner

    from packer.cli import app

    folder = shared_path("corpus", "solutions", solution)
    theirs = json.loads((folder / "Package" / "mainTemplate.json").read_text(encoding="utf-8"))
    version = next(r for r in theirs["resources"] if r["type"].endswith("/contentPackages"))["properties"]["version"]
    args = ["build", "--solution-input", str(next((folder / "Data").glob("*.json"))), "--out", str(tmp_path / "built"),
            "--solution-version", version]
    metadata = next((folder / "_derived").glob("WorkbooksMetadata*.json"), None) if (folder / "_derived").is_dir() else None
    if metadata:
        args += ["--workbooks-metadata", str(metadata)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return next((tmp_path / "built").rglob("*.zip"))


def keyed(install: PackageInstall) -> dict:
    out = {f"package[{install.content_id}]": install.package.body}
    for template in install.templates:
        props = template.body["properties"]
        out[f"template[{props['contentKind']}/{props['contentId']}]"] = template.body
    return out


def _kind_id(template) -> tuple[str, str]:
    return template.body["properties"]["contentKind"], template.body["properties"]["contentId"]


def allowed_differences() -> list[dict]:
    block = re.search(r"```json install-differences\n(.*?)```", INSTALL_DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert block, "docs/install.md has no ```json install-differences block"
    entries = json.loads(block.group(1))
    assert all(set(e) == {"solution", "path", "reason"} and e["reason"].strip() for e in entries)
    return entries


@pytest.mark.parametrize("solution", SOLUTIONS)
def test_microsoft_package_and_build_from_inputs_install_the_same_content(solution, tmp_path):
    theirs = package_install(read_package(microsoft_zip(tmp_path, solution)), SCOPE, "ws1")
    ours = package_install(read_package(built_zip(tmp_path, solution)), SCOPE, "ws1")
    assert ours.package.resource_id == theirs.package.resource_id
    ids = {_kind_id(t): t.resource_id for t in theirs.templates}
    assert all(ids.get(_kind_id(t), t.resource_id) == t.resource_id for t in ours.templates)
    found = list(differences(keyed(ours), keyed(theirs), "install"))
    entries = [e for e in allowed_differences() if e["solution"] == solution]
    unlisted = [d for d in found if not any(pattern_matches(e["path"], d) for e in entries)]
    assert not unlisted, "differences not listed in docs/install.md:\n" + "\n".join(unlisted)
    stale = [e["path"] for e in entries if not any(pattern_matches(e["path"], d) for d in found)]
    assert not stale, "docs/install.md lists differences that no longer occur:\n" + "\n".join(stale)


def test_the_package_evaluates_for_the_workspace_it_is_installed_into(tmp_path):
    package = read_package(microsoft_zip(tmp_path, "Windows Firewall"))
    first = package_install(package, SCOPE, "ws1")
    other = package_install(package, Scope("99999999-2222-3333-4444-555555555555", "rg2", "northeurope"), "ws2")
    assert first.content_id == other.content_id == "azuresentinel.azure-sentinel-solution-windowsfirewall"
    assert first.package.resource_id.startswith(f"{SCOPE.resource_group_id}/providers/Microsoft.OperationalInsights/workspaces/ws1/")
    assert other.package.resource_id.startswith("/subscriptions/99999999-2222-3333-4444-555555555555/resourceGroups/rg2/")
    # Template names derive from the workspace name (uniqueString of the content id): same suffix, other prefix.
    assert [t.name.split("/")[-1].replace("ws1-", "") for t in first.templates] == \
           [t.name.split("/")[-1].replace("ws2-", "") for t in other.templates]
    assert {r.type.rsplit("/", 1)[-1] for r in first.others} == {"metadata", "dataConnectors"}


def test_a_zip_without_main_template_is_refused_by_name(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(package_zip({"readme.txt": b"hi"}))
    with pytest.raises(PackageError, match=r"bad.zip: no mainTemplate.json at the zip root \(it holds: readme.txt\)"):
        read_package(bad)
    notzip = tmp_path / "notzip.zip"
    notzip.write_text("{}")
    with pytest.raises(PackageError, match="notzip.zip: not a zip file"):
        read_package(notzip)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(package_zip({"mainTemplate.json": b"{nope"}))
    with pytest.raises(PackageError, match="broken.zip: mainTemplate.json is not JSON"):
        read_package(broken)


def test_unsupported_template_language_is_refused_with_the_file_and_function(tmp_path):
    template = {"parameters": {"workspace": {"type": "string"}}, "resources": [
        {"type": "Microsoft.OperationalInsights/workspaces/providers/contentPackages", "apiVersion": "x",
         "name": "[concat(parameters('workspace'), '/Microsoft.SecurityInsights/', reference('x').id)]",
         "properties": {}}]}
    path = tmp_path / "p.zip"
    path.write_bytes(package_zip({"mainTemplate.json": json.dumps(template).encode()}))
    with pytest.raises(PackageError) as raised:
        package_install(read_package(path), SCOPE, "ws1")
    message = str(raised.value)
    assert "p.zip: mainTemplate.json: resources[0]" in message and "'reference' is not supported" in message


def test_parameters_without_defaults_must_be_given_by_name(tmp_path):
    template = {"parameters": {"workspace": {"type": "string"}, "apiKey": {"type": "securestring"}},
                "resources": []}
    path = tmp_path / "p.zip"
    path.write_bytes(package_zip({"mainTemplate.json": json.dumps(template).encode()}))
    package = read_package(path)
    with pytest.raises(PackageError, match="parameter\\(s\\) apiKey have no default; give them with --parameter"):
        package_install(package, SCOPE, "ws1")
    with pytest.raises(PackageError, match="has no parameter\\(s\\) nope"):
        package_install(package, SCOPE, "ws1", {"nope": "1"})


def test_a_template_writing_outside_the_workspace_is_refused(tmp_path):
    template = {"parameters": {"workspace": {"type": "string"}}, "resources": [
        {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "x", "name": "acct", "properties": {}}]}
    path = tmp_path / "p.zip"
    path.write_bytes(package_zip({"mainTemplate.json": json.dumps(template).encode()}))
    with pytest.raises(PackageError, match=r"resources\[0\] \(Microsoft.Storage/storageAccounts\) deploys outside the workspace"):
        package_install(read_package(path), SCOPE, "ws1")
