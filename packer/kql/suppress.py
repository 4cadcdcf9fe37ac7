"""Per-rule suppression of KQL diagnostics, reviewable in Git.

Two ways, both naming a Kusto diagnostic code and a reason:
- a YAML comment on the `query:` line of the item, or on the comment lines right above it:
      query: |  # sentinel-packer: ignore KS142 -- columnifexists() column is dynamic at run time
  (the item's file itself; one comment per code);
- `kql-suppressions.yaml` in the content root (beside analytic-rules/), for files kept
  byte-identical to their source (Microsoft's rules):
      - id: 38fd9d1a-...      # the item's id (a workbook's or parser's file name without extension)
        code: KS142
        reason: columnifexists() column is dynamic at run time

A suppressed diagnostic is not reported. A suppression without a reason is an error, and one
that matches no diagnostic of its item (the query was fixed, or the code is wrong) is a warning,
so none outlives its cause unseen.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import yaml

from packer.problems import ERROR, WARNING, Problem

PROJECT_FILE = "kql-suppressions.yaml"
_COMMENT = re.compile(r"#\s*sentinel-packer:\s*ignore\b\s*(?P<code>[A-Za-z]+\d+)?\s*(?:--\s*(?P<reason>.*?))?\s*$")
_REASON_MIN = 10  # characters: "-- ok" is not a reason a reviewer can judge


@dataclass(frozen=True)
class Suppression:
    """Ignore diagnostic `code` in the queries of the item at `item_path`; declared at path:line."""

    code: str
    reason: str
    item_path: Path
    path: Path
    line: int
    field: str = "query"

    def problem_if_unexplained(self) -> Problem | None:
        if self.code and len(self.reason.strip()) >= _REASON_MIN:
            return None
        return Problem(self.path, self.line, 1, self.field, ERROR, "kql.suppression",
                       f"suppression of {self.code or '(no code)'} needs a code and a reason a reviewer can judge: "
                       f"`# sentinel-packer: ignore KS142 -- why this diagnostic is wrong for this query`")

    def unused_problem(self) -> Problem:
        return Problem(self.path, self.line, 1, self.field, WARNING, "kql.suppression-unused",
                       f"suppression of {self.code} matches no diagnostic of {self.item_path.name}: remove it")


def comment_suppressions(item) -> list[Suppression]:
    """Suppressions written as YAML comments on the item's `query:` line or just above it."""
    path: Path = item.source.path
    if path.suffix.lower() not in (".yaml", ".yml"):
        return []
    key_line = item.source.line_of("query") if getattr(item, "query", None) is not None else 0
    if key_line <= 0:
        return []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    found = []
    number = key_line
    while number >= 1:
        text = lines[number - 1] if number <= len(lines) else ""
        if number < key_line and not text.lstrip().startswith("#"):
            break
        match = _COMMENT.search(text)
        if match:
            found.append(Suppression((match["code"] or "").upper(), match["reason"] or "", path, path, number))
        number -= 1
    return found


def project_suppressions(root: Path, items: Iterable) -> tuple[list[Suppression], list[Problem]]:
    """Suppressions listed in <root>/kql-suppressions.yaml, matched to items by id; a malformed
    entry, or one naming no item, is a problem of that file."""
    path = root / PROJECT_FILE
    if not path.is_file():
        return [], []
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [], [Problem(path, (mark.line + 1) if mark else 1, (mark.column + 1) if mark else 1, "", ERROR,
                            "kql.suppression", f"not valid YAML: {exc}")]
    if not isinstance(entries, list):
        return [], [Problem(path, 1, 1, "", ERROR, "kql.suppression", "must be a list of {id, code, reason}")]
    by_id = {str(_item_id(item)).lower(): item for item in items}
    suppressions, problems = [], []
    lines = _entry_lines(path)
    for index, entry in enumerate(entries):
        line = lines[index] if index < len(lines) else 1
        if not isinstance(entry, dict) or not entry.get("id") or not entry.get("code"):
            problems.append(Problem(path, line, 1, f"[{index}]", ERROR, "kql.suppression",
                                    "each entry needs `id` (the item's id), `code` (e.g. KS142) and `reason`"))
            continue
        item = by_id.get(str(entry["id"]).lower())
        if item is None:
            problems.append(Problem(path, line, 1, f"[{index}].id", WARNING, "kql.suppression-unused",
                                    f"no item with id {entry['id']} in this content: remove the entry"))
            continue
        suppressions.append(Suppression(str(entry["code"]).upper(), str(entry.get("reason") or ""),
                                        item.source.path, path, line, f"[{index}]"))
    return suppressions, problems


def _item_id(item) -> str:
    return getattr(item, "id", None) or item.source.path.stem


def _entry_lines(path: Path) -> list[int]:
    """1-based line of each top-level list entry (`- ` at the start of a line)."""
    text = path.read_text(encoding="utf-8-sig").splitlines()
    return [n for n, line in enumerate(text, 1) if line.startswith("-")]
