"""Validate files, folders or a whole content root; build the ContentSet of what passed."""
from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Callable, Iterable

from packer.content.load import (
    FOLDERS, KINDS, SOLUTION_FILE, YAML_SUFFIXES, content_set, discover, solution_from, yaml_files,
)
from packer.content.model import ContentKind, ContentSet, KindSpec
from packer.content.safefile import safe_resolve
from packer.errors import ValidationFailed
from packer.validate.files import SOLUTION, FileResult, check_file
from packer.validate.problems import ERROR, WARNING, Problem, ValidationReport

_CONTENT_KIND_TO_SCHEMA: dict[ContentKind, str] = {spec.kind: spec.schema for spec in KINDS}
_SCHEMA_TO_SPEC: dict[str, KindSpec] = {spec.schema: spec for spec in KINDS}
_NOT_HEX = re.compile(r"[^0-9a-f]")
INVENTORY_FILE_NAMES = ("targets.yaml", "targets.yml")


def validate_paths(paths: Iterable[Path], kql: bool = True, require_kql: bool | None = None,
                   strict: bool = False,
                   before_kql: Callable[[ContentSet], None] | None = None) -> ValidationReport:
    """Check every file under `paths` and report all problems at once; never raises for bad input
    (a broken KQL analysis raises KqlFailed; `require_kql`: see packer.kql.check_content).
    `strict`: every warning is an error (unknown keys, case variants, non-ASCII text...), and a
    file with one is left out of the content. `before_kql` is called with the content when the
    files had no errors, just before the KQL pass (build starts rendering then, on another
    thread, while the worker analyses): if the pass finds no error, that content is final.

    A folder holding solution.yaml is a content root (kinds come from its layout); other files
    and folders get their kind from the folder name (analytic rules, hunting queries...) or fields.
    """
    report = ValidationReport()
    results: list[_Checked] = []
    inventories: list[Path] = []
    paths = [Path(p) for p in paths]
    if kql and paths:
        from packer.kql import prestart_for

        prestart_for(paths[0])  # the worker loads while the YAML is read
    for path, kind, root in _targets(paths, report.problems):
        if kind is None and _is_inventory(path):  # the fleet inventory, not content
            from packer.targets import validate_inventory

            report.problems += validate_inventory(path)
            inventories.append(path)
            continue
        results.append(_checked(check_file(path, kind, root)))
    report.files_checked = len(results) + len(inventories)
    report.problems += _duplicate_ids(results)
    for result in results:
        report.problems += result.problems
        if result.build_problem is not None:
            report.problems.append(result.build_problem)
    report.content = _build_content([r for r in results if not r.has_errors])
    report.kql_status = "skipped: disabled (--no-kql)"
    if before_kql is not None and not report.errors:
        before_kql(report.content)
    if kql:
        kql_problems, report.kql_status, facts = _run_kql(report.content, require_kql)
        if kql_problems:
            report.problems += kql_problems
            failed = {p.path for p in kql_problems if p.is_error}
            report.content = _build_content([r for r in results if not r.has_errors and r.path not in failed])
        report.content = dataclasses.replace(report.content, query_facts=facts)  # each query analysed once
    if report.content.items:  # an inventory validated with content: its overlays must fit that content
        from packer.targets.load import overlay_problems

        for path in inventories:
            report.problems += overlay_problems(path, report.content)
    if strict and report.warnings:
        report.problems = [dataclasses.replace(p, severity=ERROR) for p in report.problems]
        failed = {p.path for p in report.problems}
        report.content = dataclasses.replace(_build_content([r for r in results if r.path not in failed]),
                                             query_facts=report.content.query_facts)
    report.problems.sort(key=lambda p: (str(p.path), p.line, p.column, p.severity, p.code, p.message))
    return report


def _is_inventory(path: Path) -> bool:
    """targets.yaml by name, or any YAML file with an inventory's keys (tenants and workspaces)."""
    if path.name.lower() in INVENTORY_FILE_NAMES:
        return True
    from packer.targets.load import looks_like_inventory

    return path.suffix.lower() in YAML_SUFFIXES and looks_like_inventory(path)


def load_content(root: Path, kql: bool = True, require_kql: bool | None = None, strict: bool = False,
                 before_kql: Callable[[ContentSet], None] | None = None) -> ContentSet:
    """The validated ContentSet of a content root; raises ValidationFailed (with the report) on any
    error (with `strict`, on any warning too). `before_kql`: see validate_paths."""
    report = validate_paths([root], kql=kql, require_kql=require_kql, strict=strict, before_kql=before_kql)
    if report.errors:
        raise ValidationFailed(len(report.errors), report)
    return report.content


def _targets(paths: list[Path], problems: list[Problem]) -> list[tuple[Path, str | None, Path]]:
    """(file, kind, content root) per file to check (packer.content.load.discover finds them);
    the root is the only place it is read from."""
    seen: set[Path] = set()
    targets: list[tuple[Path, str | None, Path]] = []
    for path in paths:
        if not os.path.lexists(path):
            problems.append(Problem(path, 1, 1, "", ERROR, "file.missing", "no such file or folder"))
            continue
        for found in discover(path):
            key = safe_resolve(found.path)
            if key not in seen:
                seen.add(key)
                targets.append((found.path, SOLUTION if found.solution else _CONTENT_KIND_TO_SCHEMA.get(found.kind),
                                found.root))
        if path.is_dir() and (path / SOLUTION_FILE).is_file():
            problems += _outside_content_folders(path, seen)
    return targets


def _outside_content_folders(root: Path, discovered: set[Path]) -> list[Problem]:
    """YAML in a content root that no content folder holds is neither validated nor packaged: say so."""
    return [
        Problem(file, 1, 1, "", WARNING, "file.not-content",
                f"not in a content folder ({', '.join(f'{name}/' for name in FOLDERS)}), so it is neither "
                "validated nor packaged; move it into one, or out of the content folder")
        for file in yaml_files(root) if safe_resolve(file) not in discovered and not _is_inventory(file)
    ]


def _id_key(content_id: str) -> str:
    """System.Guid equality: case, braces and dashes do not matter."""
    return _NOT_HEX.sub("", content_id.lower())


@dataclasses.dataclass(frozen=True)
class _Checked:
    """What validation keeps of a checked file: its problems, its id, and its model item (or
    solution) built at once. The parsed document and CI view are dropped file by file, which
    keeps memory flat however many files a run checks."""

    path: Path
    problems: list[Problem]
    has_errors: bool
    content_id: str | None = None
    id_position: tuple[int, int] = (1, 1)
    kind: ContentKind | None = None
    built: object | None = None  # the model item, or the Solution for solution.yaml
    build_problem: Problem | None = None


def _checked(result: FileResult) -> _Checked:
    content_id = result.content_id
    where = result.ci.position(("id",)) if content_id else None
    checked = _Checked(result.path, result.problems, result.has_errors, content_id,
                       (where.line, where.column) if where else (1, 1))
    if result.has_errors or result.kind is None or result.ci is None:
        return checked
    spec = _SCHEMA_TO_SPEC.get(result.kind)
    kind = spec.kind if spec is not None else None
    try:  # from the CI view validation judged: the file is read one way
        built = solution_from(result.ci) if spec is None else spec.builder(result.ci)
    except Exception as exc:  # a gap between the checks and the model: report it, never a traceback
        return dataclasses.replace(checked, build_problem=Problem(
            result.path, 1, 1, "", ERROR, "model.build",
            f"passed validation but could not be loaded ({type(exc).__name__}: {exc}); please report this"))
    return dataclasses.replace(checked, kind=kind, built=built)


def _duplicate_ids(results: list[_Checked]) -> list[Problem]:
    first: dict[str, _Checked] = {}
    problems = []
    for result in results:
        content_id = result.content_id
        if not content_id or len(_id_key(content_id)) != 32:
            continue
        other = first.setdefault(_id_key(content_id), result)
        if other is not result:
            problems.append(Problem(result.path, *result.id_position, "id", ERROR, "id.duplicate",
                                    f"id {content_id} is already used by {other.path}; every item needs its own GUID"))
    return problems


def _build_content(results: list[_Checked]) -> ContentSet:
    solution = None
    items: dict[ContentKind, list] = {spec.kind: [] for spec in KINDS}
    for result in results:
        if result.built is None:
            continue
        if result.kind is None:
            solution = result.built
        else:
            items[result.kind].append(result.built)
    return content_set(solution, items)


def _run_kql(content: ContentSet, require: bool | None) -> tuple[list[Problem], str, dict]:
    """KQL analysis lives in packer.kql. It needs Node.js and the Kusto.Language package, whose
    absence analyse_content reports as a skip; an ImportError here is a defect, never a skip.
    Also returns what each query reads (packer.content.model.QueryFacts), for plan and doctor."""
    from packer.kql import analyse_content

    result = analyse_content(content.packaged, require=require)
    return result.problems, result.status, result.facts
