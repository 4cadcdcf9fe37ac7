"""The emulator as a separate part of the package: its own api-version table, no import cycles,
its TLS dependency in an optional extra (issue 11, item 5)."""
from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import pytest

from packer.emulator import apiversions
from packer.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
EMULATOR = ROOT / "packer" / "emulator"


def _imports(path: Path) -> set[str]:
    """Every packer.* module a file imports, at any level (function-local and TYPE_CHECKING included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("packer"):
            if node.module == "packer.emulator":
                found.update(f"packer.emulator.{a.name}" for a in node.names)
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("packer"))
    return found


def _graph() -> dict[str, set[str]]:
    modules = {f"packer.emulator.{p.stem}": p for p in EMULATOR.glob("*.py") if p.stem != "__init__"}
    return {name: {d for d in _imports(path) if d in modules} for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_import_cycle_among_emulator_modules():
    assert _cycle(_graph()) is None


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_server_does_not_read_the_clients_api_versions():
    """Only clients.py (SDK clients pointed at the emulator, i.e. the client side) may use packer.remote."""
    offenders = {p.name: sorted(d for d in _imports(p) if d.startswith("packer.remote"))
                 for p in EMULATOR.glob("*.py") if p.name != "clients.py"}
    assert {name: deps for name, deps in offenders.items() if deps} == {}


def test_handlers_are_given_what_they_need_not_the_service():
    tree = ast.parse((EMULATOR / "handlers.py").read_text(encoding="utf-8"))
    init = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    assert [a.arg for a in init.args.args] == ["self", "config", "store", "onboarded", "validator", "compiler", "members"]
    assert "packer.emulator.service" not in _imports(EMULATOR / "handlers.py")


def test_every_route_kind_serves_the_tables_versions():
    from packer.emulator.routes import KINDS

    for name, kind in KINDS.items():
        assert kind.api_versions == apiversions.served(kind.name), name
    assert "2024-01-01-preview" in apiversions.served("alertRules")
    assert "2021-03-01-preview" in apiversions.served("metadata")
    assert "2022-11-01" not in apiversions.served("metadata")  # the 2022-11 stable tag has no Metadata.json
    assert apiversions.served("resourceGroups") == apiversions.served("subscriptions")


def test_trustme_is_an_optional_extra_that_the_test_extra_pulls_in():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not any(d.startswith("trustme") for d in project["dependencies"])
    assert any(d.startswith("trustme") for d in project["optional-dependencies"]["emulator"])
    emulator_extra = set(project["optional-dependencies"]["emulator"])
    assert emulator_extra <= set(project["optional-dependencies"]["test"])
    assert "pip install 'sentinel-packer[emulator]'" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_without_trustme_the_emulator_says_which_extra_to_install(monkeypatch, tmp_path):
    from packer.emulator import Emulator, tls

    monkeypatch.setitem(sys.modules, "trustme", None)  # `import trustme` now raises ImportError
    monkeypatch.setattr(tls, "_cached", {})
    with pytest.raises(ConfigError, match=r"pip install 'sentinel-packer\[emulator\]'"):
        Emulator(state_file=tmp_path / "state.json").start()
