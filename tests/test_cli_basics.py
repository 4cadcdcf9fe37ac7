"""Root options and help (issue 15 items 10, 11): --verbose/--debug, completion, plain flags."""
from __future__ import annotations

import logging

import pytest
from typer.testing import CliRunner

from packer.cli import app
from packer.errors import ConfigError


def test_help_offers_completion_and_logging_switches_and_no_bool_labels():
    root = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    for option in ("--install-completion", "--show-completion", "--verbose", "--debug"):
        assert option in root.output
    plan = CliRunner().invoke(app, ["plan", "--help"], env={"COLUMNS": "200"})
    assert "--show-unchanged" in plan.output and "<bool>" not in plan.output


@pytest.mark.parametrize(("flag", "packer_level", "azure_level"),
                         [(None, logging.WARNING, logging.ERROR), ("--verbose", logging.INFO, logging.ERROR),
                          ("--debug", logging.DEBUG, logging.DEBUG)])
def test_verbosity_sets_the_log_levels(flag, packer_level, azure_level):
    args = ([flag] if flag else []) + ["targets", "list", "--targets", "no-such-targets.yaml"]
    with pytest.raises(ConfigError):
        CliRunner().invoke(app, args, catch_exceptions=False)
    assert logging.getLogger().level == packer_level
    assert logging.getLogger("azure").level == azure_level
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("azure").setLevel(logging.NOTSET)


def test_doctor_gives_lighthouse_advice_when_the_subscription_is_not_delegated(tmp_path, emulator_factory):
    from packer.targets import load_inventory
    from tests.fleetkit import emulator_config, fleet_inventory, write_content

    write_content(tmp_path / "content")
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=2, subscriptions=1))
    config = emulator_config(load_inventory(tmp_path / "targets.yaml"))
    for subscription in config["subscriptions"].values():
        subscription["delegated_to"] = []  # the customer never deployed the Lighthouse delegation
    emulator = emulator_factory(config)
    result = CliRunner().invoke(app, ["doctor", "--target", "ws01", "--targets", str(tmp_path / "targets.yaml"),
                                      "--content", str(tmp_path / "content"), "--base-url", emulator.base_url,
                                      "--ca-cert", emulator.ca_path, "--emulator-tenant", "target"])
    assert result.exit_code == 1
    assert "FAIL workspace" in result.stdout and "arm/lighthouse-delegation.json" in result.stdout
    assert "assign Microsoft Sentinel Contributor" not in result.stdout
