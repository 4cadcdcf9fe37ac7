"""`build` of the bundled content pack: package files, zip layout, determinism, standalone ARM, CLI."""
from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import CONTENT, kql_or_skip, shared_path
from packer.cli import app
from packer.content.load import load_content_unchecked
from packer.errors import PackerError, ValidationFailed
from packer.package.build import build_content, build_package, render_files
from packer.package.checks import check_template_text
from packer.package.inputs import from_content_set


@pytest.fixture(scope="module")
def pack_files() -> dict[str, bytes]:
    return render_files(from_content_set(load_content_unchecked(CONTENT)))


def test_bundled_pack_validates_builds_and_passes_the_static_checks(tmp_path: Path) -> None:
    result = build_content(CONTENT, tmp_path, kql=False)
    content = load_content_unchecked(CONTENT)
    main = check_template_text("main", (tmp_path / "Package" / "mainTemplate.json").read_text(encoding="utf-8"))
    kinds = [r["properties"]["contentKind"] for r in main["resources"] if r["type"].endswith("/contentTemplates")]
    assert kinds.count("AnalyticsRule") == len(content.analytic_rules) > 0
    assert kinds.count("HuntingQuery") == len(content.hunting_queries) > 0
    assert kinds.count("Parser") == len(content.parsers) > 0
    assert kinds.count("Workbook") == len(content.workbooks) > 0
    assert result.warnings == ()
    for path in result.files:
        if path.suffix == ".json" and path.name != "testParameters.json" and path.parts[0] == "arm":
            check_template_text(str(path), (tmp_path / path).read_text(encoding="utf-8"))


def test_false_positive_notes_stay_out_of_the_package(pack_files: dict[str, bytes]) -> None:
    """They are triage docs for the analyst: Sentinel has no such field (docs/content-format.md)."""
    notes = [fp for item in load_content_unchecked(CONTENT).items for fp in getattr(item, "false_positives", ())]
    assert notes, "the bundled pack carries false-positive notes"
    for path, data in pack_files.items():
        if path.endswith(".json"):
            text = data.decode("utf-8")
            assert "falsePositives" not in text and not any(fp.scenario in text for fp in notes), path


def test_package_lists_every_item_as_a_dependency_of_the_solution(pack_files: dict[str, bytes]) -> None:
    main = json.loads(pack_files["Package/mainTemplate.json"])
    solution = main["resources"][-1]
    assert solution["type"].endswith("/contentPackages")
    templates = [r for r in main["resources"] if r["type"].endswith("/contentTemplates")]
    criteria = solution["properties"]["dependencies"]["criteria"]
    assert [c["contentId"] for c in criteria] == [t["properties"]["contentId"] for t in templates]
    assert solution["properties"]["version"] == main["variables"]["_solutionVersion"]


def test_same_input_gives_byte_identical_output(tmp_path: Path) -> None:
    package = from_content_set(load_content_unchecked(CONTENT))
    first = build_package(package, tmp_path / "a")
    second = build_package(from_content_set(load_content_unchecked(CONTENT)), tmp_path / "b")
    assert first.files == second.files
    for relative in first.files:
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes(), relative


def test_zip_holds_both_package_files_at_its_root_with_fixed_timestamps(pack_files: dict[str, bytes], tmp_path: Path) -> None:
    version = json.loads(pack_files["Package/mainTemplate.json"])["variables"]["_solutionVersion"]
    archive_path = tmp_path / "p.zip"
    archive_path.write_bytes(pack_files[f"Package/{version}.zip"])
    with zipfile.ZipFile(archive_path) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == ["createUiDefinition.json", "mainTemplate.json"]
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        for info in infos:
            assert archive.read(info) == pack_files[f"Package/{info.filename}"]


def test_outputs_are_utf8_json_with_two_space_indent_and_final_newline(pack_files: dict[str, bytes]) -> None:
    text = pack_files["Package/mainTemplate.json"].decode("utf-8")
    assert text.endswith("}\n") and text.startswith('{\n  "$schema"')
    assert "\\u00e4" not in text  # non-ASCII written as is, like the packager (query has 'Krämer')


def test_one_standalone_template_per_item_with_a_workspace_parameter(pack_files: dict[str, bytes]) -> None:
    content = load_content_unchecked(CONTENT)
    arm = {p: json.loads(b) for p, b in pack_files.items() if p.startswith("arm/")}
    assert len(arm) == len(content.items)  # watchlists and automation rules too (not packaged)
    for rule in content.analytic_rules:
        template = arm[f"arm/analytic-rules/{rule.source.path.stem}.json"]
        assert list(template["parameters"]) == ["workspace"]
        resource = template["resources"][0]
        assert resource["type"] == "Microsoft.OperationalInsights/workspaces/providers/alertRules"
        assert rule.id in resource["name"]
        assert resource["properties"]["query"] == rule.query
        assert resource["properties"]["enabled"] == rule.enabled


def test_stale_standalone_templates_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / "arm" / "analytic-rules" / "deleted_rule.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    build_package(from_content_set(load_content_unchecked(CONTENT)), tmp_path)
    assert not stale.exists()


def test_arm_files_build_does_not_write_are_kept(tmp_path: Path) -> None:
    """`--out .` in a repository that ships its own arm/ templates (as this one does) keeps them."""
    own = [tmp_path / "arm" / "ci-identity-roles.json", tmp_path / "arm" / "custom" / "mine.json"]
    for path in own:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    build_package(from_content_set(load_content_unchecked(CONTENT)), tmp_path)
    assert all(path.exists() for path in own)


def test_cli_builds_the_pack(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["build", "--content", str(CONTENT), "--out", str(tmp_path), "--no-kql"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "Package" / "mainTemplate.json").is_file()
    assert "Package/createUiDefinition.json" in result.output


def test_cli_strict_build_fails_on_a_warning_and_writes_nothing(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    rule = next((content / "analytic-rules").glob("*.yaml"))
    rule.write_text(rule.read_text(encoding="utf-8") + "colour: blue\n", encoding="utf-8")
    relaxed = CliRunner().invoke(app, ["build", "--content", str(content), "--out", str(tmp_path / "a"), "--no-kql"])
    assert relaxed.exit_code == 0, relaxed.output
    strict = CliRunner().invoke(app, ["build", "--content", str(content), "--out", str(tmp_path / "b"), "--no-kql",
                                      "--strict"])
    assert strict.exit_code == 1
    assert not (tmp_path / "b").exists()
    with pytest.raises(ValidationFailed) as failed:
        build_content(content, tmp_path / "c", kql=False, strict=True)
    (problem,) = failed.value.report.errors
    assert (problem.path.name, problem.field) == (rule.name, "colour")
    assert not (tmp_path / "c").exists()


def test_a_kql_error_found_while_the_package_renders_still_stops_the_build(tmp_path: Path) -> None:
    """build renders the package while the worker analyses the queries: a query error must still
    leave nothing written, and an error-free build writes what validation passed."""
    kql_or_skip()
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    rule = next((content / "analytic-rules").glob("*.yaml"))
    text = rule.read_text(encoding="utf-8")
    rule.write_text(text.replace("query: |\n", "query: |\n  DeviceNetworkEvents | where | take\n", 1), encoding="utf-8")
    with pytest.raises(ValidationFailed) as failed:
        build_content(content, tmp_path / "out", strict=False)
    assert [(p.path.name, p.code.startswith("kql.")) for p in failed.value.report.errors] == [(rule.name, True)]
    assert not (tmp_path / "out").exists()
    rule.write_text(text, encoding="utf-8")
    built = build_content(content, tmp_path / "out")
    assert built.files and (tmp_path / "out" / "Package" / "mainTemplate.json").is_file()


def test_cli_reports_skipped_content_and_unread_keys_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "Solution"
    shutil.copytree(shared_path("corpus", "solutions", "Microsoft Copilot"), folder)
    data_file = next((folder / "Data").glob("*.json"))
    data = json.loads(data_file.read_text(encoding="utf-8"))
    data["Playbooks"] = ["Playbooks/Block/azuredeploy.json"]
    data["Analytic Rule"] = ["Analytic Rules/Other.yaml"]  # misspelt: not a key this builder reads
    data_file.write_text(json.dumps(data), encoding="utf-8")
    result = CliRunner().invoke(app, ["build", "--solution-input", str(data_file), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "warning: Playbooks Playbooks/Block/azuredeploy.json: not supported by this builder yet" in result.output
    assert "warning: data file key 'Analytic Rule'" in result.output


def test_cli_content_must_be_a_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["build", "--content", str(CONTENT / "solution.yaml"), "--out", str(tmp_path / "out"), "--no-kql"])
    assert result.exit_code != 0 and "give the content folder" in str(result.exception)
    assert not (tmp_path / "out").exists()


def test_cli_solution_version_overrides_the_package_version(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["build", "--content", str(CONTENT), "--out", str(tmp_path), "--no-kql",
                                      "--solution-version", "3.4.5"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "Package" / "3.4.5.zip").is_file()


@pytest.mark.parametrize("version", ["3.0", "abc/../x", "1.0.0-beta"])
def test_a_package_version_that_is_not_x_y_z_is_refused(tmp_path: Path, version: str) -> None:
    with pytest.raises(PackerError, match="is not X.Y.Z"):
        build_package(from_content_set(load_content_unchecked(CONTENT)), tmp_path / "out", version)
    assert not (tmp_path / "out").exists()


def test_parser_only_solution_has_the_empty_step_and_no_workbook_parameters() -> None:
    from dataclasses import replace

    from packer.package.main_template import render_package

    content = load_content_unchecked(CONTENT)
    main, ui = render_package(from_content_set(replace(content, analytic_rules=(), hunting_queries=(), workbooks=())))
    assert ui["parameters"]["steps"] == [{}]
    assert list(main["parameters"]) == ["location", "workspace-location", "workspace"]
    assert "**Parsers:** 1\n\n" in ui["parameters"]["config"]["basics"]["description"]
    check_template_text("main", json.dumps(main))


def test_content_without_solution_file_is_a_clear_error() -> None:
    from dataclasses import replace

    from packer.errors import PackerError

    with pytest.raises(PackerError, match="solution.yaml"):
        from_content_set(replace(load_content_unchecked(CONTENT), solution=None))
