"""Benchmark `build`: a generated solution of 500 analytic rules, 200 hunting queries and
20 workbooks (plus one parser), loaded from YAML files, rendered, checked and written.

Run: python bench/build.py. Prints seconds per phase and peak memory; not a test.
Target: under 5 seconds and under 300 MB for the whole build.
"""
from __future__ import annotations

import json
import resource
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

from generated import analytic_rule

from packer.content.load import load_content_unchecked
from packer.package.build import render_files, write_files
from packer.package.inputs import from_content_set

RULES, QUERIES, WORKBOOKS = 500, 200, 20

SOLUTION = """\
name: Generated benchmark solution
publisherId: benchpublisher
offerId: bench-solution
version: 3.0.0
description: A generated solution for the build benchmark.
author: {name: bench, email: bench@example.com}
support: {tier: Community, name: bench, email: bench@example.com, link: https://example.com}
firstPublishDate: '2026-01-01'
categories: {domains: [Security - Threat Protection], verticals: []}
providers: [Microsoft]
"""


def hunting(i: int) -> str:
    return f"""\
id: {uuid.UUID(int=100_000 + i)}
name: Generated hunting query {i}
description: Generated hunting query number {i}.
requiredDataConnectors:
  - connectorId: MicrosoftThreatProtection
    dataTypes: [DeviceNetworkEvents]
tactics: [CommandAndControl]
relevantTechniques: [T1219]
query: |
  DeviceNetworkEvents
  | where RemoteUrl has "tool{i}.example"
version: 1.0.0
"""


def workbook_json(i: int) -> dict:
    items = [{"type": 3, "content": {"version": "KqlItem/1.0", "query": f"DeviceProcessEvents | where FileName has 'w{i}-{j}'",
                                     "size": 0, "title": f"Panel {j}", "queryType": 0, "resourceType": "microsoft.operationalinsights/workspaces",
                                     "visualization": "timechart", "gridSettings": None, "tileSettings": {}},
              "name": f"query - {j}"} for j in range(40)]
    return {"version": "Notebook/1.0", "items": items, "fallbackResourceIds": [], "fromTemplateId": f"wb{i}"}


def write_content(root: Path) -> None:
    root.mkdir(parents=True)
    (root / "solution.yaml").write_text(SOLUTION, encoding="utf-8")
    for folder in ("analytic-rules", "hunting-queries", "workbooks", "parsers"):
        (root / folder).mkdir(parents=True)
    for i in range(RULES):
        (root / "analytic-rules" / f"rule_{i:04}.yaml").write_text(analytic_rule(i), encoding="utf-8")
    for i in range(QUERIES):
        (root / "hunting-queries" / f"query_{i:04}.yaml").write_text(hunting(i), encoding="utf-8")
    for i in range(WORKBOOKS):
        (root / "workbooks" / f"wb_{i:02}.json").write_text(json.dumps(workbook_json(i), indent=2), encoding="utf-8")
        (root / "workbooks" / f"wb_{i:02}.yaml").write_text(
            f"workbookKey: GeneratedWorkbook{i}\ntitle: Generated workbook {i}\ndescription: Workbook {i}.\n"
            f"version: 1.0.0\ntemplateRelativePath: wb_{i:02}.json\ndataTypesDependencies: [DeviceProcessEvents]\n",
            encoding="utf-8")
    (root / "parsers" / "Gen.yaml").write_text(
        "id: 5f0c1c58-8f1e-4d53-9a39-3c2a5d9e1b7a\nFunction: {Title: Generated parser, Version: '1.0.0'}\n"
        "Category: Microsoft Sentinel Parser\nFunctionName: GenParser\nFunctionQuery: |\n  DeviceProcessEvents\n",
        encoding="utf-8")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="packer-bench-") as tmp:
        root, out = Path(tmp) / "content", Path(tmp) / "dist"
        write_content(root)
        start = time.perf_counter()
        content = load_content_unchecked(root)
        loaded = time.perf_counter()
        files = render_files(from_content_set(content))
        rendered = time.perf_counter()
        write_files(out, files)
        done = time.perf_counter()
        size = sum(len(b) for b in files.values())
        print(f"items: {RULES} rules, {QUERIES} hunting queries, {WORKBOOKS} workbooks, 1 parser")
        print(f"load {loaded - start:.2f} s, render+check {rendered - loaded:.2f} s, write {done - rendered:.2f} s,"
              f" total {done - start:.2f} s")
        print(f"output: {len(files)} files, {size / 1e6:.1f} MB")
        print(f"peak RSS (whole process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        tracemalloc.start()
        render_files(from_content_set(content))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"peak Python allocations during render+check (tracemalloc): {peak / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
