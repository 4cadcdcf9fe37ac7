"""Columns an analytics rule names outside its query: entity mappings, custom details, alert
details override. Sentinel refuses a rule naming a column its query does not output, comparing
names case-sensitively ("Error in EntityMappings: The given column 'IpAddress' does not exist.").

Works on the rule's properties as the API and the Azure-Sentinel YAML both spell them, so
`validate` (offline, file:line) and the emulator (at PUT) report the same columns.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

_OVERRIDE_COLUMNS = ("alertTacticsColumnName", "alertSeverityColumnName", "alertTechniquesColumnName",
                     "alertSubTechniquesColumnName")


@dataclass(frozen=True)
class ColumnUse:
    section: str                      # EntityMappings | CustomDetails | AlertDetailsOverride (Azure's words)
    column: str
    path: tuple[str | int, ...]       # where, inside the rule's properties


def column_uses(properties: dict) -> list[ColumnUse]:
    """Every column name the rule's mappings use, in document order."""
    return [*_entity_columns(properties), *_custom_columns(properties), *_override_columns(properties)]


def missing_columns(uses: list[ColumnUse], output: tuple[str, ...] | None, open_output: bool = False) -> list[ColumnUse]:
    """The uses naming no output column (case-sensitive). None or open output: nothing is known missing."""
    if output is None or open_output:
        return []
    have = set(output)
    return [u for u in uses if u.column not in have]


def azure_message(use: ColumnUse) -> str:
    return f"Error in {use.section}: The given column '{use.column}' does not exist."


def _entity_columns(properties: dict) -> Iterator[ColumnUse]:
    for i, mapping in enumerate(_list(properties.get("entityMappings"))):
        for j, field in enumerate(_list(mapping.get("fieldMappings") if isinstance(mapping, dict) else None)):
            column = field.get("columnName") if isinstance(field, dict) else None
            if isinstance(column, str) and column:
                yield ColumnUse("EntityMappings", column, ("entityMappings", i, "fieldMappings", j, "columnName"))
    for i, mapping in enumerate(_list(properties.get("sentinelEntitiesMappings"))):
        column = mapping.get("columnName") if isinstance(mapping, dict) else None
        if isinstance(column, str) and column:
            yield ColumnUse("SentinelEntitiesMappings", column, ("sentinelEntitiesMappings", i, "columnName"))


def _custom_columns(properties: dict) -> Iterator[ColumnUse]:
    details = properties.get("customDetails")
    if isinstance(details, dict):
        for key, column in details.items():
            if isinstance(column, str) and column:
                yield ColumnUse("CustomDetails", column, ("customDetails", key))


def _override_columns(properties: dict) -> Iterator[ColumnUse]:
    """Only the members that name a column outright. `{{Column}}` placeholders in the name and
    description formats and alertDynamicProperties values are not checked: published Microsoft
    rules carry placeholders and values that are no output column (corpus: VectraDetect-Account-by-
    Severity's `{{sacccount}}`, CrossCloudUnauthorizedCredentialsAccessDetection's `AWS`), so the
    service evidently accepts them."""
    override = properties.get("alertDetailsOverride")
    if not isinstance(override, dict):
        return
    for name in _OVERRIDE_COLUMNS:
        column = override.get(name)
        if isinstance(column, str) and column:
            yield ColumnUse("AlertDetailsOverride", column, ("alertDetailsOverride", name))


def _list(value) -> list:
    return value if isinstance(value, list) else []
