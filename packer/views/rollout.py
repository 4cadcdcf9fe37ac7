"""A rollout for people: Rich progress (a bar per wave, counts per workspace state) and the fleet
report as Markdown (job summary, pull-request comment)."""
from __future__ import annotations

import threading

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from packer.rollout.report import FleetReport, WaveResult, WorkspaceResult, WorkspaceStatus
from packer.targets import Target, Wave

STATE_STYLE = {WorkspaceStatus.SUCCEEDED: "green", WorkspaceStatus.FAILED: "red", WorkspaceStatus.REFUSED: "red",
               WorkspaceStatus.NOT_STARTED: "dim"}


class RichObserver:
    """Use as a context manager around `rollout(...)`; prints each finished workspace above the bars."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console()
        self._progress = Progress(
            TextColumn("[bold]{task.fields[wave]}[/]"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[states]}"), TimeElapsedColumn(), console=self.console,
        )
        self._tasks: dict[str, int] = {}
        self._states: dict[str, dict[WorkspaceStatus, int]] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> "RichObserver":
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def wave_started(self, wave: Wave, targets: list[Target]) -> None:
        with self._lock:
            self._states[wave.name] = {s: 0 for s in STATE_STYLE}
            self._tasks[wave.name] = self._progress.add_task("", total=len(targets), wave=wave.name, states="")

    def workspace_finished(self, wave: Wave, result: WorkspaceResult) -> None:
        with self._lock:
            states = self._states[wave.name]
            states[result.status] = states.get(result.status, 0) + 1
            text = "  ".join(f"[{STATE_STYLE[s]}]{n} {s.value}[/]" for s, n in states.items() if n)
            self._progress.update(self._tasks[wave.name], advance=1, states=text)
        line = (f"{escape(result.name)}: {result.created} created, {result.updated} updated, {result.pruned} pruned, "
                f"{result.skipped} skipped, {result.failed} failed")
        if result.replanned:  # said before the outcome, so the log names the workspace and the reason
            self._progress.console.print(escape(f"re-planned {result.name}: {result.replan_reason}"),
                                         markup=False, highlight=False, soft_wrap=True)
        if result.error:
            line = escape(f"{result.name}: {result.error}")
        elif result.status is WorkspaceStatus.NOT_STARTED:
            line = escape(f"{result.name}: left alone, the wave is already over its failure threshold")
        self._progress.console.print(f"[{STATE_STYLE.get(result.status, 'white')}]{result.status.value:>9}[/] {line}",
                                     markup=True, highlight=False, soft_wrap=True)

    def wave_finished(self, wave: Wave, result: WaveResult) -> None:
        if result.exceeded:
            self._progress.console.print(
                f"[bold red]wave {wave.name}: {result.failed} failed workspace(s), more than {result.limit}: "
                "stopping before the next wave[/]")


def print_rollout_summary(report: FleetReport, console: Console) -> None:
    """The closing line of a rollout (or fleet install), then a warning per failed workspace that
    its wave's threshold tolerated."""
    colour = "green" if report.ok else ("yellow" if report.within_thresholds else "red")
    console.print(f"[bold {colour}]{escape(report.summary())}[/]", soft_wrap=True)
    if report.within_thresholds:
        for failed in report.failed_workspaces():
            console.print(f"warning: workspace {failed.name} ({failed.status.value}) is within wave "
                          f"'{failed.wave}''s failure threshold: {failed.error or 'see its item failures above'}",
                          markup=False, soft_wrap=True)


def rollout_report_markdown(report: FleetReport, limit: int = 65_000) -> str:
    """The fleet report for a job summary or a pull-request comment (cut to `limit` characters)."""
    lines = ["### sentinel-packer rollout", "", f"**{report.summary()}**", "", "| wave | workspaces | failed | threshold | result |",
             "|---|---:|---:|---|---|"]
    for wave in report.waves:
        result = "not started" if not wave.started else ("**stopped the rollout**" if wave.exceeded else "ok")
        lines.append(f"| {wave.name} | {wave.workspaces} | {wave.failed} | {wave.limit} | {result} |")
    rows = ["| wave | workspace | tenant | status | created | updated | pruned | skipped | failed |",
            "|---|---|---|---|---:|---:|---:|---:|---:|"]
    for r in report.results:
        rows.append(f"| {r.wave} | `{r.name}` | {r.tenant} | {r.status.value} | {r.created} | {r.updated} | "
                    f"{r.pruned} | {r.skipped} | {r.failed} |")
    body = "\n".join(lines) + "\n" + _reviewed_section(report) + _details(f"Workspaces ({len(report.results)})", "\n".join(rows), len(report.results) <= 20)
    problems = [f"- `{r.name}`: {_one_line(r.error)}" for r in report.results if r.error]
    problems += [f"- `{r.name}` / {_one_line(f.item)}: {_one_line(f.message)}" for r in report.results for f in r.failures]
    if problems:
        body += _details(f"Failures ({len(problems)})", "\n".join(problems), True)
    skipped = [f"- `{r.name}` / {_one_line(s.item)}: {_one_line(s.message)}" for r in report.results for s in r.skipped_items]
    if skipped:
        body += _details(f"Skipped items ({len(skipped)})", "\n".join(skipped))
    if len(body) > limit:
        body = body[: limit - 200] + "\n\n_Report cut to fit one comment; the JSON report has everything._\n"
    return body


def _reviewed_section(report: FleetReport) -> str:
    """Which workspaces got the plan reviewed on the pull request, and why the others were planned again."""
    reviewed, replanned = report.applied_as_reviewed(), report.replanned()
    if not reviewed and not replanned:
        return ""
    text = (f"\n**Reviewed plan**: applied as reviewed in {len(reviewed)} workspace(s), "
            f"re-planned in {len(replanned)}.\n")
    if replanned:
        text += "\n" + "\n".join(f"- `{r.name}` re-planned: {_one_line(r.replan_reason)}" for r in replanned) + "\n"
    return text


def _details(summary: str, body: str, open_: bool = False) -> str:
    return f"\n<details{' open' if open_ else ''}><summary>{summary}</summary>\n\n{body}\n\n</details>\n"


def _one_line(text: str) -> str:
    return text.replace("\n", " ").replace("|", "\\|")[:400]
