"""apply of 1,000 items into one emulator workspace with injected latency, then a no-change re-run.

Generates 700 analytic rules (every tenth NRT), 250 hunting queries, 40 parsers and 10
workbooks as files, loads them (unchecked: validation is measured by bench/validate.py), then
1. plans and applies them to an empty workspace (every request delayed by --latency-ms),
2. plans and applies again with nothing changed.
Prints wall time per phase and the requests the emulator saw, by method. Throttling is off
unless --arm-limits (ARM's write bucket alone then bounds phase 1 to about
(2 x items - 200) / 10 seconds). No assertions.

    python bench/apply.py [--items 1000] [--latency-ms 30] [--concurrency 4] [--arm-limits] [--unpaced]

Writes are paced by the subscription budget (packer.rollout.budget, ARM's buckets) as
`sentinel-packer apply` paces them; --unpaced sends them as fast as the client can. With
--arm-limits it prints the 429 answers and the apply time against the write bucket's bound.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from packer.apply import apply_plan
from packer.content.load import load_content_unchecked
from packer.emulator import Emulator, EmulatorConfig
from packer.plan.compute import compute_plan
from packer.remote.client import WorkspaceClient
from packer.rollout.budget import ArmLimits, SubscriptionBudget
from packer.targets.model import Target

TABLES = ("DeviceProcessEvents", "DeviceNetworkEvents", "DeviceFileEvents", "SecurityEvent", "SigninLogs")
RULE = """id: {id}
name: Bench rule {n:04d}
description: Bench rule {n:04d} on {table}.
severity: Medium
requiredDataConnectors: []
{schedule}tactics:
  - Persistence
relevantTechniques:
  - T1098
query: |
  {table}
  | where TimeGenerated > ago(1h)
  | extend Marker = 'bench-{n:04d}'
  | summarize Count = count() by Computer = tostring(TimeGenerated)
entityMappings:
  - entityType: Host
    fieldMappings:
      - identifier: HostName
        columnName: Computer
version: 1.0.{n}
kind: {kind}
enabled: {enabled}
"""
SCHEDULE = "queryFrequency: 1h\nqueryPeriod: 1h\ntriggerOperator: gt\ntriggerThreshold: 0\n"
HUNT = """id: {id}
name: Bench hunt {n:04d}
description: Bench hunting query {n:04d}.
requiredDataConnectors: []
tactics: Discovery
relevantTechniques: T1087
query: |
  {table}
  | where TimeGenerated > ago(7d)
  | take {n}
version: 1.0.0
"""
PARSER = """id: {id}
Function:
  Title: Bench parser {n:04d}
  Version: '1.0.0'
  LastUpdated: '2026-11-26'
Category: Microsoft Sentinel Parser
FunctionName: BenchParser{n:04d}
FunctionAlias: BenchParser{n:04d}
FunctionQuery: |
  {table}
  | extend Source = 'parser-{n:04d}'
"""
WORKBOOK = """workbookKey: BenchWorkbook{n:04d}
title: Bench workbook {n:04d}
description: Bench workbook {n:04d}.
version: 1.0.0
dataTypesDependencies: [{table}]
dataConnectorsDependencies: []
previewImagesFileNames: []
templateRelativePath: bench{n:04d}.json
"""


# Sentinel refuses a workspace's 513th enabled Scheduled rule and 51st enabled NRT rule (the
# emulator too): the first 500 rules (450 Scheduled, 50 NRT) are enabled, the rest disabled.
ENABLED_RULES = 500


def _id(kind: str, n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{kind}/{n}"))


def generate(root: Path, items: int) -> None:
    counts = {"rules": items * 70 // 100, "hunting": items * 25 // 100, "parsers": items * 4 // 100}
    counts["workbooks"] = items - sum(counts.values())
    for folder in ("analytic-rules", "hunting-queries", "parsers", "workbooks"):
        (root / folder).mkdir(parents=True)
    for n in range(counts["rules"]):
        nrt = n % 10 == 0
        (root / "analytic-rules" / f"rule{n:04d}.yaml").write_text(RULE.format(
            id=_id("rule", n), n=n, table=TABLES[n % len(TABLES)], schedule="" if nrt else SCHEDULE,
            kind="NRT" if nrt else "Scheduled", enabled="true" if n < ENABLED_RULES else "false"))
    for n in range(counts["hunting"]):
        (root / "hunting-queries" / f"hunt{n:04d}.yaml").write_text(HUNT.format(id=_id("hunt", n), n=n,
                                                                                table=TABLES[n % len(TABLES)]))
    for n in range(counts["parsers"]):
        (root / "parsers" / f"parser{n:04d}.yaml").write_text(PARSER.format(id=_id("parser", n), n=n,
                                                                          table=TABLES[n % len(TABLES)]))
    for n in range(counts["workbooks"]):
        (root / "workbooks" / f"bench{n:04d}.yaml").write_text(WORKBOOK.format(n=n, table=TABLES[n % len(TABLES)]))
        panels = [{"type": 3, "content": {"version": "KqlItem/1.0", "query": f"{TABLES[p % 5]} | take {p}",
                                          "size": 0, "queryType": 0}, "name": f"query - {p}"} for p in range(10)]
        (root / "workbooks" / f"bench{n:04d}.json").write_text(json.dumps({"version": "Notebook/1.0", "items": panels}))


def _requests(emu: Emulator, since: int) -> Counter:
    return Counter(f"{r.method}{' list' if r.method == 'GET' and _is_list(r.path) else ''}"
                   for r in list(emu.requests)[since:])


def _is_list(path: str) -> bool:
    return path.lower().rstrip("/").rsplit("/", 1)[-1] in ("alertrules", "metadata", "savedsearches", "workbooks",
                                                           "tables")


def emulator_target(emu) -> Target:
    """The emulator's workspace as a deployment target of the benchmarks' repository."""
    ws = emu.workspace
    return Target(ws.name, emu.tenant_id, ws.subscription, ws.resource_group, ws.name, "bench/repo")


def run(items: int, latency_ms: float, concurrency: int, arm_limits: bool, paced: bool = True) -> None:
    config = {"throttling": {"enabled": arm_limits}, "faults": {"latency_ms": latency_ms}}
    with tempfile.TemporaryDirectory() as tmp, Emulator(EmulatorConfig.from_dict(config)) as emu:
        root = Path(tmp) / "content"
        generate(root, items)
        content = load_content_unchecked(root)
        target = emulator_target(emu)
        budget = SubscriptionBudget(target.subscription_id, ArmLimits()) if paced else None
        with WorkspaceClient(target, emu.credential(), emu.base_url, emu.ca_path,
                             max_concurrency=concurrency, rate_limiter=budget) as client:
            for label in ("first apply (empty workspace)", "no-change re-run"):
                mark = len(emu.requests)
                started = time.perf_counter()
                plan = compute_plan(content, target, client, "bench", root=Path(tmp))
                planned = time.perf_counter()
                report = apply_plan(plan, client, check_stale=False)
                done = time.perf_counter()
                requests = _requests(emu, mark)
                print(f"{label}: {len(content.items)} items, plan {planned - started:.2f} s, apply "
                      f"{done - planned:.2f} s, total {done - started:.2f} s; {report.summary()}")
                print(f"  requests: {sum(requests.values())} ({', '.join(f'{k} {v}' for k, v in sorted(requests.items()))})")
                writes = sum(1 for r in list(emu.requests)[mark:] if r.method in ("PUT", "DELETE"))
                if writes:
                    throttled = sum(1 for r in list(emu.requests)[mark:] if r.method in ("PUT", "DELETE") and r.status == 429)
                    bound = max(0.0, (writes - throttled - 200) / 10)
                    print(f"  write answers: {writes}, 429: {throttled} ({throttled / writes:.1%}); apply "
                          f"{done - planned:.1f} s against ARM's write-bucket bound {bound:.1f} s"
                          + (f" = {(done - planned) / bound:.3f}x" if bound else ""))
        if budget is not None:
            print(f"  budget: {budget.granted['write']} writes granted, {budget.waited_seconds:.1f} s waited in total "
                  "(summed over the concurrent writers)")
        print(f"{'paced' if paced else 'unpaced'}, latency {latency_ms:g} ms per request, concurrency {concurrency}, throttling "
              f"{'ARM limits' if arm_limits else 'off'}, emulator page size {emu.config.page_size}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--arm-limits", action="store_true", help="ARM's per-subscription token buckets on")
    parser.add_argument("--unpaced", action="store_true", help="no client-side budget (the behaviour before issue 17)")
    args = parser.parse_args()
    run(args.items, args.latency_ms, args.concurrency, args.arm_limits, paced=not args.unpaced)


if __name__ == "__main__":
    main()
