"""Validate one content file: read, parse, pick its kind, normalise, schema, then semantic checks."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from packer.content.load import KINDS, SOLUTION_SCHEMA, workbook_json, workbook_template_path
from packer.content.yamlsource import YamlDocument, load_yaml
from packer.errors import ContentError
from packer.validate import automation, fields, rules
from packer.content.document import CiDocument, ci_view, field_name
from packer.validate.problems import ERROR, WARNING, Problem
from packer.validate.schemas import schema_problems

# A file's kind in validation is its schema's name (packer.content.load.KINDS); these have checks below.
RULE = "analytic-rule"
HUNTING = "hunting-query"
PARSER = "parser"
WORKBOOK = "workbook-metadata"
WATCHLIST = "watchlist"
AUTOMATION_RULE = "automation-rule"
SOLUTION = SOLUTION_SCHEMA
SOLUTION_SIGNATURE = frozenset({"publisherid", "offerid"})

# folder name (lower case) -> kind, for files outside a content root (e.g. an Azure-Sentinel checkout)
FOLDER_KINDS = {folder.lower(): spec.schema for spec in KINDS for folder in (spec.folder, *spec.folder_aliases)}
# lower case, as keys are compared; in registry order, the most specific first
SIGNATURES = tuple((frozenset(key.lower() for key in spec.signature), spec.schema) for spec in KINDS)
FALLBACK_KIND = HUNTING  # a file with no kind's signature: a hunting query needs no distinctive key


@dataclass
class FileResult:
    path: Path
    kind: str | None = None
    source: YamlDocument | None = None
    ci: CiDocument | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return any(p.is_error for p in self.problems)

    @property
    def content_id(self) -> str | None:
        value = self.ci.value.get("id") if self.ci else None
        return value if isinstance(value, str) else None


def folder_kind(path: Path) -> str | None:
    for part in reversed(path.parts[:-1]):
        if part.lower() in FOLDER_KINDS:
            return FOLDER_KINDS[part.lower()]
    return None


def field_kind(value: dict) -> str:
    lowered = {k.lower() for k in value}
    if lowered & SOLUTION_SIGNATURE:
        return SOLUTION
    return next((kind for signature, kind in SIGNATURES if lowered & signature), FALLBACK_KIND)


def check_file(path: Path, kind: str | None = None, root: Path | None = None) -> FileResult:
    """`kind` None: decided by folder name, else by fields. `root`: the content root, the only
    place content (this file, a workbook's JSON) is read from (packer.content.safefile)."""
    result = FileResult(path, kind)
    try:
        result.source = load_yaml(path, root=root)
    except ContentError as exc:
        result.problems.append(Problem(path, exc.line, exc.column, exc.field, ERROR, _read_code(exc.message), exc.message))
        return result
    value = result.source.value
    if not isinstance(value, dict):
        what = "a list" if isinstance(value, list) else "a single value"
        result.problems.append(Problem(path, 1, 1, "", ERROR, "yaml.not-mapping",
                                       f"the file holds {what}; a content file must be a mapping of fields (key: value)"))
        return result
    result.kind = kind or folder_kind(path) or field_kind(value)
    result.ci = ci_view(result.source, result.kind)  # as the model builders read it
    result.problems += _duplicate_keys(result.source)
    result.problems += check_document(result.kind, result.ci)
    return result


def check_document(kind: str, doc: CiDocument) -> list[Problem]:
    problems = doc.problems + schema_problems(kind, doc)
    if kind == RULE:
        scheduled = doc.value.get("kind") == "Scheduled"
        problems += rules.check_rule(doc) + fields.check_techniques(doc, tactics_must_match=scheduled)
    elif kind == HUNTING:
        problems += _check_hunting_version(doc) + fields.check_techniques(doc, tactics_must_match=False)
    elif kind == WORKBOOK:
        problems += _check_workbook_template(doc)
    elif kind == SOLUTION:
        problems += _check_dates(doc)
    elif kind == WATCHLIST:
        problems += automation.check_watchlist(doc)
    elif kind == AUTOMATION_RULE:
        problems += automation.check_automation_rule(doc)
    if kind in (RULE, HUNTING):
        entity_severity = ERROR if kind == RULE else WARNING
        problems += fields.check_entity_mappings(doc, entity_severity) + fields.check_connectors(doc)
    if kind in (RULE, HUNTING, PARSER):
        problems += fields.check_ascii(doc)
    if kind != SOLUTION:
        problems += fields.check_id_form(doc)
    return problems


def _read_code(message: str) -> str:
    for needle, code in (("outside the content folder", "file.outside-root"), ("not a regular file", "file.special"),
                         ("symlink loop", "file.link-loop"), ("not valid Unicode", "file.encoding"),
                         ("YAML syntax", "yaml.syntax"), ("YAML error", "yaml.syntax"), ("binary", "file.binary"),
                         ("empty", "file.empty"), ("no YAML document", "file.empty"), ("bytes;", "file.too-large"),
                         ("UTF-8", "file.encoding"), ("aliases expanding", "yaml.too-many-values"),
                         ("nested too deeply", "yaml.too-deep")):
        if needle in message:
            return code
    return "file.unreadable"


def _duplicate_keys(source: YamlDocument) -> list[Problem]:
    return [
        Problem(source.path, where.line, where.column, field_name(path), ERROR, "yaml.duplicate-key",
                f"key '{path[-1]}' appears more than once; YAML readers disagree on which value wins: keep one")
        for path, where in source.duplicate_keys
    ]


def _check_hunting_version(doc: CiDocument) -> list[Problem]:
    version = doc.value.get("version")
    if isinstance(version, str) and not rules.SEMVER.match(version):
        return [doc.problem(("version",), WARNING, "version.format",
                            f"'{version}' is not a semantic version X.Y.Z (e.g. 1.0.0)")]
    return []


def _check_workbook_template(doc: CiDocument) -> list[Problem]:
    template = workbook_template_path(doc)
    field_path = ("templateRelativePath",) if isinstance(doc.value.get("templateRelativePath"), str) else ()
    if not os.path.lexists(template):
        return [doc.problem(field_path, ERROR, "workbook.template", f"workbook JSON {template.name} is missing beside {doc.path.name}")]
    try:
        data = workbook_json(doc)  # the parse the model is built from
    except ContentError as exc:  # about the JSON file itself: reported at it, naming it
        return [Problem(template, exc.line, exc.column, "", ERROR, "workbook.template", f"workbook JSON: {exc.message}")]
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return [doc.problem(field_path, ERROR, "workbook.template",
                            f"{template.name} is not a workbook (expected a JSON object with an 'items' list)")]
    return []


def _check_dates(doc: CiDocument) -> list[Problem]:
    problems = []
    for name in ("firstPublishDate", "lastPublishDate"):
        text = doc.value.get(name)
        if isinstance(text, str) and len(text) == 10:
            try:
                date.fromisoformat(text)
            except ValueError:
                problems.append(doc.problem((name,), ERROR, "date.invalid", f"'{text}' is not a real date (YYYY-MM-DD)"))
    return problems
