"""Inline annotations (`::error file=...,line=...::message`) and a Markdown digest from SARIF.

SARIF is what `sentinel-packer validate --format sarif` writes and what code scanning reads;
deriving annotations from that one file keeps the two views of the findings identical.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from packer.errors import ConfigError

# SARIF levels to workflow-command levels; SARIF's default level is "warning" (spec 3.27.10).
_COMMAND_BY_LEVEL = {"error": "error", "warning": "warning", "note": "notice", "none": "notice"}


@dataclass(frozen=True)
class Finding:
    level: str  # error | warning | note | none
    rule_id: str
    message: str
    file: str | None  # relative to the workspace root when it lies inside it
    line: int | None
    column: int | None
    end_line: int | None
    end_column: int | None


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def warning_command(title: str, message: str) -> str:
    """A `::warning title=...::message` line not tied to a file."""
    return f"::warning title={_escape_property(title)}::{_escape_data(message)}"


def notice_command(title: str, message: str) -> str:
    """A `::notice title=...::message` line not tied to a file."""
    return f"::notice title={_escape_property(title)}::{_escape_data(message)}"


def workflow_command(finding: Finding) -> str:
    """The `::error ...::` line for one finding (escaped as the Actions toolkit does)."""
    command = _COMMAND_BY_LEVEL.get(finding.level, "warning")
    properties = []
    if finding.file:
        properties.append(("file", finding.file))
        for key, value in (("line", finding.line), ("col", finding.column),
                           ("endLine", finding.end_line), ("endColumn", finding.end_column)):
            if value is not None:
                properties.append((key, str(value)))
    if finding.rule_id:
        properties.append(("title", finding.rule_id))
    props = ",".join(f"{key}={_escape_property(value)}" for key, value in properties)
    return f"::{command}{' ' + props if props else ''}::{_escape_data(finding.message)}"


def _base_uris(run: dict) -> dict[str, str]:
    bases = run.get("originalUriBaseIds") or {}
    return {name: (entry or {}).get("uri", "") for name, entry in bases.items()}


def _local_path(uri: str, base_id: str | None, bases: dict[str, str], workspace: Path) -> str:
    """A path relative to `workspace` when the artifact lies inside it, else as given."""
    if base_id and bases.get(base_id) and "://" not in uri:
        uri = bases[base_id].rstrip("/") + "/" + uri
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
    elif parsed.scheme:
        return uri
    else:
        path = Path(unquote(uri))
    if path.is_absolute():
        try:
            return path.resolve().relative_to(workspace.resolve()).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix()


def _finding(result: dict, bases: dict[str, str], workspace: Path) -> Finding:
    message = (result.get("message") or {}).get("text") or ""
    file = line = column = end_line = end_column = None
    locations = result.get("locations") or []
    physical = (locations[0] or {}).get("physicalLocation") if locations else None
    if physical:
        artifact = physical.get("artifactLocation") or {}
        if artifact.get("uri"):
            file = _local_path(artifact["uri"], artifact.get("uriBaseId"), bases, workspace)
        region = physical.get("region") or {}
        line, column = region.get("startLine"), region.get("startColumn")
        end_line, end_column = region.get("endLine"), region.get("endColumn")
    return Finding(result.get("level", "warning"), result.get("ruleId", ""), message,
                   file, line, column, end_line, end_column)


def read_sarif(path: Path, workspace: Path | None = None) -> list[Finding]:
    """Every result of every run in a SARIF log, in file order."""
    try:
        log = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the SARIF log ({exc}); did validate run with --format sarif?") from exc
    root = workspace or Path.cwd()
    findings = []
    for run in log.get("runs") or []:
        bases = _base_uris(run)
        findings.extend(_finding(result, bases, root) for result in run.get("results") or [])
    return findings


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def findings_markdown(findings: list[Finding], limit: int = 50) -> str:
    """A job-summary section: counts per level and the first `limit` findings."""
    errors = sum(1 for f in findings if f.level == "error")
    warnings = sum(1 for f in findings if f.level == "warning")
    notes = len(findings) - errors - warnings
    verdict = "failed" if errors else "passed"
    lines = [f"### sentinel-packer validate: {verdict}", "",
             f"{errors} error(s), {warnings} warning(s), {notes} note(s).", ""]
    if findings:
        lines += ["| Level | Location | Rule | Message |", "| --- | --- | --- | --- |"]
        for f in findings[:limit]:
            where = f"{f.file}:{f.line}" if f.file and f.line else (f.file or "")
            lines.append(f"| {f.level} | `{_cell(where)}` | {_cell(f.rule_id)} | {_cell(f.message)} |")
        if len(findings) > limit:
            lines.append(f"\n…and {len(findings) - limit} more (see the code scanning alerts or the SARIF artifact).")
    return "\n".join(lines) + "\n"
