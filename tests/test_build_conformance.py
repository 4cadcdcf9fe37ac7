"""Golden conformance: rebuild each corpus solution from Microsoft's input and compare with
Microsoft's package. Every difference must be listed, by its exact path and with its reason, in
docs/conformance.md (no wildcards: a new difference anywhere fails the test)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import PROJECT_ROOT, shared_path
from test_build_jsondiff import differences
from packer.package.main_template import render_package
from packer.package.ms_input import read_solution_input

CONFORMANCE_DOC = PROJECT_ROOT / "docs" / "conformance.md"
SOLUTIONS = ("Cloud Service Threat Protection Essentials", "Microsoft Copilot", "OpenVPN", "Windows Firewall",
             "Ermes Browser Security")


def allowed_differences() -> list[dict]:
    text = CONFORMANCE_DOC.read_text(encoding="utf-8")
    block = re.search(r"```json conformance-allowed\n(.*?)```", text, re.DOTALL)
    assert block, "docs/conformance.md has no ```json conformance-allowed block"
    entries = json.loads(block.group(1))
    for entry in entries:
        assert set(entry) == {"solution", "path", "reason"} and entry["reason"].strip(), entry
    return entries


def build_corpus_solution(folder: Path) -> tuple[dict, dict]:
    data_file = next((folder / "Data").glob("*.json"))
    derived = folder / "_derived"
    workbooks_metadata = next(derived.glob("WorkbooksMetadata*.json"), None) if derived.is_dir() else None
    theirs = json.loads((folder / "Package" / "mainTemplate.json").read_text(encoding="utf-8"))
    # The package version comes from Microsoft's catalog, not the inputs: the user gives it.
    version = next(r for r in theirs["resources"] if r["type"].endswith("/contentPackages"))["properties"]["version"]
    return render_package(read_solution_input(data_file, workbooks_metadata), version)


def corpus_differences(folder: Path) -> list[str]:
    main, ui = build_corpus_solution(folder)
    theirs_main = json.loads((folder / "Package" / "mainTemplate.json").read_text(encoding="utf-8"))
    theirs_ui = json.loads((folder / "Package" / "createUiDefinition.json").read_text(encoding="utf-8"))
    return list(differences(main, theirs_main, "main")) + list(differences(ui, theirs_ui, "ui"))


@pytest.mark.parametrize("solution", SOLUTIONS)
def test_package_matches_microsoft_except_listed_differences(solution: str) -> None:
    folder = shared_path("corpus", "solutions", solution)
    entries = [e for e in allowed_differences() if e["solution"] == solution]
    found = corpus_differences(folder)
    listed = [e["path"] for e in entries]
    assert len(listed) == len(set(listed)), "docs/conformance.md lists a difference twice"
    unlisted = [d for d in found if d not in listed]
    assert not unlisted, "differences not listed in docs/conformance.md:\n" + "\n".join(unlisted)
    stale = [path for path in listed if path not in found]
    assert not stale, "docs/conformance.md lists differences that no longer occur:\n" + "\n".join(stale)


def test_resource_skeleton_matches_for_every_solution() -> None:
    """Beyond the listed differences: the same resource types in the same order, per solution."""
    for solution in ("Cloud Service Threat Protection Essentials", "Windows Firewall", "Microsoft Copilot",
                     "Ermes Browser Security"):
        folder = shared_path("corpus", "solutions", solution)
        main, _ = build_corpus_solution(folder)
        theirs = json.loads((folder / "Package" / "mainTemplate.json").read_text(encoding="utf-8"))
        assert [(r["type"], r["name"]) for r in main["resources"]] == [(r["type"], r["name"]) for r in theirs["resources"]]
        assert main["variables"].keys() == theirs["variables"].keys()
        assert main["parameters"] == theirs["parameters"]


def test_every_allowed_difference_names_a_corpus_solution() -> None:
    assert {e["solution"] for e in allowed_differences()} <= set(SOLUTIONS)


@pytest.mark.parametrize("solution", SOLUTIONS)
def test_corpus_rebuild_passes_the_static_checks(solution: str, tmp_path: Path) -> None:
    from packer.package.build import build_solution_input

    folder = shared_path("corpus", "solutions", solution)
    derived = folder / "_derived"
    metadata = next(derived.glob("WorkbooksMetadata*.json"), None) if derived.is_dir() else None
    result = build_solution_input(next((folder / "Data").glob("*.json")), tmp_path, metadata)
    assert Path(f"Package/{result.version}.zip") in result.files


def _description_html(main: dict) -> str:
    return next(r for r in main["resources"] if r["type"].endswith("/contentPackages"))["properties"]["descriptionHtml"]


def test_description_html_differs_only_in_the_preamble() -> None:
    """The whole-string allowances above are narrowed here to the reason they give: the older
    packages' one-line known-issues preamble; the Markdig rendering of everything after it matches."""
    for solution in ("Cloud Service Threat Protection Essentials", "Ermes Browser Security"):
        folder = shared_path("corpus", "solutions", solution)
        ours = _description_html(build_corpus_solution(folder)[0])
        theirs = _description_html(json.loads((folder / "Package" / "mainTemplate.json").read_text(encoding="utf-8")))
        body = "\n".join(ours.split("\n")[3:])  # ours: Note, Release Notes, known issues
        assert theirs.split("\n", 1)[0].startswith("<p><strong>Note:</strong>")
        assert theirs.split("\n", 1)[1] == body

    # OpenVPN: only the corpus README's drift (the stored data file's older sentence, and the
    # connector it still lists adding a count) separates the two renderings.
    folder = shared_path("corpus", "solutions", "OpenVPN")
    ours = _description_html(build_corpus_solution(folder)[0])
    theirs = _description_html(json.loads((folder / "Package" / "mainTemplate.json").read_text(encoding="utf-8")))
    theirs = theirs.replace("which were deprecated on <strong>Aug 31, 2024.</strong>",
                            "which is about to be deprecated by <strong>Aug 31, 2024</strong>.")
    assert ours == theirs.replace("<p><strong>Parsers:</strong>", "<p><strong>Data Connectors:</strong> 1, <strong>Parsers:</strong>")


def test_workbook_serialized_data_differs_only_in_the_build_platform_newline() -> None:
    folder = shared_path("corpus", "solutions", "Windows Firewall")

    def serialized(main: dict) -> str:
        template = next(r for r in main["resources"] if "workbookTemplateSpecName1" in r["name"])
        return template["properties"]["mainTemplate"]["resources"][0]["properties"]["serializedData"]

    ours = serialized(build_corpus_solution(folder)[0])
    theirs = serialized(json.loads((folder / "Package" / "mainTemplate.json").read_text(encoding="utf-8")))
    assert theirs.endswith("\r\n") and ours.endswith("\n")
    assert ours[:-1] == theirs[:-2]


def test_workbook_metadata_description_is_the_powershell_text_of_the_entry() -> None:
    """The packager writes "$dependencies.description": the whole WorkbooksMetadata entry as
    PowerShell prints an object, then `.description`. Ours matches once the corpus's
    reconstruction note (a member the repository's entry lacks) is taken out."""
    folder = shared_path("corpus", "solutions", "Windows Firewall")

    def description(main: dict) -> str:
        template = next(r for r in main["resources"] if "workbookTemplateSpecName1" in r["name"])
        return next(r for r in template["properties"]["mainTemplate"]["resources"]
                    if r["type"].endswith("/metadata"))["properties"]["description"]

    ours = description(build_corpus_solution(folder)[0])
    theirs = description(json.loads((folder / "Package" / "mainTemplate.json").read_text(encoding="utf-8")))
    note = json.loads(next((folder / "_derived").glob("WorkbooksMetadata*.json")).read_text(encoding="utf-8"))["_note"]
    assert ours.startswith(f"@{{_note={note}; ")
    assert ours.replace(f"_note={note}; ", "") == theirs


def test_static_ui_connector_lists_differ_only_by_powershell_unrolling() -> None:
    """The connectorUiConfig allowances above are narrowed here: their value is our one-element list's element."""
    folder = shared_path("corpus", "solutions", "Windows Firewall")
    theirs = json.loads((folder / "Package" / "mainTemplate.json").read_text(encoding="utf-8"))

    def ui_configs(main: dict) -> list[dict]:
        return [r["properties"]["connectorUiConfig"] for r in main["resources"] if r["type"].endswith("/dataConnectors")]

    ours_configs, their_configs = ui_configs(build_corpus_solution(folder)[0]), ui_configs(theirs)
    assert len(ours_configs) == len(their_configs) == 2
    for ours, other in zip(ours_configs, their_configs):
        for field in ("graphQueries", "dataTypes"):
            assert ours[field] == [other[field]]


def test_ermes_poller_differs_only_by_name_and_vintage() -> None:
    """Ermes' poller is listed as missing/extra because its name changed between packager versions;
    its body matches except the parameter names of that vintage and the corpus README's paging drift."""
    folder = shared_path("corpus", "solutions", "Ermes Browser Security")
    theirs_main = json.loads((folder / "Package" / "mainTemplate.json").read_text(encoding="utf-8"))

    def poller(main: dict) -> dict:
        connections = next(r for r in main["resources"] if "Connections1" in r["name"] and r["type"].endswith("contentTemplates"))
        return next(r for r in connections["properties"]["mainTemplate"]["resources"] if r["type"].endswith("/dataConnectors"))

    ours, theirs = poller(build_corpus_solution(folder)[0]), poller(theirs_main)
    assert ours["name"] == "[[concat(parameters('innerWorkspace'),'/Microsoft.SecurityInsights/', 'apiRequest', parameters('guidValue'))]"
    text = json.dumps(ours["properties"]).replace("parameters('clientId')", "parameters('ClientId')").replace(
        "parameters('clientSecret')", "parameters('ClientSecret')")
    expected = json.loads(json.dumps(theirs["properties"]))
    expected["paging"] = {"type": expected["paging"].pop("pagingType")}  # corpus README drift
    assert json.loads(text) == expected
    assert {k: v for k, v in ours.items() if k not in ("name", "properties")} == \
        {k: v for k, v in theirs.items() if k not in ("name", "properties")}
