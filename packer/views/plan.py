"""A plan for people: a coloured table with a summary line, or Markdown for a PR comment."""
from __future__ import annotations

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from packer.plan.model import Action, FieldChange, Plan, PlanItem

STYLES = {
    Action.CREATE: "green", Action.UPDATE: "yellow", Action.DRIFTED: "magenta", Action.PRUNE: "red",
    Action.FOREIGN: "cyan", Action.BLOCKED: "bright_red", Action.UNCHANGED: "dim",
    Action.UPGRADE: "bright_yellow", Action.UNINSTALL: "red", Action.CONFLICT: "bright_red",
    Action.ADOPT: "blue",
}
SYMBOLS = {
    Action.CREATE: "+", Action.UPDATE: "~", Action.DRIFTED: "!", Action.PRUNE: "-", Action.FOREIGN: "?",
    Action.BLOCKED: "x", Action.UNCHANGED: "=", Action.UPGRADE: "^", Action.UNINSTALL: "-", Action.CONFLICT: "!!",
    Action.ADOPT: "&",
}
MARKDOWN_DETAIL_LINES = 60
MARKDOWN_LIMIT = 60_000  # GitHub comments hold 65,536 characters


def render_table(plan: Plan, console: Console, show_unchanged: bool = False) -> None:
    table = Table(title=f"{plan.target.workspace} ({plan.target.name})", title_justify="left", expand=False)
    for column in ("", "action", "kind", "name", "details"):
        table.add_column(column, overflow="fold")
    for item in plan.items:
        if item.action is Action.UNCHANGED and not show_unchanged:
            continue
        style = STYLES[item.action]
        table.add_row(Text(SYMBOLS[item.action], style=style), Text(item.action.value, style=style), item.kind,
                      escape(item.name), _details(item))
    if table.row_count:
        console.print(table)
    for note in plan.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    console.print(_summary_text(plan), soft_wrap=True)


def _details(item: PlanItem) -> Group | str:
    parts: list = []
    if item.reason:
        parts.append(Text(item.reason))
    for conflict in item.conflicts:
        parts.append(Text.assemble(("conflict ", "bright_red"), (conflict.path, "bold"), ": template was ",
                                   _short(conflict.base), ", new template ", (_short(conflict.ours), "green"),
                                   ", workspace ", (_short(conflict.theirs), "magenta")))
    for change in item.changes[:12]:
        parts.append(_change_text(change))
    if len(item.changes) > 12:
        parts.append(Text(f"... {len(item.changes) - 12} more fields", style="dim"))
    return Group(*parts) if parts else ""


def _change_text(change: FieldChange) -> Text:
    if change.text_diff:
        text = Text(f"{change.path}:\n", style="bold")
        for line in change.text_diff.splitlines()[2:40]:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            text.append(line + "\n", style=style)
        return text
    return Text.assemble((change.path, "bold"), ": ", (_short(change.before), "red"), " -> ",
                         (_short(change.after), "green"))


def _summary_text(plan: Plan) -> Text:
    return Text(plan.summary(), style="bold green" if not plan.has_changes else "bold yellow")


def _short(value, limit: int = 80) -> str:
    text = "(absent)" if value is None else str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- Markdown -------------------------------------------------------------------------------


def render_markdown(plan: Plan) -> str:
    """GitHub-flavoured Markdown: summary, a table of changes, long diffs folded in <details>."""
    icon = ":white_check_mark:" if not plan.has_changes else ":memo:"
    lines = [f"### {icon} sentinel-packer plan: `{plan.target.workspace}` ({plan.target.name})", "",
             f"**{plan.summary()}**", ""]
    if plan.commit:
        lines += [f"Commit `{plan.commit[:12]}`, repository `{plan.target.repository}`.", ""]
    shown = [i for i in plan.items if i.action is not Action.UNCHANGED]
    if shown:
        lines += ["| | action | kind | name | details |", "|---|---|---|---|---|"]
        for item in shown:
            lines.append(f"| {SYMBOLS[item.action]} | **{item.action.value}** | {item.kind} | {_md(item.name)} | "
                         f"{_md(_one_line_details(item))} |")
        lines.append("")
    for note in plan.notes:
        lines += [f"> note: {_md(note)}", ""]
    size = sum(len(line) + 1 for line in lines)
    for n, item in enumerate(shown):
        diffs = [c for c in item.changes if c.text_diff]
        block = _details_block(item, diffs) if diffs else []
        block_size = sum(len(line) + 1 for line in block)
        if size + block_size > MARKDOWN_LIMIT:
            lines.append(f"_{len(shown) - n} more items' diffs left out to fit a comment: see the JSON plan._")
            break
        lines += block
        size += block_size
    return "\n".join(lines).rstrip() + "\n"


def _one_line_details(item: PlanItem) -> str:
    fields = ", ".join(c.path.removeprefix("properties.") for c in item.changes[:6])
    if len(item.changes) > 6:
        fields += f", +{len(item.changes) - 6} more"
    if item.action is Action.CREATE:
        fields = ""
    conflicts = "; ".join(f"conflict {c.path}: template was {_short(c.base, 40)}, new template "
                          f"{_short(c.ours, 40)}, workspace {_short(c.theirs, 40)}" for c in item.conflicts)
    return "; ".join(p for p in (item.reason, conflicts, f"changes: {fields}" if fields else "") if p)


def _details_block(item: PlanItem, diffs: list[FieldChange]) -> list[str]:
    lines = ["<details>", f"<summary>{_html(item.action.value)} {_html(item.name)}: "
             f"{', '.join(_html(c.path) for c in diffs)}</summary>", ""]
    for change in diffs:
        body = change.text_diff.splitlines()
        if len(body) > MARKDOWN_DETAIL_LINES:
            body = body[:MARKDOWN_DETAIL_LINES] + [f"... {len(body) - MARKDOWN_DETAIL_LINES} more lines"]
        lines += [f"`{change.path}`", "", "```diff", *body, "```", ""]
    return lines + ["</details>", ""]


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
