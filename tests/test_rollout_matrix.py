"""`targets matrix`: shards of whole subscriptions, per wave, as GitHub Actions matrix JSON."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from packer.cli import app
from packer.errors import ConfigError
from packer.rollout.matrix import job_matrix
from packer.targets import load_inventory
from tests.fleetkit import fleet_inventory


@pytest.fixture
def targets_file(tmp_path: Path) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(fleet_inventory(workspaces=20, subscriptions=4))
    return path


def test_matrix_covers_every_workspace_once_without_splitting_a_subscription(targets_file: Path) -> None:
    inventory = load_inventory(targets_file)
    include = job_matrix(inventory, shard_size=4)["include"]
    names = [name for entry in include for name in entry["select"].split(",")]
    assert sorted(names) == sorted(t.name for t in inventory.targets)
    for entry in include:
        shard = inventory.select(glob=entry["select"])
        assert {t.wave for t in shard} == {entry["wave"]}
        assert entry["workspaces"] == len(shard) and entry["subscriptions"] == len({t.subscription_id for t in shard})
    shard_of = {}
    for entry in include:
        for target in inventory.select(glob=entry["select"]):
            shard_of.setdefault((target.wave, target.subscription_id), set()).add(entry["shard"])
    assert all(len(shards) == 1 for shards in shard_of.values())
    assert [e["wave"] for e in include] == sorted((e["wave"] for e in include), key=["canary", "early", "broad"].index)


def test_matrix_for_one_wave_through_the_cli(targets_file: Path) -> None:
    result = CliRunner().invoke(app, ["targets", "matrix", "--targets", str(targets_file), "--wave", "early", "--shard-size", "3"])
    assert result.exit_code == 0, result.output
    include = json.loads(result.stdout)["include"]
    assert {e["wave"] for e in include} == {"early"}
    assert sum(e["workspaces"] for e in include) == 6
    assert all(e["shard"].startswith("early-") for e in include)


def test_a_wave_without_workspaces_is_an_empty_matrix_and_an_unknown_wave_an_error(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(fleet_inventory(workspaces=2, subscriptions=1))  # both in canary: early, broad empty
    for wave in ("early", "broad"):
        result = CliRunner().invoke(app, ["targets", "matrix", "--targets", str(path), "--wave", wave])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == {"include": []}
    canary = json.loads(CliRunner().invoke(app, ["targets", "matrix", "--targets", str(path), "--wave", "canary"]).stdout)
    assert sum(e["workspaces"] for e in canary["include"]) == 2
    with pytest.raises(ConfigError, match="no wave named 'canry'"):
        job_matrix(load_inventory(path), wave="canry")


def test_shard_size_must_be_positive(targets_file: Path) -> None:
    with pytest.raises(ConfigError):
        job_matrix(load_inventory(targets_file), shard_size=0)


def test_targets_list_shows_tenant_auth_wave_and_overlay(targets_file: Path) -> None:
    result = CliRunner().invoke(app, ["targets", "list", "--targets", str(targets_file), "--wave", "canary"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if "ws0" in line]
    assert len(rows) == 2 and "lighthouse" in rows[1] and "fabrikam" in rows[1] and "yes" in rows[1]
