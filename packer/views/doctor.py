"""What `doctor` prints: per workspace each check (ok, FAIL, or ? when it cannot tell) and its fix."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape

MARKS = {True: "[green]ok[/]", False: "[red]FAIL[/]", None: "[yellow]?[/]"}


def print_doctor(results, console: Console) -> None:
    """`results`: packer.rollout.doctor.DoctorResult per workspace."""
    for result in results:
        console.print(f"[bold]{escape(result.target)}[/]")
        for check in result.checks:
            console.print(f"  {MARKS[check.ok]:<14} {escape(check.name)}: {escape(check.detail)}")
            if check.ok is False and check.fix:
                console.print(f"  {'':<3}fix: {escape(check.fix)}")
    bad = [r.target for r in results if not r.ok]
    console.print(f"[bold {'red' if bad else 'green'}]{len(results) - len(bad)} of {len(results)} workspace(s) ready[/]")
