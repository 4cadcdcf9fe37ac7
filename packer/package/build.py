"""`build`: write the solution package and the standalone templates, checked and deterministic.

Output under `out`:
  Package/mainTemplate.json, Package/createUiDefinition.json, Package/testParameters.json,
  Package/<version>.zip (the two package files at the zip root),
  arm/<kind>/<item>.json (one standalone ARM template per item; watchlists and automation rules
  only there: they are not in the package).
Every template is checked (packer.package.checks) before anything is written.
"""
from __future__ import annotations

import json
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from packer.content.model import ContentSet
from packer.errors import ConfigError, PackerError
from packer.package.archive import package_zip
from packer.package.checks import check_create_ui_text, check_template_text
from packer.package.inputs import PackageInput, from_content_set
from packer.package.main_template import render_package
from packer.package.standalone import FOLDERS as STANDALONE_FOLDERS, standalone_templates


PACKAGE_VERSION = re.compile(r"\d+\.\d+\.\d+")


@dataclass(frozen=True)
class BuildResult:
    out: Path
    solution_name: str
    version: str
    files: tuple[Path, ...]  # every file written, relative to `out`
    warnings: tuple[str, ...]  # content not packaged, or packaged despite a problem, by name


def to_json(value: object) -> str:
    """The one serialisation of every output: 2-space indent, UTF-8 kept, final newline."""
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def render_files(package: PackageInput, version: str | None = None) -> dict[str, bytes]:
    """Every output file (relative path -> bytes), checked; nothing written."""
    version = version or package.solution.version
    main, ui = render_package(package, version)
    main_text, ui_text = to_json(main), to_json(ui)
    check_template_text("Package/mainTemplate.json", main_text)
    check_create_ui_text("Package/createUiDefinition.json", ui_text, main)
    files = {
        "Package/mainTemplate.json": main_text.encode("utf-8"),
        "Package/createUiDefinition.json": ui_text.encode("utf-8"),
        "Package/testParameters.json": to_json(main["parameters"]).encode("utf-8"),
    }
    files[f"Package/{version}.zip"] = package_zip({
        "mainTemplate.json": files["Package/mainTemplate.json"],
        "createUiDefinition.json": files["Package/createUiDefinition.json"],
    })
    for path, template in standalone_templates((*package.entries, *package.standalone_only)).items():
        text = to_json(template)
        check_template_text(path, text)
        files[path] = text.encode("utf-8")
    return files


def write_files(out: Path, files: dict[str, bytes]) -> tuple[Path, ...]:
    """Write the files; stale standalone templates of items no longer present are removed."""
    written = []
    for relative in sorted(files):
        target = out / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files[relative])
        except OSError as exc:
            raise PackerError(f"cannot write {target}: {exc.strerror or exc}") from None
        written.append(Path(relative))
    # only the folders build writes: `--out .` must not delete a repository's own arm/ templates
    for folder in sorted(STANDALONE_FOLDERS.values()):
        for stale in sorted((out / "arm" / folder).glob("*.json")):
            if stale.relative_to(out).as_posix() not in files:
                stale.unlink()
    return tuple(written)


def build_package(package: PackageInput, out: Path, version: str | None = None) -> BuildResult:
    version, files = _rendered(package, version)
    return BuildResult(Path(out), package.solution.name, version, write_files(Path(out), files), package.skipped)


def _rendered(package: PackageInput, version: str | None) -> tuple[str, dict[str, bytes]]:
    version = version or package.solution.version
    if not PACKAGE_VERSION.fullmatch(version):  # it also names the zip: never a path
        raise PackerError(f"package version '{version}' is not X.Y.Z (e.g. 3.0.0); Content Hub compares versions "
                          "as three numbers. Set it in solution.yaml (Version in the data file) or --solution-version")
    return version, render_files(package, version)


def _package_of(content: ContentSet, version: str | None) -> tuple[PackageInput, str, dict[str, bytes]]:
    package = from_content_set(content)
    return (package, *_rendered(package, version))


def build_content(root: Path, out: Path, version: str | None = None, kql: bool = True,
                  check_versions_against: str | None = None, strict: bool = False) -> BuildResult:
    """Validate a content folder (packer.validate; `strict`: warnings fail too) and build its package.

    The package is rendered on another thread while the KQL worker analyses the queries (they
    are independent, and each takes a core); it is written only once validation passed.
    With `check_versions_against` (a git ref), fail before writing anything when an item
    changed since that ref without a higher version (packer.package.versions).
    """
    from packer.validate import load_content

    if Path(root).is_file():  # a lone solution.yaml would build an empty package
        raise ConfigError(f"--content {root} is a file; give the content folder that holds solution.yaml")
    with ThreadPoolExecutor(1, thread_name_prefix="render") as pool:
        rendering: list[Future] = []
        content_set = load_content(Path(root), kql=kql, strict=strict,
                                   before_kql=lambda content: rendering.append(pool.submit(_package_of, content, version)))
        package, version, files = rendering[0].result()  # validation passed: what was rendered is final
    if check_versions_against:
        from packer.package.versions import check_versions

        check_versions(Path(root), check_versions_against, content_set)
    return BuildResult(Path(out), package.solution.name, version, write_files(Path(out), files), package.skipped)


def build_solution_input(data_file: Path, out: Path, workbooks_metadata: Path | None = None,
                         version: str | None = None) -> BuildResult:
    """Build from Microsoft's input format (Data/Solution_X.json)."""
    from packer.package.ms_input import read_solution_input

    return build_package(read_solution_input(Path(data_file), workbooks_metadata), out, version)
