"""One pass per file: the model is built from the CI view validation judged (each file's view is
made once), and one discovery finds the files of a content root and of a loose folder."""
from __future__ import annotations

import shutil
from pathlib import Path

from conftest import first_arguments
from packer.content import document
from packer.content.load import discover, load_content_unchecked
from packer.content.model import ContentKind
from packer.validate import validate_paths

ROOT = Path(__file__).resolve().parents[1]
RULE = "analytic-rules/rmm_Kaseya_netconn.yaml"
PARSER = "parsers/RMMToolActivity.yaml"
HUNTING = "hunting-queries/rmm_Kaseya_netconn.yaml"


def _content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(ROOT / "content", root)
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_each_files_ci_view_is_built_once_and_the_model_comes_from_it(tmp_path, monkeypatch):
    root = _content(tmp_path)
    built: list[Path] = []
    original = document.ci_document

    def counting(source, keys):
        built.append(source.path)
        return original(source, keys)

    monkeypatch.setattr(document, "ci_document", counting)
    report = validate_paths([root], kql=False)
    assert report.ok, report.errors
    assert len(report.content.items) + 1 == report.files_checked  # every file but solution.yaml is an item
    assert sorted(built) == sorted(set(built)) and len(built) == report.files_checked


def test_the_model_reads_what_validation_read_enum_spellings_and_literal_text(tmp_path):
    root = _content(tmp_path)
    _edit(root / RULE, "  - entityType: Host", "  - entityType: host")
    _edit(root / RULE, "\nseverity: Medium", "\nSeverity: Medium")
    _edit(root / PARSER, "\nFunctionQuery:", "\nFunctionParams:\n  - Name: verbose\n    Type: bool\n    Default: false\nFunctionQuery:")
    report = validate_paths([root], kql=False)
    assert {p.code for p in report.warnings} >= {"enum-case", "key-case"}
    rule = next(r for r in report.content.analytic_rules if r.source.path.name == Path(RULE).name)
    assert rule.entity_mappings[0].entity_type == "Host"  # as validation's warning says CI reads it
    assert rule.severity == "Medium"
    assert report.content.parsers[0].function_parameters == "verbose:bool = false"  # as written, not Python's False


def test_unchecked_loading_spells_enums_as_validation_does(tmp_path):
    """load_content_unchecked (tests, tools) and validate build one model from the same files:
    enum names CI binds case-insensitively are spelled canonically on both paths."""
    root = _content(tmp_path)
    _edit(root / RULE, "\nseverity: Medium", "\nseverity: medium")
    _edit(root / RULE, "  - entityType: Host", "  - entityType: host")
    _edit(root / RULE, "  aggregationKind: AlertPerResult", "  aggregationKind: alertperresult")
    _edit(root / RULE, "  - CommandAndControl", "  - commandandcontrol")
    _edit(root / HUNTING, "tactics:\n  - CommandAndControl", "tactics: commandAndControl")
    report = validate_paths([root], kql=False)
    assert report.ok, report.errors
    assert sum(p.code == "enum-case" for p in report.warnings) == 5
    unchecked = load_content_unchecked(root)
    rule = next(r for r in unchecked.analytic_rules if r.source.path.name == Path(RULE).name)
    assert (rule.entity_mappings[0].entity_type, rule.event_grouping_aggregation) == ("Host", "AlertPerResult")
    assert unchecked == report.content


def test_one_discovery_for_content_roots_and_loose_folders(tmp_path):
    root = _content(tmp_path)
    (root / "stray.yaml").write_text("id: x\n", encoding="utf-8")
    laid_out = discover(root)
    assert laid_out[0].solution and laid_out[0].path == root / "solution.yaml"
    assert root / "stray.yaml" not in {f.path for f in laid_out}  # not in a content folder
    assert {f.kind for f in laid_out[1:]} == set(ContentKind) and all(f.root == root for f in laid_out)

    loose = tmp_path / "checkout" / "Detections"
    (loose / ".github").mkdir(parents=True)
    (loose / ".github" / "ci.yaml").write_text("on: push\n", encoding="utf-8")
    shutil.copy(root / RULE, loose / "rule.yaml")
    found = discover(loose)
    assert [(f.path.name, f.kind, f.solution, f.root) for f in found] == [("rule.yaml", None, False, loose)]
    assert discover(loose / "rule.yaml") == found
    assert discover(tmp_path / "missing") == []
    # inside a content root, a loose file may read only from that root
    assert discover(root / RULE)[0].root == root


def test_a_workbooks_json_is_parsed_once_per_validate(tmp_path, monkeypatch):
    """What validation checks is what the model is built from: one parse of the JSON, not two."""
    from packer.content import load

    root = _content(tmp_path)
    parsed = first_arguments(monkeypatch, load.read_workbook_json)
    report = validate_paths([root], kql=False)
    assert report.ok, report.errors
    assert [w.template_path for w in report.content.workbooks] == parsed == [root / "workbooks" / "RMMToolActivity.json"]
