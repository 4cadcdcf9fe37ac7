"""What `apply` prints: a progress bar while it writes, then the results that are not `unchanged`,
the summary line and each failure."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

OUTCOME_STYLES = {"created": "green", "updated": "yellow", "deleted": "red", "unchanged": "dim",
                  "skipped": "cyan", "failed": "bold red", "adopted": "blue"}


def apply_with_progress(console: Console, plan, run):
    """Call `run(progress)` (an apply_plan taking a per-item callback) under a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("applying"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  console=console, transient=True) as bar:
        task = bar.add_task("", total=len(plan.items))
        return run(lambda result: bar.update(task, advance=1, description=f"{result.outcome.value} {result.name}"))


def print_apply_report(console: Console, report) -> None:
    """`report`: a packer.apply.report.ApplyReport."""
    table = Table(title="apply results", title_justify="left")
    for column in ("outcome", "kind", "name", "message"):
        table.add_column(column, overflow="fold")
    for result in report.results:
        if result.outcome.value == "unchanged":
            continue
        style = OUTCOME_STYLES[result.outcome.value]
        table.add_row(f"[{style}]{result.outcome.value}[/]", result.kind, escape(result.name), escape(result.message))
    if table.row_count:
        console.print(table)
    console.print(f"[bold {'green' if report.ok else 'red'}]{escape(report.summary())}[/]", soft_wrap=True)
    for failure in report.failures:
        console.print(f"[red]failed:[/] {escape(failure.name)} ({failure.key}): {escape(failure.message)}")
