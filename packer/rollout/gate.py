"""A wave's verdict across the shards of a job matrix.

In GitHub Actions a wave runs as many jobs (one per shard of `targets matrix`), each rolling out
part of the wave. A shard cannot know the others' failures, so it passes while its own failures
stay within the WHOLE wave's threshold, and a gate job sums every shard's JSON report and
decides whether the next wave may start.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from packer.errors import ConfigError
from packer.rollout.report import REPORT_FORMAT
from packer.targets import Inventory


@dataclass(frozen=True)
class WaveVerdict:
    wave: str
    workspaces: int  # in the inventory's wave
    reported: int  # workspaces the shards' reports account for
    failed: tuple[str, ...]  # failed or refused workspaces, by name
    allowed_failures: int
    limit: str

    @property
    def passed(self) -> bool:
        return len(self.failed) <= self.allowed_failures and self.reported == self.workspaces

    def summary(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        text = (f"Wave '{self.wave}' {verdict}: {len(self.failed)} failed workspace(s) of {self.workspaces}, "
                f"threshold {self.limit}")
        if self.failed:
            text += f" (failed: {', '.join(self.failed)})"
        if self.reported != self.workspaces:
            text += f"; the reports account for {self.reported} of the wave's {self.workspaces} workspaces"
        return text


def wave_verdict(inventory: Inventory, wave_name: str, report_paths: list[Path]) -> WaveVerdict:
    """Sum the shards' rollout reports of one wave against the wave's threshold."""
    wave = next((w for w in inventory.waves if w.name == wave_name), None)
    if wave is None:
        raise ConfigError(f"wave {wave_name!r} is not in the inventory (waves: {', '.join(w.name for w in inventory.waves)})")
    members = {t.name for t in inventory.targets if t.wave == wave_name}
    statuses: dict[str, str] = {}
    for path in report_paths:
        for result in _results(path):
            if result.get("name") in members and result.get("status") != "not started":
                statuses[result["name"]] = str(result.get("status"))
    failed = tuple(sorted(name for name, status in statuses.items() if status in ("failed", "refused")))
    return WaveVerdict(wave_name, len(members), len(statuses), failed, wave.allowed_failures(len(members)),
                       wave.describe_limit())


def _results(path: Path) -> list[dict]:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable rollout report ({exc})") from None
    if not isinstance(report, dict) or report.get("format") != REPORT_FORMAT:
        raise ConfigError(f"{path}: not a sentinel-packer rollout report (format {REPORT_FORMAT} expected)")
    return [r for r in report.get("results", []) if isinstance(r, dict)]
