"""Azure Pipelines logging commands (`##vso[task.logissue ...]`) for validation findings.

The findings come from the SARIF log `validate --format sarif` writes, as for GitHub's
annotations (packer.github.annotations.read_sarif), so both CI systems show the same list."""
from __future__ import annotations

from packer.github.annotations import Finding

_TYPE_BY_LEVEL = {"error": "error", "warning": "warning"}


def _escape(text: str) -> str:
    """The escaping the Azure Pipelines agent undoes (azure-pipelines-task-lib's escapedata)."""
    return (text.replace("%", "%AZP25").replace(";", "%3B").replace("\r", "%0D").replace("\n", "%0A")
            .replace("]", "%5D"))


def logissue_command(finding: Finding) -> str | None:
    """`##vso[task.logissue type=error;sourcepath=...;linenumber=...;columnnumber=...;code=...]message`;
    None for notes, which Azure Pipelines has no issue type for."""
    kind = _TYPE_BY_LEVEL.get(finding.level)
    if kind is None:
        return None
    properties = [("type", kind)]
    if finding.file:
        properties.append(("sourcepath", finding.file))
        if finding.line is not None:
            properties.append(("linenumber", str(finding.line)))
        if finding.column is not None:
            properties.append(("columnnumber", str(finding.column)))
    if finding.rule_id:
        properties.append(("code", finding.rule_id))
    props = ";".join(f"{key}={_escape(value)}" for key, value in properties)
    return f"##vso[task.logissue {props}]{_escape(finding.message)}"


def warning_command(message: str) -> str:
    """A warning not tied to a file: `##vso[task.logissue type=warning]message`."""
    return f"##vso[task.logissue type=warning]{_escape(message)}"


def variable_command(name: str, value: str) -> str:
    """An output variable later jobs and stages read (`isOutput=true`)."""
    return f"##vso[task.setvariable variable={_escape(name)};isOutput=true]{_escape(value)}"
