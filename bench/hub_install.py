"""Content Hub install + first apply of an N-rule solution into one emulator workspace under ARM's
write limits, then a no-change re-run.

Generates a solution.yaml and N scheduled analytic rules (bench/apply.py's rule shape), then
1. plans and applies them to an empty workspace: the package and its metadata, one template per
   rule, each rule and its metadata (3N + 2 writes), the client paced per subscription at ARM's
   write bucket (200, then 10 per second) as the rollout paces it, the emulator enforcing the same;
2. plans and applies again with nothing changed (list calls only).
The lower bound is ARM's: (writes - 200) / 10 seconds at --scale 1. Prints wall time, the ratio
to the bound, and the requests by method. No assertions.

    python bench/hub_install.py [--rules 500] [--scale 1] [--concurrency 8]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apply import ENABLED_RULES, RULE, SCHEDULE, TABLES, _id, emulator_target  # noqa: E402 - bench/apply.py, beside this file

from packer.apply import apply_plan  # noqa: E402
from packer.content.load import load_content_unchecked  # noqa: E402
from packer.emulator import Emulator, EmulatorConfig  # noqa: E402
from packer.plan.compute import compute_plan  # noqa: E402
from packer.remote.client import WorkspaceClient  # noqa: E402
from packer.rollout.budget import ArmLimits, SubscriptionBudget  # noqa: E402

SOLUTION = """name: Bench solution
publisherId: bench
offerId: bench-solution
version: 3.0.0
description: A generated solution for bench/hub_install.py.
author:
  name: bench
support:
  tier: Community
  name: bench
"""


def generate(root: Path, rules: int) -> None:
    (root / "analytic-rules").mkdir(parents=True)
    (root / "solution.yaml").write_text(SOLUTION)
    for n in range(rules):
        (root / "analytic-rules" / f"rule{n:04d}.yaml").write_text(RULE.format(
            id=_id("rule", n), n=n, table=TABLES[n % len(TABLES)], schedule=SCHEDULE, kind="Scheduled",
            enabled="true" if n < ENABLED_RULES else "false"))


def run(rules: int, scale: float, concurrency: int) -> None:
    config = {"throttling": {"enabled": True, "scale": scale}}
    limits = ArmLimits().scaled(scale)
    with tempfile.TemporaryDirectory() as tmp, Emulator(EmulatorConfig.from_dict(config)) as emu:
        root = Path(tmp) / "content"
        generate(root, rules)
        content = load_content_unchecked(root)
        target = emulator_target(emu)
        budget = SubscriptionBudget(target.subscription_id, limits)
        with WorkspaceClient(target, emu.credential(), emu.base_url, emu.ca_path, max_concurrency=concurrency,
                             rate_limiter=budget) as client:
            for label in ("install + first apply (empty workspace)", "no-change re-run"):
                mark = len(emu.requests)
                started = time.perf_counter()
                plan = compute_plan(content, target, client, "bench", root=Path(tmp), probe_tables=False)
                planned = time.perf_counter()
                report = apply_plan(plan, client, check_stale=False)
                done = time.perf_counter()
                requests = Counter(r.method for r in list(emu.requests)[mark:])
                throttled = sum(1 for r in list(emu.requests)[mark:] if r.status == 429)
                writes = requests.get("PUT", 0) + requests.get("DELETE", 0) - throttled
                bucket = limits.spec("write")
                bound = max(0.0, (writes - bucket.size) / bucket.refill_per_second)
                ratio = f", {(done - started) / bound:.2f}x the bound of {bound:.0f} s" if bound else ""
                print(f"{label}: {rules} rules, plan {planned - started:.2f} s, apply {done - planned:.2f} s, "
                      f"total {done - started:.2f} s{ratio}; {report.summary()}")
                print(f"  requests: {sum(requests.values())} ({', '.join(f'{k} {v}' for k, v in sorted(requests.items()))}),"
                      f" {throttled} answered 429")
        print(f"ARM limits x {scale:g}, concurrency {concurrency}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=500)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    run(args.rules, args.scale, args.concurrency)


if __name__ == "__main__":
    main()
