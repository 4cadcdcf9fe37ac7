"""What a build says: the package built and its files (stdout), and what it skipped (stderr)."""
from __future__ import annotations


def build_lines(result) -> list[str]:
    """`result`: a packer.package.build BuildResult."""
    lines = [f"built {result.solution_name} {result.version}: {len(result.files)} files in {result.out}"]
    return lines + [f"  {path.as_posix()}" for path in result.files]


def build_warnings(result) -> list[str]:
    # each warning says itself what happened (not packaged, or packaged despite a problem)
    return [f"warning: {warning}" for warning in result.warnings]


def build_json(result) -> str:
    """The build for scripts: what was built and where (`build --format json`)."""
    import json

    return json.dumps({"solution": result.solution_name, "version": result.version, "out": str(result.out),
                       "files": [path.as_posix() for path in result.files], "warnings": list(result.warnings)},
                      indent=2, ensure_ascii=False)
