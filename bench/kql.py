"""Queries per second of KQL analysis in a warm Kusto.Language worker, over the shared corpus.

    python bench/kql.py [--passes 3] [--workers 1]

Reads the analytic and hunting queries of ../shared/corpus/rules (CustomTables as a user schema
folder, as the conformance test does), starts the worker(s), runs one warm-up pass (it also
meets every unknown table once), then times `--passes` passes, pipelined. Prints numbers only;
the target is >= 200 queries/s.

Besides wall-clock rates it prints queries per CPU-second the workers got (from /proc): on a
machine other people load, that separates waiting for a CPU from the work itself (contention
still makes each CPU-second somewhat slower, so an idle machine does a little better).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from packer.kql import KqlAnalyser  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"


def corpus_queries() -> list[str]:
    queries = []
    for folder in ("analytic", "hunting"):
        for path in sorted((CORPUS / "rules" / folder).glob("*.yaml")):
            doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
            if isinstance(doc, dict) and isinstance(doc.get("query"), str):
                queries.append(doc["query"])
    return queries


def worker_cpu_seconds(analysers: list[KqlAnalyser]) -> float | None:
    """User + system CPU seconds the workers have used so far (Linux /proc), or None."""
    total = 0
    for analyser in analysers:
        try:
            fields = Path(f"/proc/{analyser.worker_pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def run_pass(analysers: list[KqlAnalyser], queries: list[str]) -> tuple[float, float | None]:
    """Wall seconds and worker CPU seconds to analyse every query once, split round-robin."""
    shares = [queries[i::len(analysers)] for i in range(len(analysers))]
    cpu = worker_cpu_seconds(analysers)
    start = time.perf_counter()
    with ThreadPoolExecutor(len(analysers)) as pool:
        list(pool.map(lambda pair: pair[0].analyse_many(pair[1]), zip(analysers, shares)))
    wall = time.perf_counter() - start
    cpu_after = worker_cpu_seconds(analysers)
    return wall, (cpu_after - cpu if cpu is not None and cpu_after is not None else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if not CORPUS.is_dir():
        sys.exit(f"{CORPUS} is absent: the shared corpus is needed for this benchmark")
    queries = corpus_queries()
    chars = sum(len(q) for q in queries)
    print(f"corpus: {len(queries)} queries, {chars / len(queries):.0f} characters on average")
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")

    start = time.perf_counter()
    analysers = [KqlAnalyser(schema_dirs=[CORPUS / "reference" / "CustomTables"]) for _ in range(args.workers)]
    for analyser in analysers:
        analyser.start()
    print(f"start-up ({args.workers} worker(s), schema loaded, built-ins warmed): {time.perf_counter() - start:.2f} s")
    try:
        first, _ = run_pass(analysers, queries)
        print(f"first pass (meets every unknown table once): {len(queries) / first:.0f} queries/s")
        timings = [run_pass(analysers, queries) for _ in range(args.passes)]
        rates = [len(queries) / wall for wall, _ in timings]
        print(f"warm passes: {', '.join(f'{r:.0f}' for r in rates)} queries/s; "
              f"median {statistics.median(rates):.0f} queries/s (target >= 200)")
        if all(cpu for _, cpu in timings):
            per_cpu = [len(queries) / cpu for _, cpu in timings]
            print(f"per worker CPU-second: {', '.join(f'{r:.0f}' for r in per_cpu)} queries; "
                  f"median {statistics.median(per_cpu):.0f} (x workers = the wall rate with a core each)")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    finally:
        for analyser in analysers:
            analyser.close()


if __name__ == "__main__":
    main()
