"""The README's Python section runs as written, against the emulator, with the commands' setup."""
from __future__ import annotations

import re

import packer
from packer.targets import load_inventory
from tests.conftest import PROJECT_ROOT
from tests.fleetkit import emulator_config, fleet_inventory, write_content


def readme_python() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the README's Python section has one example"
    return blocks[0]


def test_the_readme_python_example_runs(tmp_path, monkeypatch, emulator_factory, capsys):
    write_content(tmp_path / "content")
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=4, subscriptions=1))
    emulator = emulator_factory(emulator_config(load_inventory(tmp_path / "targets.yaml")))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SENTINEL_PACKER_BASE_URL", emulator.base_url)
    monkeypatch.setenv("SENTINEL_PACKER_CA_CERT", str(emulator.ca_path))
    monkeypatch.setenv("SENTINEL_PACKER_EMULATOR_TENANT", "target")

    exec(compile(readme_python(), "README.md (Python)", "exec"), {})

    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("0 error(s) in ")
    assert "to create" in printed[1] and printed[2] == "True"
    # live coverage before anything is deployed: the content maps T1219, nothing covers it yet
    assert printed[3].startswith("ATT&CK Enterprise v") and "ws00: 0 of 1 technique(s)" in printed[3]
    assert printed[4].startswith("Apply complete:") and " 0 failed" in printed[4]
    assert emulator.counters.total()["writes"] > 0


def test_the_package_exports_its_entry_points_and_nothing_it_does_not_have():
    for name in packer.__all__:
        assert getattr(packer, name) is not None
    assert packer.connect_fleet.__module__ == "packer.connect"
    try:
        packer.no_such_entry_point
    except AttributeError as exc:
        assert "no_such_entry_point" in str(exc)
    else:
        raise AssertionError("an unknown name must raise AttributeError")
