"""Rich progress for a rollout: a bar per wave, with counts per workspace state."""
from __future__ import annotations

import threading

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from packer.rollout.report import WaveResult, WorkspaceResult, WorkspaceStatus
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
