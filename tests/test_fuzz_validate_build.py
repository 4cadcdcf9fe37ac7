"""Property-based fuzzing of validate and build (issue 14): whatever a content file holds,
validate reports problems or succeeds, and build succeeds or refuses with a PackerError, never a
traceback or a hang. Examples are bounded (a few seconds in all); the derandomised database-less
settings keep runs reproducible."""
from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packer.errors import PackerError
from packer.package.build import build_content
from packer.validate import validate_paths
from tests.conftest import CONTENT
from tests.test_validate_rules import BASE_HUNTING, BASE_RULE

EXAMPLE_LIMIT_S = 20  # a hang is the defect being looked for; a normal example takes milliseconds
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

FOLDERS = {"analytic-rules": BASE_RULE, "hunting-queries": BASE_HUNTING,
           "parsers": (CONTENT / "parsers" / "RMMToolActivity.yaml").read_text(encoding="utf-8"),
           "workbooks": (CONTENT / "workbooks" / "RMMToolActivity.yaml").read_text(encoding="utf-8")}

# JSON-like values, with text that may hold any code point, lone surrogates included (the
# text strategy tends to pair them up)
lone_surrogates = st.tuples(st.text(max_size=3), st.characters(categories=["Cs"]), st.text(max_size=3)).map("".join)
any_text = st.text(st.characters() | st.characters(categories=["Cs"]), max_size=30) | lone_surrogates
scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | any_text
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)


@st.composite
def mutated_yaml(draw) -> tuple[str, str]:
    """A valid file of some kind with fields replaced, added or removed, dumped as YAML."""
    folder = draw(st.sampled_from(sorted(FOLDERS)))
    data = yaml.safe_load(FOLDERS[folder])
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(data)) | st.text(min_size=1, max_size=15))
        if draw(st.booleans()) and key in data:
            del data[key]
        else:
            data[key] = draw(values)
    return folder, yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


raw_files = st.tuples(st.sampled_from(sorted(FOLDERS)),
                      st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8")))
panels = st.dictionaries(st.sampled_from(["type", "content", "name", "query", "title"]), any_text | values, max_size=4)
workbook_json = st.lists(panels | values, max_size=4).map(
    lambda items: json.dumps({"version": "Notebook/1.0", "items": items}, ensure_ascii=True))


@pytest.fixture
def hang_guard():
    def timeout(signum, frame):
        raise TimeoutError(f"an example took over {EXAMPLE_LIMIT_S} s: a hang")

    previous = signal.signal(signal.SIGALRM, timeout)
    yield lambda: signal.alarm(EXAMPLE_LIMIT_S)
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    if root.exists():
        shutil.rmtree(root)
    for folder in FOLDERS:
        (root / folder).mkdir(parents=True)
    shutil.copy(CONTENT / "solution.yaml", root / "solution.yaml")
    return root


def _validate_and_build(root: Path) -> None:
    report = validate_paths([root], kql=False)
    for problem in report.problems:
        assert problem.line >= 1 and problem.message, problem
    out = root.parent / "dist"
    shutil.rmtree(out, ignore_errors=True)
    try:
        build_content(root, out, kql=False)
    except PackerError:
        assert report.errors or not out.exists(), "build refused content that validate accepted"
        return
    assert not report.errors, "build accepted content that validate rejected"


@SETTINGS
@given(case=mutated_yaml())
def test_mutated_content_files_give_problems_or_a_package(tmp_path, hang_guard, case):
    folder, text = case
    root = _root(tmp_path)
    (root / folder / "fuzz.yaml").write_text(text, encoding="utf-8")
    if folder == "workbooks":
        shutil.copy(CONTENT / "workbooks" / "RMMToolActivity.json", root / "workbooks" / "RMMToolActivity.json")
    hang_guard()
    _validate_and_build(root)


@SETTINGS
@given(case=raw_files)
def test_arbitrary_bytes_give_problems_never_a_traceback(tmp_path, hang_guard, case):
    folder, data = case
    root = _root(tmp_path)
    (root / folder / "fuzz.yaml").write_bytes(data)
    hang_guard()
    _validate_and_build(root)


@SETTINGS
@given(text=workbook_json)
def test_any_workbook_json_gives_problems_or_a_package(tmp_path, hang_guard, text):
    root = _root(tmp_path)
    shutil.copy(CONTENT / "workbooks" / "RMMToolActivity.yaml", root / "workbooks" / "RMMToolActivity.yaml")
    (root / "workbooks" / "RMMToolActivity.json").write_text(text, encoding="utf-8")
    hang_guard()
    _validate_and_build(root)
