"""Benchmark `validate` (KQL off, one process): the shared corpus and 2,000 generated rules.

Run: python bench/validate.py [--repeat N]. Prints files per second; not a test.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from generated import analytic_rule

from packer.validate import validate_paths

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CORPUS = PROJECT_ROOT.parent / "shared" / "corpus" / "rules"


def measure(label: str, paths: list[Path], repeat: int) -> None:
    """Wall time, and CPU time of this process (one core; fairer on a machine shared with other work)."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        report = validate_paths(paths, kql=False)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    files = report.files_checked
    print(f"{label}: {files} files, {len(report.errors)} errors, best of {repeat}: "
          f"wall {best_wall:.3f} s = {files / best_wall:,.0f} files/s; CPU {best_cpu:.3f} s = {files / best_cpu:,.0f} files/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if CORPUS.is_dir():
        measure("corpus (analytic + hunting + invalid)", [CORPUS / "analytic", CORPUS / "hunting", CORPUS / "invalid"],
                args.repeat)
    else:
        print(f"corpus: skipped, {CORPUS} is absent")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "analytic-rules"
        folder.mkdir()
        for i in range(2000):
            (folder / f"rule_{i:04}.yaml").write_text(analytic_rule(i), encoding="utf-8")
        measure("generated rules", [folder], args.repeat)


if __name__ == "__main__":
    main()
