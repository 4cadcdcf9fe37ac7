"""Fleet plans as a terminal table and as Markdown that fits one pull-request comment."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from packer.rollout.fleet_plan import FleetPlan

COMMENT_LIMIT = 65_000  # GitHub refuses comments over 65,536 characters
GRID_MAX_WORKSPACES = 8  # above this, the matrix lists workspaces per action instead of a grid
COLUMNS = ("create", "update", "prune", "drifted", "blocked", "foreign", "unchanged")
# Content Hub actions (docs/content-hub.md): a column only when some workspace has one.
HUB_COLUMNS = {"upgrade": "update", "uninstall": "prune", "conflict": "drifted", "adopt": "update"}  # shown after that column
SYMBOLS = {"create": "+", "update": "~", "upgrade": "^", "prune": "-", "uninstall": "-", "drifted": "!", "conflict": "!!",
           "adopt": "&", "blocked": "x", "foreign": "?", "unchanged": "·"}
STYLES = {"create": "green", "update": "yellow", "upgrade": "yellow", "prune": "red", "uninstall": "red",
          "drifted": "magenta", "conflict": "red", "blocked": "red", "foreign": "cyan",
          "adopt": "blue"}


def print_fleet_plan(plan: FleetPlan, console: Console | None = None) -> None:
    """A row per workspace, then (up to GRID_MAX_WORKSPACES) a grid of workspaces x numbered items
    with the item names listed below it, then the workspaces that could not be planned. Names are
    never cut: when the table is wider than the console, count columns that are 0 everywhere are
    left out, then headers fold, never the names."""
    console = console or Console()
    columns = columns_of(plan)
    table, left_out = _workspace_rows(plan, columns), ""
    if console.measure(table, options=console.options.update_width(10_000)).maximum > console.width:
        shown = tuple(c for c in columns if any(w.counts.get(c, 0) for w in plan.workspaces)) or columns[:1]
        if shown != columns:
            table = _workspace_rows(plan, shown)
            left_out = f"(0 everywhere: {', '.join(c for c in columns if c not in shown)})"
    console.print(table)
    if left_out:
        console.print(left_out, soft_wrap=True, highlight=False)
    matrix = plan.matrix()
    if matrix and len(plan.workspaces) <= GRID_MAX_WORKSPACES:
        _print_grid(plan, matrix, console)
    for w in plan.errors:
        console.print(f"[red]error[/] {escape(w.target.name)}: {escape(w.error)}", soft_wrap=True)


def columns_of(plan: FleetPlan) -> tuple[str, ...]:
    """COLUMNS, plus each Content Hub action some workspace of the plan has."""
    out: list[str] = []
    for column in COLUMNS:
        out.append(column)
        out += [hub for hub, after in HUB_COLUMNS.items()
                if after == column and any(w.counts.get(hub, 0) for w in plan.workspaces)]
    return tuple(out)


def _workspace_rows(plan: FleetPlan, columns: tuple[str, ...]) -> Table:
    table = Table(title="Fleet plan", title_justify="left")
    table.add_column("wave", no_wrap=True)
    table.add_column("workspace", no_wrap=True, overflow="fold",
                     min_width=_longest([w.target.name for w in plan.workspaces]))
    table.add_column("tenant", no_wrap=True, overflow="fold")
    for column in columns:
        table.add_column(column, overflow="fold", justify="right")
    for w in plan.workspaces:
        cells = (["[red]err[/]"] + [""] * (len(columns) - 1) if w.error
                 else [_styled(c, w.counts.get(c, 0)) for c in columns])  # counts: from the plan, on each access
        table.add_row(w.target.wave or "", w.target.name, w.tenant, *cells)
    return table


def _print_grid(plan: FleetPlan, matrix: dict, console: Console) -> None:
    """Workspaces down, numbered items across; as many grids as the console width needs."""
    item_names = plan.item_names()
    keys = list(matrix)
    names = [w.target.name for w in plan.workspaces]
    per_grid = max(1, (console.width - _longest(names) - 5) // 5)  # an item column takes up to 5 characters
    for first in range(0, len(keys), per_grid):
        chunk = keys[first:first + per_grid]
        title = "Items x workspaces" if len(keys) <= per_grid else \
            f"Items x workspaces ({first + 1}-{first + len(chunk)} of {len(keys)})"
        grid = Table(title=title, title_justify="left")
        grid.add_column("workspace", no_wrap=True, min_width=_longest(names))
        for number in range(first + 1, first + len(chunk) + 1):
            grid.add_column(str(number), justify="center", no_wrap=True)
        for w in plan.workspaces:
            grid.add_row(w.target.name, *(_symbol(matrix[key].get(w.target.name)) for key in chunk))
        console.print(grid)
    for number, key in enumerate(keys, 1):
        console.print(f"{number:>3}  {escape(item_names.get(key, key))}", soft_wrap=True, highlight=False)
    legend = "  ".join(f"{SYMBOLS[a]} {a}" for a in columns_of(plan))
    console.print(f"     {legend}", soft_wrap=True, highlight=False)


def _longest(names: list[str]) -> int:
    return max((len(n) for n in names), default=0)


def _styled(action: str, count: int) -> str:
    if not count or action not in STYLES:
        return str(count)
    return f"[{STYLES[action]}]{count}[/]"


def _symbol(action: str | None) -> str:
    if action is None:
        return " "
    symbol = SYMBOLS.get(action, action)
    return f"[{STYLES[action]}]{symbol}[/]" if action in STYLES else symbol


def fleet_plan_markdown(plan: FleetPlan, limit: int = COMMENT_LIMIT) -> str:
    """Summary first, then collapsed sections; sections that do not fit are cut with a note."""
    head = [f"### sentinel-packer fleet plan{f' @ `{plan.commit[:12]}`' if plan.commit else ''}", "", f"**{plan.summary()}**", ""]
    sections = [_workspace_table(plan), _matrix_section(plan), *_errors_section(plan), *_change_sections(plan)]
    out = "\n".join(head)
    for section in sections:
        if len(out) + len(section) + 200 > limit:
            out += ("\n_Some sections were left out to fit one comment; the full plan is in the JSON artifact "
                    "(`plan --all --format json`)._\n")
            break
        out += section
    return out


def _workspace_table(plan: FleetPlan) -> str:
    columns = columns_of(plan)
    rows = ["| wave | workspace | tenant | " + " | ".join(columns) + " |", "|---|---|---|" + "---:|" * len(columns)]
    changed = [w for w in plan.workspaces if w.has_changes or w.error]
    for w in plan.workspaces:
        if w.error:
            cells = "error: " + _cell(w.error) + " |" * (len(columns) - 1)
        else:
            counts = w.counts  # counted from the plan's items on each access
            cells = " | ".join(str(counts.get(c, 0) or "") for c in columns)
        rows.append(f"| {w.target.wave or ''} | `{w.target.name}` | {w.tenant} | {cells} |")
    summary = f"Workspaces ({len(changed)} of {len(plan.workspaces)} with changes or errors)"
    return _details(summary, "\n".join(rows), open_=len(plan.workspaces) <= 20)


def _matrix_section(plan: FleetPlan) -> str:
    matrix = plan.matrix()
    if not matrix:
        return ""
    names = plan.item_names()
    if len(plan.workspaces) <= GRID_MAX_WORKSPACES:
        header = "| item | " + " | ".join(f"`{w.target.name}`" for w in plan.workspaces) + " |"
        rows = [header, "|---|" + ":-:|" * len(plan.workspaces)]
        for key, row in matrix.items():
            rows.append(f"| {_cell(names.get(key, key))} | "
                        + " | ".join(SYMBOLS.get(row.get(w.target.name, ""), "") for w in plan.workspaces) + " |")
        legend = "\n\n" + ", ".join(f"`{s}` {a}" for a, s in SYMBOLS.items())
        return _details(f"Items x workspaces ({len(matrix)} item(s) change)", "\n".join(rows) + legend)
    rows = ["| item | changes |", "|---|---|"]
    for key, row in matrix.items():
        by_action: dict[str, list[str]] = {}
        for workspace, action in row.items():
            by_action.setdefault(action, []).append(workspace)
        parts = [f"{action} in {len(ws)}: {_names(ws)}" for action, ws in sorted(by_action.items()) if action != "unchanged"]
        rows.append(f"| {_cell(names.get(key, key))} | {'; '.join(parts)} |")
    return _details(f"Items x workspaces ({len(matrix)} item(s) change)", "\n".join(rows))


def _errors_section(plan: FleetPlan) -> list[str]:
    if not plan.errors:
        return []
    lines = [f"- `{w.target.name}`: {_cell(w.error or '')}" for w in plan.errors]
    return [_details(f"{len(plan.errors)} workspace(s) could not be planned", "\n".join(lines), open_=True)]


DIFF_LINES_PER_ITEM = 40  # a changed query shows this many diff lines, then a count of the rest
VALUE_CHARS = 120


def _change_sections(plan: FleetPlan) -> list[str]:
    """Per changed item, what changes: `field: old -> new`, a KQL or JSON change as a unified
    diff. The same change in several workspaces is shown once, naming the workspaces."""
    groups: dict[tuple, tuple[object, list[str]]] = {}
    for workspace in plan.workspaces:
        for item in workspace.plan.items if workspace.plan else ():
            if not item.changes or item.action.value in ("unchanged", "create"):
                continue
            signature = (item.key, item.action.value,
                         tuple((c.path, repr(c.before), repr(c.after), c.text_diff) for c in item.changes))
            groups.setdefault(signature, (item, []))[1].append(workspace.target.name)
    sections = []
    for (_, action, _), (item, workspaces) in groups.items():
        title = f"{SYMBOLS.get(action, '')} {action} {_html(item.name)} in {_html(_plain_names(workspaces))}"
        sections.append(_details(title, _change_body(item)))
    return sections


def _change_body(item) -> str:
    lines = []
    for change in item.changes:
        if change.text_diff:
            diff = change.text_diff.splitlines()
            if len(diff) > DIFF_LINES_PER_ITEM:
                diff = diff[:DIFF_LINES_PER_ITEM] + [f"... {len(diff) - DIFF_LINES_PER_ITEM} more lines"]
            fence = "~~~~" if any(line.lstrip().startswith("```") for line in diff) else "```"
            lines += [f"`{_code(change.path)}`", "", f"{fence}diff", *diff, fence, ""]
        else:
            lines.append(f"- `{_code(change.path)}`: {_value(change.before)} → {_value(change.after)}")
    return _no_mentions("\n".join(lines))


def _value(value) -> str:
    import json

    text = "(absent)" if value is None else json.dumps(value, ensure_ascii=False)
    text = text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS] + "…"
    return f"`{_code(text)}`"


def _code(text: str) -> str:
    return text.replace("`", "ˋ").replace("\n", " ")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _no_mentions(text: str) -> str:
    """A query or description may hold `@someone` or `#123`: never ping or link from a plan."""
    return text.replace("@", "@\u200b").replace("#", "#\u200b")


def _plain_names(workspaces: list[str], shown: int = 6) -> str:
    listed = ", ".join(workspaces[:shown])
    return listed + (f" and {len(workspaces) - shown} more" if len(workspaces) > shown else "")


def _names(workspaces: list[str], shown: int = 6) -> str:
    listed = ", ".join(f"`{w}`" for w in workspaces[:shown])
    return listed + (f" and {len(workspaces) - shown} more" if len(workspaces) > shown else "")


def _details(summary: str, body: str, open_: bool = False) -> str:
    return f"\n<details{' open' if open_ else ''}><summary>{summary}</summary>\n\n{body}\n\n</details>\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:300]
