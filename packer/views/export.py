"""What `export` prints and writes: a summary line, and the export report (Markdown and JSON)
listing the template each rule came from, every field the content cannot hold (live value and
the value the exported content gives), items not exported and why, and, for a fleet, how each
rule's copies were de-forked."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from packer.export.fleet import FleetExport
from packer.export.workspace import WorkspaceExport

VALUE_CHARS = 120  # a value longer than this is cut in the Markdown (the JSON keeps it whole)


def _workspaces(export: WorkspaceExport | FleetExport) -> tuple[WorkspaceExport, ...]:
    return export.workspaces if isinstance(export, FleetExport) else (export,)


def export_summary(export: WorkspaceExport | FleetExport) -> str:
    workspaces = _workspaces(export)
    items = [i for w in workspaces for i in w.items]
    lossy = sum(1 for i in items if not i.lossless)
    refused = sum(len(w.not_exportable) for w in workspaces)
    text = (f"Export: {len(items)} item(s) from {len(workspaces)} workspace(s); {len(items) - lossy} lossless, "
            f"{lossy} with fields the content cannot hold, {refused} not exportable")
    if isinstance(export, FleetExport):
        forks = sum(len(i.forks) for i in export.items)
        text += f"; {len(export.items)} content item(s), {forks} fork(s) overlays cannot express"
    return text


def export_markdown(export: WorkspaceExport | FleetExport) -> str:
    lines = ["# Export report", "", export_summary(export), ""]
    if isinstance(export, FleetExport):
        lines += ["## Fleet: one item per rule", ""]
        lines += [f"- {item.sentence()} (`{item.file}`)" for item in export.items] + [""]
    for workspace in _workspaces(export):
        lines += _workspace_section(workspace)
    return "\n".join(lines).rstrip() + "\n"


def _workspace_section(export: WorkspaceExport) -> list[str]:
    lines = [f"## Workspace {export.target.name}", ""]
    linked = [i for i in export.items if i.template]
    if linked:
        lines += ["### Rules made from templates (the link is kept)", "",
                  "| rule | file | template | version | solution |", "|---|---|---|---|---|"]
        lines += [f"| {_md(i.name)} | `{i.file}` | {i.template} | {i.template_version or '(none)'} | "
                  f"{_md(i.template_source or 'not installed here')} |" for i in linked]
        lines.append("")
    lossy = [i for i in export.items if i.lost]
    if lossy:
        lines += ["### Fields the content cannot hold", "",
                  "A plan against the export changes these fields to the exported value.", "",
                  "| item | field | live | exported |", "|---|---|---|---|"]
        lines += [f"| {_md(i.name)} | `{c.path}` | {_value(c.before)} | {_value(c.after)} |"
                  for i in lossy for c in i.lost]
        lines.append("")
    refused = [i for i in export.items if i.problems]
    if refused:
        lines += ["### Files validation refused (kept under `unexported/`)", ""]
        lines += [f"- `{i.file}` ({_md(i.name)}): {_md('; '.join(i.problems))}" for i in refused] + [""]
    if export.not_exportable:
        lines += ["### Not exported", ""]
        lines += [f"- {n.kind} {_md(n.name)}: {_md(n.reason)}" for n in export.not_exportable] + [""]
    if export.other_searches:
        lines += ["### Saved searches that are not Sentinel content (left out)", ""]
        lines += [f"- {_md(s)}" for s in export.other_searches] + [""]
    if not (linked or lossy or refused or export.not_exportable or export.other_searches):
        lines += ["Every item exported losslessly; none was made from a template.", ""]
    return lines


def export_dict(export: WorkspaceExport | FleetExport) -> dict[str, Any]:
    data = asdict(export)
    data["summary"] = export_summary(export)
    data["lossless"] = export.lossless
    return _jsonable(data)


def write_report(export: WorkspaceExport | FleetExport, out: Path) -> tuple[Path, Path]:
    """`out`/export-report.md and `out`/export-report.json."""
    markdown, data = Path(out) / "export-report.md", Path(out) / "export-report.json"
    markdown.write_text(export_markdown(export), encoding="utf-8")
    data.write_text(json.dumps(export_dict(export), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return markdown, data


def _value(value: Any) -> str:
    text = "(absent)" if value is None else json.dumps(value, ensure_ascii=False)
    return _md(text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS] + "...")


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if k != "state"}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
