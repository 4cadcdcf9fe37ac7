"""Render a ValidationReport as text (for people), JSON (for machines) or SARIF 2.1.0 (for code scanning)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

from packer import __version__
from packer.validate.problems import Problem, ValidationReport

FORMATS = ("text", "json", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

# Short help per problem code (SARIF rule descriptions); codes not listed describe themselves.
RULE_HELP = {
    "file.missing": "A path given on the command line does not exist.",
    "file.unreadable": "The file cannot be read.",
    "file.binary": "The file is binary, not YAML text.",
    "file.empty": "The file is empty.",
    "file.too-large": "The file is larger than content files may be.",
    "file.encoding": "The file is not UTF-8 text.",
    "yaml.syntax": "The file is not valid YAML.",
    "yaml.not-mapping": "The file must hold a mapping of fields, not a list or a single value.",
    "yaml.duplicate-key": "A key appears twice in one mapping.",
    "yaml.too-many-values": "The YAML expands to far more values than a content file has (alias bomb?).",
    "yaml.too-deep": "The YAML is nested too deeply.",
    "key-case": "A key is spelled in another case than the schema's; CI accepts it.",
    "key-case-duplicate": "One key is written twice in different case; CI reads them as one key.",
    "file.not-content": "A YAML file in a content root lies outside its content folders, so it is not packaged.",
    "incident.grouping": "incidentConfiguration.groupingConfiguration is not a mapping.",
    "incident.lookback": "The incident grouping lookbackDuration is not a duration.",
    "incident.group-by": "An incident grouping groupBy field is not a list of names.",
    "enum-case": "A vocabulary value is spelled in another case; CI accepts it.",
    "list-as-text": "A list is written as comma-separated text.",
    "list-empty-entry": "A list has an empty entry.",
    "id.duplicate": "Two content items share an id.",
    "id.format": "The id is a GUID in an unusual form.",
    "kind.forbidden-field": "A Scheduled-only field appears on an NRT rule.",
    "kind.ignored-field": "A field the package build ignores for this kind of rule.",
    "duration.format": "queryFrequency/queryPeriod is not a duration CI can read.",
    "duration.range": "queryFrequency/queryPeriod is outside 5m..14d.",
    "duration.period-shorter": "queryPeriod is shorter than queryFrequency.",
    "duration.long-period": "A queryPeriod of 2 days or more needs queryFrequency of at least 1h.",
    "threshold.range": "triggerThreshold is outside 0..10000.",
    "technique.unknown": "The technique is not in CI's ATT&CK map.",
    "technique.tactic": "None of the technique's tactics is listed in tactics.",
    "entity.identifier": "The identifier is not valid for the entity type.",
    "entity.identifier-duplicate": "An identifier is mapped twice in one entity mapping.",
    "entity.required": "The entity mapping lacks the identifiers its type requires.",
    "entity.legacy-column": "The query uses a legacy *CustomEntity column that is not mapped.",
    "alert-override.placeholders": "Too many {{column}} placeholders in an alert override.",
    "connector.unknown": "The connector id is not in Azure-Sentinel's valid list.",
    "non-ascii": "The file contains non-ASCII characters.",
    "version.format": "The version is not X.Y.Z.",
    "version.missing": "The rule has no version.",
    "workbook.template": "The workbook JSON beside the metadata is missing or invalid.",
    "date.invalid": "The date is not a real calendar date.",
    "model.build": "The file passed the checks but could not be loaded.",
}


def render(report: ValidationReport, fmt: str, base: Path | None = None) -> str:
    base = base or Path.cwd()
    if fmt == "json":
        return render_json(report, base)
    if fmt == "sarif":
        return render_sarif(report, base)
    return render_text(report, base)


def display_path(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix() if _inside(path, base) else path.as_posix()
    except ValueError:
        return path.as_posix()


def _inside(path: Path, base: Path) -> bool:
    return path.resolve().is_relative_to(base.resolve())


def summary(report: ValidationReport) -> str:
    return (f"{report.files_checked} file(s) checked: {len(report.errors)} error(s), "
            f"{len(report.warnings)} warning(s); KQL {report.kql_status}")


def render_text(report: ValidationReport, base: Path) -> str:
    lines = []
    for p in report.problems:
        where = f"{display_path(p.path, base)}:{p.line}:{p.column}"
        lines.append(f"{where}: {p.severity}: {p.field}: {p.message}" if p.field else f"{where}: {p.severity}: {p.message}")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def _problem_json(p: Problem, base: Path) -> dict:
    return {"path": display_path(p.path, base), "line": p.line, "column": p.column, "field": p.field,
            "severity": p.severity, "code": p.code, "message": p.message}


def render_json(report: ValidationReport, base: Path) -> str:
    data = {
        "files_checked": report.files_checked,
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "kql_status": report.kql_status,
        "problems": [_problem_json(p, base) for p in report.problems],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _artifact(path: Path, base: Path) -> dict:
    if _inside(path, base):
        return {"uri": quote(display_path(path, base)), "uriBaseId": "SRCROOT"}
    return {"uri": path.resolve().as_uri()}


def _invocation(report: ValidationReport) -> dict:
    """A skipped KQL analysis is a tool notification, so code scanning shows it with the results."""
    invocation: dict = {"executionSuccessful": True}
    if report.kql_status.startswith("skipped"):
        invocation["toolExecutionNotifications"] = [
            {"level": "warning", "message": {"text": f"KQL analysis {report.kql_status}"}}]
    return invocation


def render_sarif(report: ValidationReport, base: Path) -> str:
    codes = sorted({p.code for p in report.problems})
    index = {code: i for i, code in enumerate(codes)}
    rules = [{"id": code, "name": code, "shortDescription": {"text": RULE_HELP.get(code, code)}} for code in codes]
    results = [
        {
            "ruleId": p.code,
            "ruleIndex": index[p.code],
            "level": p.severity,
            "message": {"text": f"{p.field}: {p.message}" if p.field else p.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": _artifact(p.path, base),
                "region": {"startLine": max(p.line, 1), "startColumn": max(p.column, 1)},
            }}],
        }
        for p in report.problems
    ]
    run = {
        "tool": {"driver": {"name": "sentinel-packer", "version": __version__, "rules": rules}},
        "originalUriBaseIds": {"SRCROOT": {"uri": base.resolve().as_uri() + "/"}},
        "invocations": [_invocation(report)],
        "results": results,
        "properties": {"filesChecked": report.files_checked, "kqlStatus": report.kql_status},
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, ensure_ascii=False) + "\n"
