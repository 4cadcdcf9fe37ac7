"""Conformance with real Azure-Sentinel content (../shared/corpus/rules): accept what CI accepts.

Every real file we reject is listed in tests/data/corpus_rejections.tsv with its error codes and
a reason; the list must match exactly, so a new rejection (or a fixed one) fails this test.
"""
from __future__ import annotations

import csv
import datetime
from collections import defaultdict

import fastjsonschema
import pytest
from jsonschema import Draft202012Validator

from conftest import PROJECT_ROOT, kql_or_skip, shared_path
from packer.content.yamlsource import load_yaml
from packer.validate import validate_paths
from packer.validate.schemas import schema

REJECTIONS = PROJECT_ROOT / "tests" / "data" / "corpus_rejections.tsv"
KQL_ONLY = "rmm_DWService_createproc.yaml"  # valid YAML and shape; its defect is a KQL syntax error


def _listed_rejections() -> dict[tuple[str, str], set[str]]:
    with REJECTIONS.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert all(row["reason"].strip() for row in rows), "every rejection needs a reason"
    return {(row["folder"], row["file"]): set(row["error_codes"].split(",")) for row in rows}


@pytest.fixture(scope="module")
def corpus_report():
    rules = shared_path("corpus", "rules")
    return rules, validate_paths([rules / "analytic", rules / "hunting"], kql=False)


def test_at_least_98_percent_of_real_rules_and_hunting_queries_pass(corpus_report):
    rules, report = corpus_report
    total = sum(1 for folder in ("analytic", "hunting") for p in (rules / folder).rglob("*.yaml"))
    rejected = {p.path for p in report.errors}
    assert report.files_checked == total
    assert (total - len(rejected)) / total >= 0.98, f"{len(rejected)} of {total} rejected"


def test_rejected_real_files_are_exactly_the_listed_ones(corpus_report):
    rules, report = corpus_report
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for problem in report.errors:
        found[(problem.path.parent.name, problem.path.name)].add(problem.code)
    assert dict(found) == _listed_rejections()


def test_every_accepted_real_file_is_loaded_into_the_content_set(corpus_report):
    rules, report = corpus_report
    accepted = report.files_checked - len({p.path for p in report.errors})
    content = report.content
    assert len(content.analytic_rules) + len(content.hunting_queries) == accepted
    assert any(t == "CommandAndControl" for r in content.analytic_rules for t in r.tactics)


def test_every_invalid_file_is_rejected():
    invalid = shared_path("corpus", "rules", "invalid")
    report = validate_paths([invalid], kql=False)
    rejected = {p.path.name for p in report.errors}
    expected = {p.name for p in invalid.iterdir() if p.suffix == ".yaml"} - {KQL_ONLY}
    assert expected <= rejected
    assert KQL_ONLY not in rejected, "its only defect is KQL; without KQL it must pass"
    non_ascii = [p for p in report.warnings if p.path.name == KQL_ONLY and p.code == "non-ascii"]
    assert non_ascii, "its non-ASCII 'OÜ' is reported, as a warning only"


def test_yaml_syntax_cases_report_line_and_column():
    invalid = shared_path("corpus", "rules", "invalid")
    report = validate_paths([invalid / "rmm_Kaseya_netconn.yaml"], kql=False)
    problem = report.errors[0]
    assert problem.code == "yaml.syntax" and problem.line > 1


def test_kql_only_defect_is_rejected_when_kql_runs():
    path = shared_path("corpus", "rules", "invalid", KQL_ONLY)
    kql_or_skip()
    report = validate_paths([path], kql=True)
    assert report.kql_status.startswith("checked"), report.kql_status
    assert report.errors and all(p.path.name == KQL_ONLY for p in report.errors)


def _as_an_editor_reads_it(value):
    """The YAML language server reads YAML 1.2 core types: dates stay text."""
    if isinstance(value, dict):
        return {k: _as_an_editor_reads_it(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_an_editor_reads_it(v) for v in value]
    return value.isoformat() if isinstance(value, (datetime.date, datetime.datetime)) else value


@pytest.mark.parametrize("folder", ["analytic", "hunting"])
def test_files_without_problems_also_pass_the_schema_in_an_editor(folder):
    """`# yaml-language-server: $schema=` must not flag a file that validate accepts without warnings."""
    root = shared_path("corpus", "rules", folder)
    report = validate_paths([root], kql=False)
    flagged = {p.path for p in report.problems}
    kind = "analytic-rule" if folder == "analytic" else "hunting-query"
    clean = [path for path in sorted(root.glob("*.yaml")) if path not in flagged]
    assert len(clean) > 50
    for path in clean:
        errors = list(Draft202012Validator(schema(kind)).iter_errors(_as_an_editor_reads_it(load_yaml(path).value)))
        assert errors == [], f"{path.name}: {[e.message for e in errors]}"


def test_fast_schema_check_agrees_with_jsonschema_on_every_real_file():
    """validate asks fastjsonschema first and jsonschema only for rejected files: they must agree."""
    from packer.content.document import ci_document
    from packer.validate.files import field_kind, folder_kind
    from packer.validate.schemas import fast_check, keys, validator

    rules = shared_path("corpus", "rules")
    checked = 0
    for path in sorted(rules.rglob("*.yaml")):
        try:
            source = load_yaml(path)
        except Exception:
            continue  # the YAML syntax cases
        kind = folder_kind(path) or field_kind(source.value)
        for name in {kind, "analytic-rule", "hunting-query"}:
            value = ci_document(source, keys(name)).value
            try:
                fast_check(name)(value)
                fast_ok = True
            except fastjsonschema.JsonSchemaValueException:
                fast_ok = False
            assert fast_ok == validator(name).is_valid(value), f"{path.name} as {name}"
            checked += 1
    assert checked > 500
