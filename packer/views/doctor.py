"""What `doctor` prints: per workspace each check (ok, FAIL, or ? when it cannot tell) and its fix."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape

MARKS = {True: ("ok", "green"), False: ("FAIL", "red"), None: ("?", "yellow")}


def print_doctor(results, console: Console) -> None:
    """`results`: packer.rollout.doctor.DoctorResult per workspace."""
    for result in results:
        console.print(f"[bold]{escape(result.target)}[/]", soft_wrap=True)
        for check in result.checks:
            label, style = MARKS[check.ok]
            console.print(f"  [{style}]{label:<4}[/] {escape(check.name)}: {escape(check.detail)}", soft_wrap=True)
            if check.ok is False and check.fix:
                console.print(f"       fix: {escape(check.fix)}", soft_wrap=True)
    bad = [r.target for r in results if not r.ok]
    console.print(f"[bold {'red' if bad else 'green'}]{len(results) - len(bad)} of {len(results)} workspace(s) ready[/]",
                  soft_wrap=True)
