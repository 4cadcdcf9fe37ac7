"""`sentinel-packer plan` / `apply` through the CLI against the emulator: exit codes, files, refusals."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from packer.cli import app
from packer.errors import ConfigError, ValidationFailed
from tests.plankit import KASEYA_RULE, REPOSITORY, edit

runner = CliRunner()


@pytest.fixture
def flags(emulator, repo):
    ws = emulator.workspace
    return ["--subscription", ws.subscription, "--resource-group", ws.resource_group, "--workspace", ws.name,
            "--tenant", emulator.tenant_id, "--repository", REPOSITORY, "--base-url", emulator.base_url,
            "--ca-cert", emulator.ca_path, "--emulator-tenant", "target", "--content", str(repo), "--commit", "abc"]


def run(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_plan_exit_codes_saved_plan_and_clean_replan(flags, tmp_path):
    plan_file, report_file = tmp_path / "plan.json", tmp_path / "report.json"

    planned = run("plan", *flags, "--out", str(plan_file))
    assert planned.exit_code == 2, planned.output
    # the package, a template per item, the 12 items (docs/content-hub.md), the watchlist and automation rule
    assert "Plan: 27 to create, 0 to update, 0 to prune; 0 unchanged" in planned.output
    assert json.loads(plan_file.read_text())["counts"]["create"] == 27

    applied = run("apply", *flags, "--plan", str(plan_file), "--report", str(report_file))
    assert applied.exit_code == 0, applied.output
    report = json.loads(report_file.read_text())
    assert report["ok"] and report["counts"]["created"] == 27 and report["writes"] == 28 + 12 + 2

    again = run("plan", *flags, "--format", "json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["has_changes"] is False


def test_markdown_plan_for_a_pull_request(flags, repo):
    assert run("apply", *flags).exit_code == 0
    edit(repo / "analytic-rules" / "rmm_Kaseya_netconn.yaml", r"'stun\.kaseya\.com',", "'stun.kaseya.com', 'x.kaseya.net',")
    result = run("plan", *flags, "--format", "markdown")
    assert result.exit_code == 2
    # the rule and its template (same version: an update, not an upgrade)
    assert "**Plan: 0 to create, 2 to update, 0 to prune; 25 unchanged**" in result.output
    assert "<details>" in result.output and "+        'stun.kaseya.com', 'x.kaseya.net'," in result.output


def test_a_stale_saved_plan_is_refused(flags, emulator, tmp_path):
    plan_file = tmp_path / "plan.json"
    assert run("plan", *flags, "--out", str(plan_file)).exit_code == 2
    assert run("apply", *flags).exit_code == 0  # someone applied in between
    writes = emulator.counters.total()["writes"]

    stale = run("apply", *flags, "--plan", str(plan_file))
    assert stale.exit_code == 1
    assert "changed since this plan was computed" in str(stale.exception)
    assert "to create" not in stale.output  # refused before the plan is shown as if it would run
    assert emulator.counters.total()["writes"] == writes


def test_a_plan_for_another_workspace_is_refused(flags, emulator, tmp_path):
    plan_file = tmp_path / "plan.json"
    assert run("plan", *flags, "--out", str(plan_file)).exit_code == 2
    saved = json.loads(plan_file.read_text())
    saved["target"]["workspace"] = "ws-other"
    plan_file.write_text(json.dumps(saved))

    refused = run("apply", *flags, "--plan", str(plan_file))
    assert refused.exit_code == 1 and isinstance(refused.exception, ConfigError)
    assert "--workspace ws-sentinel (the plan's: ws-other)" in str(refused.exception)
    assert emulator.counters.total()["writes"] == 0


def test_a_saved_plan_applied_with_another_repository_typed_is_refused(flags, emulator, tmp_path):
    """--repository is not silently ignored with --plan: the plan's writes carry its own
    repository's marks, so naming another one is a mistake. Its default, $GITHUB_REPOSITORY,
    is not taken for one (a plan made with targets.yaml's `repository:` applies in CI)."""
    plan_file = tmp_path / "plan.json"
    assert run("plan", *flags, "--out", str(plan_file)).exit_code == 2
    other = [("contoso/other" if a == REPOSITORY else a) for a in flags]

    refused = run("apply", *other, "--plan", str(plan_file))

    assert refused.exit_code == 1 and isinstance(refused.exception, ConfigError)
    assert f"--repository contoso/other (the plan's: {REPOSITORY})" in str(refused.exception)
    assert emulator.counters.total()["writes"] == 0
    without = [a for i, a in enumerate(flags) if a != "--repository" and (i == 0 or flags[i - 1] != "--repository")]
    from_env = runner.invoke(app, ["apply", *without, "--plan", str(plan_file)],
                             env={"COLUMNS": "200", "GITHUB_REPOSITORY": "contoso/other"})
    assert from_env.exit_code == 0, from_env.output


def test_a_token_of_another_tenant_is_refused_with_exit_code_1(flags, emulator, monkeypatch, capsys):
    from packer.cli import main

    other_tenant = "99999999-9999-4999-8999-999999999999"
    pinned = [other_tenant if a == "target" else a for a in flags]
    monkeypatch.setattr("sys.argv", ["sentinel-packer", "plan", *pinned])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1  # an error, as terraform's -detailed-exitcode (2 means changes)
    assert "issued by tenant " + other_tenant in capsys.readouterr().err
    assert emulator.counters.total()["reads"] == 0


def test_apply_names_each_failure_with_the_apis_message(flags, emulator):
    emulator.faults.script("PUT", rf"/alertRules/{KASEYA_RULE}", 400, times=10)
    result = run("apply", *flags)
    assert result.exit_code == 1
    assert "RMM tool abuse - Kaseya - Network Connection" in result.output
    assert "failed" in result.output and "Apply FAILED" in result.output


def test_invalid_content_is_never_planned_or_applied(flags, emulator, repo, monkeypatch, capsys):
    from packer.cli import main

    edit(repo / "analytic-rules" / "rmm_Kaseya_netconn.yaml", r"^severity: Medium$", "severity: Catastrophic")
    result = run("apply", *flags)
    assert result.exit_code == 1 and isinstance(result.exception, ValidationFailed)
    assert emulator.counters.total()["writes"] == 0 and emulator.counters.total()["reads"] == 0
    # the entry point prints every problem before the one-line error
    monkeypatch.setattr("sys.argv", ["sentinel-packer", "apply", *flags])
    with pytest.raises(SystemExit) as exited:
        main()
    err = capsys.readouterr().err
    assert exited.value.code == 1
    assert "rmm_Kaseya_netconn.yaml:8:" in err and "severity" in err and "error: validation failed" in err
    assert emulator.counters.total()["writes"] == 0 and emulator.counters.total()["reads"] == 0


def test_target_from_the_inventory(emulator, repo, tmp_path):
    ws = emulator.workspace
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(
        f"repository: {REPOSITORY}\n"
        "tenants:\n  - name: main\n" f"    tenantId: {emulator.tenant_id}\n"
        "workspaces:\n  - name: prod\n    tenant: main\n"
        f"    subscription: {ws.subscription}\n    resourceGroup: {ws.resource_group}\n    workspace: {ws.name}\n")
    common = ["--target", "prod", "--targets", str(inventory), "--base-url", emulator.base_url,
              "--ca-cert", emulator.ca_path, "--emulator-tenant", "target", "--content", str(repo)]
    assert run("apply", *common).exit_code == 0
    assert run("plan", *common).exit_code == 0


def test_missing_target_options_are_explained():
    result = run("plan", "--workspace", "ws")
    assert result.exit_code == 1
    assert "--subscription" in str(result.exception) and "--target" in str(result.exception)


def test_fleet_plan_with_all_wave_and_select(emulator_factory, tmp_path):
    from packer.targets import load_inventory
    from tests.fleetkit import emulator_config, fleet_inventory, write_content

    content = write_content(tmp_path / "content")
    inventory_file = tmp_path / "targets.yaml"
    inventory_file.write_text(fleet_inventory(workspaces=4, subscriptions=2))
    emu = emulator_factory(emulator_config(load_inventory(inventory_file)))
    common = ["--targets", str(inventory_file), "--content", str(content), "--base-url", emu.base_url,
              "--ca-cert", emu.ca_path, "--emulator-tenant", "target", "--commit", "abc"]

    fleet = run("plan", "--all", *common, "--format", "json", "--out", str(tmp_path / "fleet.json"))
    assert fleet.exit_code == 2, fleet.output
    data = json.loads((tmp_path / "fleet.json").read_text())
    assert [w["name"] for w in data["workspaces"]] == ["ws00", "ws01", "ws02", "ws03"]
    assert all(w["counts"]["create"] == 1 + 4 + 4 for w in data["workspaces"])  # package, templates, items

    canary = run("plan", "--wave", "canary", *common, "--format", "markdown")
    assert canary.exit_code == 2 and "ws00" in canary.output and "ws02" not in canary.output

    assert run("apply", "--target", "ws01", *common).exit_code == 0
    one = run("plan", "--select", "ws01", *common)
    assert one.exit_code == 0, one.output

    both = run("plan", "--all", "--target", "ws01", *common)
    assert both.exit_code == 1 and "--target plans one workspace" in str(both.exception)
