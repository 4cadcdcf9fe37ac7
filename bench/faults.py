"""A fault storm: one apply of 192 items while 30% of requests answer 429, 500 or 503.

Generates the content as bench/apply.py does, starts the emulator with seeded fault injection
(`faults.error_rate`, random 429/500/503) and ARM's throttling on, plans and applies ONCE with
the client's default retry settings, and prints per seed: failures, duplicates (two resources
of one type and display name), the faults the emulator answered and the wall time. No assertions
(tests/test_apply_faults.py asserts the same with a short back-off).

    python bench/faults.py [--items 192] [--rate 0.3] [--seeds 1 2 3]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

from apply import emulator_target, generate  # bench/apply.py: the same generated content and target
from packer.apply import apply_plan
from packer.content.load import load_content_unchecked
from packer.emulator import Emulator, EmulatorConfig
from packer.plan.compute import compute_plan
from packer.remote.client import WorkspaceClient

STATUSES = (429, 500, 503)


def duplicates(emu: Emulator) -> int:
    names = Counter((r["type"].lower(), (r.get("properties") or {}).get("displayName")
                     or (r.get("properties") or {}).get("DisplayName")) for r in emu.store.dump()
                    if not r["type"].lower().endswith("/metadata"))
    return sum(count - 1 for (_, name), count in names.items() if name and count > 1)


def run(items: int, rate: float, seed: int) -> None:
    config = {"faults": {"seed": seed, "error_rate": rate, "error_statuses": list(STATUSES)}}
    with tempfile.TemporaryDirectory() as tmp, Emulator(EmulatorConfig.from_dict(config)) as emu:
        root = Path(tmp) / "content"
        generate(root, items)
        content = load_content_unchecked(root)
        target = emulator_target(emu)
        started = time.perf_counter()
        with WorkspaceClient(target, emu.credential(), emu.base_url, emu.ca_path) as client:
            plan = compute_plan(content, target, client, "bench", root=Path(tmp))
            report = apply_plan(plan, client, check_stale=False)
        elapsed = time.perf_counter() - started
        statuses = Counter(r.status for r in emu.requests)
        faults = sum(statuses[s] for s in STATUSES)
        print(f"seed {seed}: {items} items, {len(report.failures)} failures, {duplicates(emu)} duplicates; "
              f"{faults} of {sum(statuses.values())} answers were 429/500/503 "
              f"({', '.join(f'{s}: {statuses[s]}' for s in STATUSES)}); {elapsed:.1f} s; {report.summary()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=192)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    for seed in args.seeds:
        run(args.items, args.rate, seed)


if __name__ == "__main__":
    main()
