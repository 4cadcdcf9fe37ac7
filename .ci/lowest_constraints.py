"""Print pip constraints pinning every direct dependency of pyproject.toml to its floor.

`pip install -c <(python .ci/lowest_constraints.py) -e '.[test]'` then installs the oldest
versions the project claims to support, so a floor that is too low fails a CI job instead of a
user's install (the `lowest-dependencies` job of .github/workflows/ci.yml)."""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

FLOOR = re.compile(r"^\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*>=\s*([^,;\s]+)")


def floors(pyproject: Path) -> dict[str, str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    found: dict[str, str] = {}
    for requirement in requirements:
        match = FLOOR.match(requirement)
        if not match:
            sys.exit(f"{pyproject}: {requirement!r} has no '>=' floor")
        found[match.group(1).lower()] = match.group(3)
    return found


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    for name, version in sorted(floors(root / "pyproject.toml").items()):
        print(f"{name}=={version}")
