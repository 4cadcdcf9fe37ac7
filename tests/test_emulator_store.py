"""The emulator's store, indexed by collection: right answers among thousands of unrelated
resources, stable order, state files, concurrent writers, and work on one workspace that does
not grow with what other workspaces hold (counted in bytecode instructions, not timed)."""
from __future__ import annotations

import json
import sys
import threading

from packer.emulator import Emulator, EmulatorConfig
from packer.emulator.messages import Request
from packer.emulator.facts import WorkspaceFacts
from packer.emulator.routes import resolve
from packer.emulator.store import ResourceStore

SUB = "00000000-0000-4000-8000-0000000000b1"
OTHERS = 5000


def workspace_id(i: int) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/rg-{i}/providers/Microsoft.OperationalInsights/workspaces/law-{i}"


def rules_of(i: int) -> str:
    return f"{workspace_id(i)}/providers/Microsoft.SecurityInsights/alertRules"


def searches_of(i: int) -> str:
    return f"{workspace_id(i)}/savedSearches"


def raw_write(store: ResourceStore, resource_id: str, **properties) -> None:
    store.write(resource_id, {"id": resource_id, "name": resource_id.rsplit("/", 1)[1], "properties": properties})


def fill_other_workspaces(store: ResourceStore, count: int = OTHERS, workspaces: range = range(10, 60)) -> None:
    """`count` rules and saved searches spread over workspaces law-10..law-59: their ids share the
    prefix `.../law-1` with workspace 1's, so a prefix match that forgets the `/` would see them."""
    for n in range(count):
        i = workspaces[n % len(workspaces)]
        if n % 2:
            raw_write(store, f"{rules_of(i)}/rule-{n}", query="SecurityEvent")
        else:
            raw_write(store, f"{searches_of(i)}/search-{n}", functionAlias=f"Other{n}")


def names(bodies) -> list[str]:
    return [b["name"] for b in bodies]


def opcodes_executed(fn) -> int:
    """Bytecode instructions `fn()` runs in Python code: deterministic, unlike its duration."""
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "opcode":
            count += 1
        return local

    def enter(frame, event, arg):
        frame.f_trace_opcodes = True
        return local

    previous = sys.gettrace()
    sys.settrace(enter)
    try:
        fn()
    finally:
        sys.settrace(previous)
    return count


def test_a_collection_lists_only_its_own_resources_among_thousands_of_others():
    store = ResourceStore()
    fill_other_workspaces(store)
    for n in range(5):
        raw_write(store, f"{rules_of(1)}/Rule-{n}")
    raw_write(store, f"{searches_of(1)}/parser")
    assert names(store.iter_under(rules_of(1))) == [f"Rule-{n}" for n in range(5)]
    assert names(store.iter_under(rules_of(1).upper() + "/")) == [f"Rule-{n}" for n in range(5)]
    assert names(store.iter_under(searches_of(1))) == ["parser"]
    assert store.read(f"{rules_of(1)}/RULE-3".lower())["name"] == "Rule-3"
    assert names(store.list(workspace_id(1))) == [f"Rule-{n}" for n in range(5)] + ["parser"]
    assert len(store) == OTHERS + 6


def test_order_is_creation_order_through_replace_delete_and_recreate():
    store = ResourceStore()
    for name in ("a", "b", "c"):
        raw_write(store, f"{rules_of(1)}/{name}")
    raw_write(store, f"{searches_of(1)}/s1")
    raw_write(store, f"{rules_of(1)}/B", replaced=True)  # same resource: keeps its place
    assert store.delete(f"{rules_of(1)}/A")
    raw_write(store, f"{rules_of(1)}/a")  # a new resource: goes last
    assert names(store.iter_under(rules_of(1))) == ["B", "c", "a"]
    assert store.read(f"{rules_of(1)}/b")["properties"] == {"replaced": True}
    assert names(store.list(workspace_id(1))) == ["B", "c", "s1", "a"]
    assert names(store.list()) == ["B", "c", "s1", "a"]
    for name in ("b", "c", "a"):
        assert store.delete(f"{rules_of(1)}/{name}")
    assert not store.delete(f"{rules_of(1)}/a")
    assert list(store.iter_under(rules_of(1))) == [] and names(store.list(workspace_id(1))) == ["s1"]


def test_a_listing_is_a_snapshot_that_later_writes_do_not_change():
    store = ResourceStore()
    raw_write(store, f"{rules_of(1)}/a")
    listing = store.iter_under(rules_of(1))
    raw_write(store, f"{rules_of(1)}/b")
    store.delete(f"{rules_of(1)}/a")
    assert names(listing) == ["a"]


def test_state_round_trip_keeps_the_plain_list_format_order_and_index():
    store = ResourceStore()
    fill_other_workspaces(store, count=200)
    for name in ("z", "y"):
        raw_write(store, f"{rules_of(1)}/{name}")
    dumped = store.dump()
    assert isinstance(dumped, list) and all(isinstance(b, dict) and b["id"] for b in dumped)
    loaded = ResourceStore()
    loaded.load(json.loads(json.dumps(dumped)))
    assert loaded.dump() == dumped
    assert names(loaded.iter_under(rules_of(1))) == ["z", "y"]
    raw_write(loaded, f"{rules_of(1)}/x")
    assert names(loaded.iter_under(rules_of(1))) == ["z", "y", "x"]


def test_concurrent_writers_and_readers_leave_a_consistent_index():
    store = ResourceStore()
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for n in range(400):
                resource_id = f"{rules_of(n % 3)}/w{worker}-{n % 50}"
                if n % 4 == 3:
                    store.delete(resource_id)
                else:
                    raw_write(store, resource_id, n=n)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def reader() -> None:
        try:
            for n in range(400):
                list(store.iter_under(rules_of(n % 3)))
                store.list(workspace_id(n % 3))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)] + [threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    listed = [b["id"].lower() for i in range(3) for b in store.iter_under(rules_of(i))]
    assert sorted(listed) == sorted(i.lower() for i in store.ids())
    assert len(listed) == len(store) and all(store.read(i) is not None for i in listed)


def test_work_in_one_collection_does_not_grow_with_other_workspaces():
    def store_with(others: int) -> ResourceStore:
        store = ResourceStore()
        fill_other_workspaces(store, count=others)
        for n in range(10):
            raw_write(store, f"{rules_of(1)}/r{n}")
        return store

    def work(store: ResourceStore) -> None:
        list(store.iter_under(rules_of(1)))
        raw_write(store, f"{rules_of(1)}/r3", replaced=True)
        raw_write(store, f"{rules_of(1)}/new")
        store.read(f"{rules_of(1)}/r4")
        store.delete(f"{rules_of(1)}/new")

    alone, crowded = store_with(0), store_with(OTHERS)
    assert opcodes_executed(lambda: work(crowded)) == opcodes_executed(lambda: work(alone))
    assert names(crowded.iter_under(rules_of(1))) == [f"r{n}" for n in range(10)]


def _emulator(others: int) -> Emulator:
    config = EmulatorConfig.from_dict({
        "throttling": {"enabled": False}, "page_size": 4,
        "workspaces": [{"subscription": SUB, "resource_group": f"rg-{i}", "name": f"law-{i}"} for i in range(60)]})
    emu = Emulator(config)  # not started: the service is driven in-process
    fill_other_workspaces(emu.store, count=others)
    raw_write(emu.store, f"{searches_of(1)}/parser", functionAlias="MyParser")
    return emu


def _request(emu: Emulator, method: str, target: str, body: dict | None = None) -> Request:
    token = emu.credential().get_token("https://management.azure.com/.default").token
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    return Request(method, target, headers, json.dumps(body).encode() if body else b"", "https://emulator")


RULE = {"kind": "Scheduled", "properties": {
    "displayName": "Uses a parser", "enabled": True, "query": "MyParser | take 1", "queryFrequency": "PT1H",
    "queryPeriod": "PT1H", "severity": "Low", "triggerOperator": "GreaterThan", "triggerThreshold": 0,
    "suppressionDuration": "PT5H", "suppressionEnabled": False}}


def test_workspace_facts_read_only_the_workspace_own_saved_searches():
    alone, crowded = _emulator(0), _emulator(OTHERS)
    route = resolve(f"{rules_of(1)}/r1")
    assert WorkspaceFacts.of(alone.config, alone.store, route) == WorkspaceFacts.of(crowded.config, crowded.store, route)  # also warms lookups
    assert WorkspaceFacts.of(crowded.config, crowded.store, route).functions == frozenset({"MyParser"})
    # a saved search's function is compiled against the others, not against its own older body
    assert WorkspaceFacts.of(crowded.config, crowded.store, resolve(f"{searches_of(1)}/parser")).functions == frozenset()
    metadata = resolve(rules_of(1).replace("/alertRules", "/metadata") + "/m1")
    assert WorkspaceFacts.of(crowded.config, crowded.store, metadata) is None  # no query to compile
    assert (opcodes_executed(lambda: WorkspaceFacts.of(crowded.config, crowded.store, route))
            == opcodes_executed(lambda: WorkspaceFacts.of(alone.config, alone.store, route)))


def test_put_and_paged_list_through_the_service_among_thousands_of_others():
    emu = _emulator(OTHERS)
    for n in range(10):
        response = emu.service.handle(_request(emu, "PUT", f"{rules_of(1)}/r{n}?api-version=2024-09-01", RULE))
        assert response.status == 201, response.body
    seen, target, pages = [], f"{rules_of(1)}?api-version=2024-09-01", 0
    while target:
        page = emu.service.handle(_request(emu, "GET", target)).body
        seen += names(page["value"])
        target = page.get("nextLink", "").removeprefix("https://emulator")
        pages += 1
    assert seen == [f"r{n}" for n in range(10)] and pages == 3
    other = emu.service.handle(_request(emu, "GET", f"{rules_of(11)}?api-version=2024-09-01")).body
    assert other["value"] and all(b["id"].lower().startswith(rules_of(11).lower() + "/") for b in other["value"])


def test_a_service_put_and_list_do_the_same_work_with_or_without_other_workspaces():
    def work(emu: Emulator):
        put = _request(emu, "PUT", f"{rules_of(1)}/r1?api-version=2024-09-01", RULE)
        listing = _request(emu, "GET", f"{rules_of(1)}?api-version=2024-09-01")
        emu.service.handle(put)  # warms caches and creates r1, so the measured PUT is a replace
        emu.service.handle(listing)
        return lambda: (emu.service.handle(put), emu.service.handle(listing))

    alone, crowded = _emulator(0), _emulator(OTHERS)
    assert opcodes_executed(work(crowded)) == opcodes_executed(work(alone))
