"""Status (packer.plan.status) for people and scripts: JSON, Markdown, a table."""
from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from packer.plan.status import PackageStatus

STATUS_FORMATS = ("table", "json", "markdown")
STYLES = {"up to date": "green", "update available": "yellow", "customised": "magenta", "not installed": "red"}


def status_json(statuses: list[PackageStatus]) -> str:
    return json.dumps([s.to_dict() for s in statuses], indent=2, ensure_ascii=False)


def status_markdown(statuses: list[PackageStatus]) -> str:
    lines: list[str] = []
    for status in statuses:
        package = (f"package `{status.package_id}` {status.installed_version or status.package_version}"
                   if status.package_id else "no package of this repository installed")
        lines += [f"### `{status.target.workspace}` ({status.target.name}): {package}", "",
                  "| item | kind | template | active | status |", "|---|---|---|---|---|"]
        for item in status.items:
            name = item.name.replace("|", "\\|")
            lines.append(f"| {name} | {item.kind} | {item.template_version or '-'} | {item.active_version or '-'} | "
                         f"{item.state.value}{' (' + item.detail + ')' if item.detail else ''} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def print_status(statuses: list[PackageStatus], console: Console) -> None:
    for status in statuses:
        title = (f"{status.target.workspace} ({status.target.name}): package {status.package_id} "
                 f"{status.installed_version or status.package_version}" if status.package_id
                 else f"{status.target.workspace} ({status.target.name}): no package of this repository installed")
        table = Table(title=escape(title), title_justify="left")
        for column in ("item", "kind", "template", "active", "status"):
            table.add_column(column, overflow="fold")
        for item in status.items:
            style = STYLES[item.state.value]
            table.add_row(escape(item.name), item.kind, item.template_version or "-", item.active_version or "-",
                          f"[{style}]{item.state.value}[/]" + (f" ({escape(item.detail)})" if item.detail else ""))
        console.print(table)
        counts = ", ".join(f"{n} {s}" for s, n in status.counts().items() if n)
        console.print(f"Status: {counts or 'nothing installed'}")
