"""Table schemas for KQL analysis: JSON files, one table per file.

Two shapes are read:
- ours (packer/kql/schemas/*.json): {"name": T, "source": url, "columns": {col: type, ...},
  "open": false}; `open: true` accepts any column (tables whose columns vary per source);
- Microsoft's Azure-Sentinel CI shape (`.script/tests/KqlvalidationsTests/CustomTables`):
  {"Name": T, "Properties": [{"Name": col, "Type": "String"}, ...]}.
A table found in several files gets the union of their columns (first type wins), because
no single source is complete (the CI's DeviceProcessEvents lacks ProcessVersionInfo*).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from packer.errors import ConfigError, ContentError

BUILTIN_DIR = Path(__file__).with_name("schemas")

# Kusto type names, and the .NET / ARM spellings other schema files use for them.
_TYPES = {
    "string": "string", "int": "int", "int32": "int", "long": "long", "int64": "long", "bigint": "long",
    "real": "real", "double": "real", "float": "real", "decimal": "decimal", "bool": "bool",
    "boolean": "bool", "datetime": "datetime", "date": "datetime", "timespan": "timespan",
    "guid": "guid", "uniqueid": "guid", "system.string": "string", "system.int32": "int", "system.int64": "long", "system.datetime": "datetime", "system.boolean": "bool", "system.double": "real", "dynamic": "dynamic", "object": "dynamic", "array": "dynamic",
}


# Columns every Log Analytics table has (learn.microsoft.com/azure/azure-monitor/logs/log-standard-columns).
STANDARD_COLUMNS = {
    "TenantId": "string", "TimeGenerated": "datetime", "_TimeReceived": "datetime", "Type": "string",
    "_ItemId": "string", "_ResourceId": "string", "_SubscriptionId": "string", "_IsBillable": "string",
    "_BilledSize": "real",
}


@dataclass(frozen=True)
class TableSchema:
    name: str
    columns: dict[str, str] = field(default_factory=dict)  # column -> Kusto type, in order
    open: bool = False
    sources: tuple[Path, ...] = ()

    def merged(self, other: "TableSchema") -> "TableSchema":
        columns = dict(self.columns)
        lowered = {c.lower() for c in columns}
        for name, kind in other.columns.items():
            if name.lower() not in lowered:
                columns[name] = kind
        return TableSchema(self.name, columns, self.open or other.open, self.sources + other.sources)

    def to_worker(self) -> dict:
        columns = dict(self.columns)
        lowered = {c.lower() for c in columns}
        columns.update({c: t for c, t in STANDARD_COLUMNS.items() if c.lower() not in lowered})
        return {"name": self.name, "columns": list(columns.items()), "open": self.open}


def kusto_type(name: str, where: Path) -> str:
    kind = _TYPES.get(str(name).strip().lower())
    if kind is None:
        raise ContentError(where, 1, 1, "", f"unknown column type {name!r}; use a Kusto type such as string, long, datetime")
    return kind


def read_table(path: Path) -> TableSchema:
    """One table schema file, in either supported shape."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deeply
        raise ContentError(path, 1, 1, "", f"not a readable JSON table schema ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("Properties"), list) and "Name" in data:
        columns = {str(p["Name"]): kusto_type(p.get("Type", "string"), path)
                   for p in data["Properties"] if isinstance(p, dict) and "Name" in p}
        return TableSchema(str(data["Name"]), columns, False, (path,))
    if isinstance(data, dict) and isinstance(data.get("columns"), dict) and "name" in data:
        columns = {str(c): kusto_type(t, path) for c, t in data["columns"].items()}
        return TableSchema(str(data["name"]), columns, bool(data.get("open", False)), (path,))
    raise ContentError(
        path, 1, 1, "", 'not a table schema; expected {"name", "columns": {column: type}} '
        'or {"Name", "Properties": [{"Name", "Type"}]}'
    )


def load_tables(dirs: Iterable[Path] = (), builtin: bool = True) -> dict[str, TableSchema]:
    """Tables by name from the built-in schemas plus each directory's *.json files, merged."""
    folders = ([BUILTIN_DIR] if builtin else []) + [Path(d) for d in dirs]
    tables: dict[str, TableSchema] = {}
    for folder in folders:
        if not folder.is_dir():
            raise ConfigError(f"{folder}: table schema directory does not exist")
        for path in sorted(folder.glob("*.json")):
            table = read_table(path)
            known = tables.get(table.name)
            tables[table.name] = known.merged(table) if known else table
    return tables
