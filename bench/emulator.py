"""How many requests per second the emulator serves on loopback with throttling off.

Bounded: N requests (default 3000) from T client threads (default 4), each thread on its own
keep-alive HTTPS connection: 20 creates, then 70% GET one, 20% PUT (update), 10% list.
Client and server share one process (and its GIL), so the server alone is faster. Prints the rate; no assertions.

    python bench/emulator.py [--requests 3000] [--threads 4]
"""
from __future__ import annotations

import argparse
import http.client
import json
import ssl
import threading
import time

from packer.emulator import Emulator, EmulatorConfig


BODY = json.dumps({"kind": "Scheduled", "properties": {
    "displayName": "bench", "enabled": True, "query": "SecurityEvent | take 1", "queryFrequency": "PT1H",
    "queryPeriod": "PT1H", "severity": "Low", "triggerOperator": "GreaterThan", "triggerThreshold": 0,
    "suppressionDuration": "PT5H", "suppressionEnabled": False}})


def _connection(emu: Emulator, token: str) -> tuple[http.client.HTTPSConnection, str, dict]:
    context = ssl.create_default_context(cafile=emu.ca_path)
    conn = http.client.HTTPSConnection("127.0.0.1", emu.port, context=context)
    rules = f"{emu.workspace.resource_id}/providers/Microsoft.SecurityInsights/alertRules"
    return conn, rules, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _first_put(emu: Emulator, token: str) -> float:
    """The emulator compiles a rule's query at PUT (issue 13) with a Kusto.Language worker that
    starts on the first query and caches each query text: this one PUT pays that start-up."""
    conn, rules, headers = _connection(emu, token)
    started = time.perf_counter()
    conn.request("PUT", f"{rules}/warm-up?api-version=2024-09-01", body=BODY, headers=headers)
    conn.getresponse().read()
    conn.close()
    return time.perf_counter() - started


def _worker(emu: Emulator, token: str, count: int, index: int, results: list) -> None:
    conn, rules, headers = _connection(emu, token)
    body = BODY
    statuses: dict[int, int] = {}
    for i in range(count):
        name = f"{rules}/t{index}-r{i % 20}?api-version=2024-09-01"
        if i < 20 or i % 5 == 0:  # the first 20 create the rules the GETs read; then 20% updates
            conn.request("PUT", name, body=body, headers=headers)
        elif i % 10 == 1:
            conn.request("GET", f"{rules}?api-version=2024-09-01", headers=headers)
        else:
            conn.request("GET", name, headers=headers)
        response = conn.getresponse()
        response.read()
        statuses[response.status] = statuses.get(response.status, 0) + 1
    conn.close()
    results.append(statuses)


def run(requests: int, threads: int) -> None:
    config = EmulatorConfig.from_dict({"throttling": {"enabled": False}, "page_size": 50})
    with Emulator(config) as emu:
        token = emu.credential().get_token("https://management.azure.com/.default").token
        first_put = _first_put(emu, token)
        per_thread = requests // threads
        results: list = []
        workers = [threading.Thread(target=_worker, args=(emu, token, per_thread, i, results)) for i in range(threads)]
        start = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - start
    total = per_thread * threads
    merged: dict[int, int] = {}
    for statuses in results:
        for status, n in statuses.items():
            merged[status] = merged.get(status, 0) + n
    print(f"first PUT (starts the KQL worker, once per emulator): {first_put:.2f}s")
    print(f"{total} requests over {threads} keep-alive connections in {elapsed:.2f}s: "
          f"{total / elapsed:,.0f} requests/s (statuses {dict(sorted(merged.items()))})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    run(args.requests, args.threads)


if __name__ == "__main__":
    main()
