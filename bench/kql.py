"""Queries per second of KQL analysis in a warm Kusto.Language worker, over the shared corpus.

    python bench/kql.py [--passes 3] [--workers 1]

Reads the analytic and hunting queries of ../shared/corpus/rules (CustomTables as a user schema
folder, as the conformance test does), starts the worker(s), runs one warm-up pass (it also
meets every unknown table once), then times `--passes` passes, pipelined. Prints numbers only;
the target is >= 200 queries/s.
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


def run_pass(analysers: list[KqlAnalyser], queries: list[str]) -> float:
    """Seconds to analyse every query once, split round-robin over the workers."""
    shares = [queries[i::len(analysers)] for i in range(len(analysers))]
    start = time.perf_counter()
    with ThreadPoolExecutor(len(analysers)) as pool:
        list(pool.map(lambda pair: pair[0].analyse_many(pair[1]), zip(analysers, shares)))
    return time.perf_counter() - start


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
        first = run_pass(analysers, queries)
        print(f"first pass (meets every unknown table once): {len(queries) / first:.0f} queries/s")
        rates = [len(queries) / run_pass(analysers, queries) for _ in range(args.passes)]
        print(f"warm passes: {', '.join(f'{r:.0f}' for r in rates)} queries/s; "
              f"median {statistics.median(rates):.0f} queries/s (target >= 200)")
    finally:
        for analyser in analysers:
            analyser.close()


if __name__ == "__main__":
    main()
