"""The analysis cache and cold runs (issue 17's "Done when"), measured in one run.

    python bench/cache.py [--skip-plan] [--skip-build] [--skip-memory]

1. validate (CLI, a fresh process, KQL on) of the bundled pack + the shared corpus's analytic and
   hunting rules: cold (empty cache), then warm (nothing changed). Goal: warm < 1 s wall.
2. 1,000 generated items (bench/apply.py's set), validated into a warm cache, then one rule
   changed: the queries sent to the Kusto.Language worker are counted. Goal: 1.
3. no-change plan of those 1,000 items against an emulator workspace holding them: validate
   (warm cache) + compute_plan, in one process, and apart from it the list calls alone.
   Goal: < 2 s plus the list calls.
4. cold `build` (CLI, KQL on, no analysis cache) of bench/build.py's 500 rules / 200 hunting
   queries / 20 workbooks: wall time and peak RSS of the whole process tree (Python and the Node
   workers, sampled every 20 ms), with the worker started from its startup snapshot (as after
   `kql install` or any earlier run on the machine), and from the script (a machine's first
   run). Goals: < 5 s, < 300 MB.
5. validate (KQL off) of 5,000 generated rules: peak RSS of the process. Goal: < 100 MB.

Prints figures and their ratio to the goal; asserts nothing. The 1,000-item paced apply is
bench/apply.py --arm-limits (it takes minutes).
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

CORPUS = ROOT.parent / "shared" / "corpus"
CLI = [sys.executable, "-c", "from packer.cli import main; main()"]


def ratio(value: float, goal: float) -> str:
    return f"{value / goal:.2f}x the goal ({'met' if value < goal else 'MISSED'})"


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        pending += children.get(current, [])
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(match.group(1)) if match else 0
    return total / 1024


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cli(args: list[str], env: dict[str, str], sample: bool = False) -> tuple[float, float, str, float]:
    """Wall seconds, peak tree RSS in MB (when sampled), stdout and CPU seconds (the process and
    the Node workers it waited for) of one CLI run."""
    cpu = children_cpu()
    started = time.perf_counter()
    process = subprocess.Popen([*CLI, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0.0]

    def sampler() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], tree_rss_mb(process.pid))
            time.sleep(0.02)

    thread = threading.Thread(target=sampler, daemon=True)
    if sample:
        thread.start()
    out, _ = process.communicate()
    wall = time.perf_counter() - started
    if sample:
        thread.join()
    return wall, peak[0], out, children_cpu() - cpu


def environment(cache: Path | str) -> dict[str, str]:
    env = dict(os.environ, SENTINEL_PACKER_CACHE_DIR=str(cache), SENTINEL_PACKER_REQUIRE_KQL="1")
    env.pop("SENTINEL_PACKER_KQL_WORKERS", None)
    return env


def status_line(out: str) -> str:
    found = re.search(r"KQL (checked [^\n]*)", out)
    return found.group(1) if found else "?"


def validate_warm(tmp: Path) -> None:
    print("1. validate, bundled pack + corpus rules, KQL on (CLI, fresh process)")
    paths = [str(ROOT / "content"), str(CORPUS / "rules" / "analytic"), str(CORPUS / "rules" / "hunting")]
    env = environment(tmp / "cache-validate")
    for label in ("cold (empty cache)", "warm (no change)", "warm (no change, again)"):
        wall, _, out, cpu = run_cli(["validate", *paths], env)
        print(f"   {label}: {wall:.2f} s wall, {cpu:.2f} s CPU; {status_line(out)}")
    print(f"   warm: wall {ratio(wall, 1.0)}; CPU {ratio(cpu, 1.0)}")


def analysed_by(status: str) -> int:
    checked = int(re.search(r"checked (\d+) quer", status).group(1))
    cached = re.search(r"(\d+) answered by the analysis cache", status)
    return checked - (int(cached.group(1)) if cached else 0)


def one_change(tmp: Path) -> Path:
    from apply import generate

    from packer.kql import cache as cache_module
    from packer.validate import validate_paths

    print("2. 1,000 items: warm cache, then one rule changed (worker requests counted)")
    root = tmp / "thousand" / "content"
    generate(root, 1000)
    (root / "solution.yaml").write_text((ROOT / "content" / "solution.yaml").read_text())
    os.environ["SENTINEL_PACKER_CACHE_DIR"] = str(tmp / "cache-thousand")
    started = time.perf_counter()
    cold = validate_paths([root])
    print(f"   cold: {time.perf_counter() - started:.2f} s; {cold.kql_status}")
    rule = root / "analytic-rules" / "rule0005.yaml"
    rule.write_text(rule.read_text().replace("| where TimeGenerated > ago(1h)", "| where TimeGenerated > ago(2h)"))
    cache_module._MEMORY.clear()  # as a new process would start
    started = time.perf_counter()
    warm = validate_paths([root])
    print(f"   one rule changed: {time.perf_counter() - started:.2f} s; {warm.kql_status}; "
          f"worker requests: {analysed_by(warm.kql_status)} (goal: 1)")
    return root


def no_change_plan(root: Path) -> None:
    from packer.apply import apply_plan
    from packer.emulator import Emulator, EmulatorConfig
    from packer.kql import cache as cache_module
    from packer.plan.compute import compute_plan
    from packer.plan.live import read_live_state
    from packer.remote.client import WorkspaceClient
    from apply import emulator_target  # bench/apply.py, beside this file
    from packer.validate import load_content

    print("3. no-change plan of 1,000 items (validate with a warm cache + plan, one process)")
    with Emulator(EmulatorConfig.from_dict({"throttling": {"enabled": False}})) as emu:
        target = emulator_target(emu)
        with WorkspaceClient(target, emu.credential(), emu.base_url, emu.ca_path, max_concurrency=4) as client:
            content = load_content(root)
            apply_plan(compute_plan(content, target, client, "bench", root=root.parent), client, check_stale=False)
            cache_module._MEMORY.clear()
            mark = len(emu.requests)
            cpu = time.process_time()
            started = time.perf_counter()
            content = load_content(root)
            validated = time.perf_counter()
            plan = compute_plan(content, target, client, "bench", root=root.parent)
            done = time.perf_counter()
            cpu = time.process_time() - cpu  # the emulator's threads share this process: an upper bound
            calls = len(emu.requests) - mark
            listed = time.perf_counter()
            read_live_state(client)
            lists = time.perf_counter() - listed
    total = done - started
    print(f"   validate {validated - started:.2f} s + plan {done - validated:.2f} s = {total:.2f} s; "
          f"{calls} requests; the list calls alone {lists:.2f} s; changes: {plan.has_changes}")
    print(f"   without the list calls: {total - lists:.2f} s, {ratio(total - lists, 2.0)}; CPU of the whole "
          f"process (client and emulator) {cpu:.2f} s")


def cold_build(tmp: Path) -> None:
    from build import write_content
    from packer.kql.analyser import build_snapshot
    from packer.kql.snapshot import SNAPSHOT_ENV

    print("4. cold build, 500 rules / 200 hunting queries / 20 workbooks, KQL on, no analysis cache (CLI)")
    root = tmp / "build" / "content"
    write_content(root)
    started = time.perf_counter()
    snapshot = build_snapshot()  # what `kql install`, or the first run on a machine, leaves behind
    print(f"   the worker snapshot, built once per machine and Node.js: {time.perf_counter() - started:.2f} s, {snapshot}")
    for label, env in (("worker from its snapshot", environment("off")),
                       ("worker from the script (no snapshot yet)", dict(environment("off"), **{SNAPSHOT_ENV: "off"}))):
        shutil.rmtree(tmp / "build" / "dist", ignore_errors=True)
        wall, peak, out, cpu = run_cli(["build", "--content", str(root), "--out", str(tmp / "build" / "dist")],
                                       env, sample=True)
        if "error" in out.lower() and "0 error" not in out.lower():
            print("   " + "\n   ".join(out.splitlines()[-5:]))
        print(f"   {label}: {wall:.2f} s wall ({ratio(wall, 5.0)}), {cpu:.2f} s CPU on 2 cores; peak RSS, Python + "
              f"Node workers: {peak:.0f} MB ({ratio(peak, 300.0)})")


def validate_memory(tmp: Path) -> None:
    print("5. validate of 5,000 generated rules, KQL off: peak RSS of the process")
    folder = tmp / "five-thousand" / "analytic-rules"
    folder.mkdir(parents=True)
    from generated import analytic_rule

    for i in range(5000):
        (folder / f"rule_{i:05}.yaml").write_text(analytic_rule(i), encoding="utf-8")
    # VmHWM, not ru_maxrss: the latter keeps the forking parent's size across exec
    peak_kb = "int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
    script = ("import sys; from packer.validate import validate_paths; "
              f"r = validate_paths([sys.argv[1]], kql=False); "
              f"print(r.files_checked, len(r.errors), {peak_kb})")
    out = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout.split()
    peak = int(out[2]) / 1024
    baseline = int(subprocess.run([sys.executable, "-c", "import packer.validate, packer.content.load; "
                                   f"print({peak_kb})"],
                                  capture_output=True, text=True, check=True, cwd=ROOT).stdout) / 1024
    print(f"   {out[0]} files, {out[1]} errors: peak RSS {peak:.0f} MB ({ratio(peak, 100.0)}); "
          f"the same process after imports only: {baseline:.0f} MB; per file {(peak - baseline) * 1024 / 5000:.1f} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-plan", action="store_true")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--only-memory", action="store_true")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="packer-cache-bench-") as name:
        tmp = Path(name)
        if args.only_memory:
            validate_memory(tmp)
            return
        if CORPUS.is_dir():
            validate_warm(tmp)
        root = one_change(tmp)
        if not args.skip_plan:
            no_change_plan(root)
        if not args.skip_build:
            cold_build(tmp)
        if not args.skip_memory:
            validate_memory(tmp)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
