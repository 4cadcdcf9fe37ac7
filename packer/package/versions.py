"""Version discipline: content that changed since a git ref must carry a higher version.

Content Hub offers an update only when an item's version (and the solution's) goes up. An
item "changed" when the canonical hash of what the package would deploy for it (its rendered
properties) differs from the same item (same kind and id) at the ref.
"""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packer.content.load import load_content_unchecked
from packer.content.model import AnalyticRule, ContentItem, ContentSet, HuntingQuery, Parser, Workbook
from packer.errors import PackerError
from packer.package.items import workbook_dependencies
from packer.bodies.properties import (
    analytic_rule_properties,
    hunting_query_properties,
    parser_properties,
    workbook_properties,
)


class VersionCheckFailed(PackerError):
    def __init__(self, ref: str, problems: list["VersionProblem"]):
        self.problems = problems
        listed = "\n  ".join(p.message for p in problems)
        super().__init__(f"{len(problems)} item(s) changed since {ref} without a higher version:\n  {listed}")


@dataclass(frozen=True)
class VersionProblem:
    kind: str
    name: str
    path: str
    old_version: str
    new_version: str

    @property
    def suggested(self) -> str:
        return bump(self.old_version)

    @property
    def message(self) -> str:
        return (f"{self.path}: {self.kind} '{self.name}' changed but its version is {self.new_version} "
                f"(was {self.old_version}); set version to {self.suggested}")


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in re.split(r"[.\-]", version.strip()))


def is_newer(new: str, old: str) -> bool:
    return version_key(new) > version_key(old)


def bump(version: str) -> str:
    """`1.0.3` -> `1.0.4`; a last part that is not a number gets `.1` appended."""
    parts = version.strip().split(".")
    if parts and parts[-1].isdigit():
        parts[-1] = str(int(parts[-1]) + 1)
        return ".".join(parts)
    return version.strip() + ".1"


def rendered(item: ContentItem) -> dict:
    """What the package deploys for an item, without its version."""
    if isinstance(item, AnalyticRule):
        return {"kind": item.kind.value, "properties": analytic_rule_properties(item)}
    if isinstance(item, HuntingQuery):
        return {"properties": hunting_query_properties(item)}
    if isinstance(item, Parser):
        return {"name": item.function_name, "properties": parser_properties(item)}
    if isinstance(item, Workbook):
        return {"properties": workbook_properties(item, ""), "description": item.description,
                "dependencies": workbook_dependencies(item)}
    raise TypeError(type(item).__name__)


def fingerprint(item: ContentItem) -> str:
    canonical = json.dumps(rendered(item), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _git(cwd: Path, *args: str) -> bytes:
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except OSError as exc:
        raise PackerError(f"cannot run git: {exc}") from None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PackerError(f"git {' '.join(args)} failed: {message[-1] if message else 'unknown error'}")
    return result.stdout


def content_at_ref(root: Path, ref: str) -> ContentSet | None:
    """The content folder as it was at `ref` (read with `git show`); None if it did not exist."""
    root = Path(root).resolve()
    try:
        top = Path(_git(root, "rev-parse", "--show-toplevel").decode().strip())
    except PackerError:
        raise PackerError(f"--check-versions compares with git history, but {root} is not in a git repository") from None
    try:
        _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except PackerError:  # --quiet: git says nothing, so say what is wrong and how to fix it
        raise PackerError(f"'{ref}' is not a commit in {top}; check the name, or fetch it first "
                          "(a shallow CI checkout needs fetch-depth: 0 or a fetch of that ref)") from None
    prefix = root.relative_to(top).as_posix()
    listing = _git(top, "ls-tree", "-r", "--name-only", "-z", ref, "--", prefix).decode("utf-8")
    names = [n for n in listing.split("\0") if n]
    if not names:
        return None
    with tempfile.TemporaryDirectory(prefix="packer-ref-") as tmp:
        for name in names:
            target = Path(tmp) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_git(top, "show", f"{ref}:{name}"))
        try:
            return load_content_unchecked(Path(tmp) / prefix)
        except (PackerError, ValueError, KeyError, TypeError) as exc:
            raise PackerError(f"the content at {ref} cannot be read for the version check: {exc}") from None


def version_problems(current: ContentSet, previous: ContentSet | None) -> list[VersionProblem]:
    if previous is None:
        return []
    old = {(type(i).__name__, i.content_id): i for i in previous.packaged}
    problems, changed = [], False
    for item in current.packaged:
        before = old.pop((type(item).__name__, item.content_id), None)
        if before is None:
            changed = True
            continue
        content_changed = fingerprint(item) != fingerprint(before)
        if content_changed or item.version != before.version:
            changed = True
        if content_changed and not is_newer(item.version, before.version):
            problems.append(VersionProblem(item.content_kind.value, item.name, str(item.source.path),
                                           before.version, item.version))
    changed = changed or bool(old)
    solution, before_solution = current.solution, previous.solution
    if changed and solution and before_solution and not is_newer(solution.version, before_solution.version):
        problems.append(VersionProblem("Solution", solution.name, str(solution.source.path),
                                       before_solution.version, solution.version))
    return problems


def check_versions(root: Path, ref: str, current: ContentSet) -> None:
    """Raise VersionCheckFailed listing every item to bump (and the solution, if anything changed)."""
    problems = version_problems(current, content_at_ref(root, ref))
    if problems:
        raise VersionCheckFailed(ref, problems)
