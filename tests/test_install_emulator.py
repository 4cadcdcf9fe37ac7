"""`sentinel-packer install PACKAGE.zip` through the CLI against the emulator: plan/apply semantics
(plan value, --out/--plan, exit codes), idempotence, foreign packages untouched, and Microsoft's
package vs the same solution built from its inputs installing the same Content Hub resources
(modulo docs/install.md)."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from packer.cli import app
from packer.package.install import PackageError
from tests.plankit import REPOSITORY
from tests.test_install import allowed_differences, built_zip, microsoft_zip
from tests.test_build_jsondiff import differences, pattern_matches

runner = CliRunner()
SI = "providers/Microsoft.SecurityInsights"


def run(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def flags(emu) -> list[str]:
    ws = emu.workspace
    return ["--subscription", ws.subscription, "--resource-group", ws.resource_group, "--workspace", ws.name,
            "--tenant", emu.tenant_id, "--repository", REPOSITORY, "--base-url", emu.base_url,
            "--ca-cert", emu.ca_path, "--emulator-tenant", "target", "--commit", "abc"]


def hub_resources(emu) -> dict:
    """contentPackages/contentTemplates in the workspace, keyed as tests/test_install.py keys them."""
    out = {}
    for collection in ("contentPackages", "contentTemplates"):
        for body in emu.store.iter_under(f"{emu.workspace.resource_id}/{SI}/{collection}"):
            props = body["properties"]
            key = (f"package[{props['contentId']}]" if collection == "contentPackages"
                   else f"template[{props['contentKind']}/{props['contentId']}]")
            out[key] = {"properties": props}
    return out


def test_install_plans_applies_and_converges(emulator, tmp_path):
    package = microsoft_zip(tmp_path, "Microsoft Copilot")
    plan_file = tmp_path / "plan.json"

    planned = run("install", str(package), *flags(emulator), "--plan-only", "--out", str(plan_file))
    assert planned.exit_code == 2, planned.output
    saved = json.loads(plan_file.read_text())
    assert [i["resource_type"] for i in saved["items"]] == ["contentPackages"] + ["contentTemplates"] * 8
    assert all(i["action"] == "create" for i in saved["items"])
    assert any("not written by install" in n and "dataConnectorDefinitions" in n for n in saved["notes"])
    assert emulator.counters.total()["writes"] == 0

    applied = run("install", *flags(emulator), "--plan", str(plan_file))
    assert applied.exit_code == 0, applied.output
    installed = hub_resources(emulator)
    package_props = installed["package[azuresentinel.azure-sentinel-solution-microsoftcopilot]"]["properties"]
    assert package_props["installedVersion"] == package_props["version"] == "3.0.2"  # the zip's version
    kinds = sorted(k.split("[")[1].split("/")[0] for k in installed if k.startswith("template"))
    assert kinds == ["AnalyticsRule"] * 4 + ["DataConnector"] + ["HuntingQuery"] * 2 + ["ResourcesDataConnector"]

    writes = emulator.counters.total()["writes"]
    again = run("install", str(package), *flags(emulator), "--plan-only", "--format", "json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["has_changes"] is False
    assert run("install", str(package), *flags(emulator)).exit_code == 0
    assert emulator.counters.total()["writes"] == writes  # a second install writes nothing


def test_items_sharing_a_content_id_across_kinds_reinstall_as_unchanged(emulator, tmp_path):
    """Windows Firewall has a DataConnector and a Workbook template both with contentId WindowsFirewall."""
    package = microsoft_zip(tmp_path, "Windows Firewall")
    assert run("install", str(package), *flags(emulator)).exit_code == 0
    again = run("install", str(package), *flags(emulator), "--plan-only", "--format", "json")
    assert again.exit_code == 0, again.output
    assert {i["action"] for i in json.loads(again.output)["items"]} == {"unchanged"}


def test_a_package_installed_by_someone_else_is_foreign_and_untouched(emulator, tmp_path):
    package = microsoft_zip(tmp_path, "OpenVPN")
    assert run("install", str(package), *flags(emulator)).exit_code == 0
    other = [a if a != REPOSITORY else "someone/else" for a in flags(emulator)]
    writes = emulator.counters.total()["writes"]
    result = run("install", str(package), *other, "--plan-only", "--format", "json")
    assert result.exit_code == 0, result.output
    actions = {i["resource_type"]: i["action"] for i in json.loads(result.output)["items"]}
    assert actions["contentPackages"] == "foreign"
    assert emulator.counters.total()["writes"] == writes


def test_a_bad_zip_is_refused_before_any_request(emulator, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_text("nope")
    result = run("install", str(bad), *flags(emulator))
    assert result.exit_code == 1 and isinstance(result.exception, PackageError)
    assert "bad.zip: not a zip file" in str(result.exception)
    assert emulator.counters.total()["reads"] == 0 and emulator.counters.total()["writes"] == 0


@pytest.mark.parametrize("solution", ["Windows Firewall", "OpenVPN"])
def test_microsoft_package_and_build_from_inputs_install_the_same_hub_resources(emulator_factory, tmp_path, solution):
    """Installed into two fresh workspaces, Microsoft's zip and the zip `build --solution-input`
    writes leave the same contentPackages/contentTemplates, except docs/install.md's differences."""
    found = {}
    for label, package in (("theirs", microsoft_zip(tmp_path, solution)), ("ours", built_zip(tmp_path, solution))):
        emu = emulator_factory()
        result = run("install", str(package), *flags(emu))
        assert result.exit_code == 0, result.output
        found[label] = hub_resources(emu)
    entries = [e for e in allowed_differences() if e["solution"] == solution]
    diffs = list(differences(found["ours"], found["theirs"], "install"))
    unlisted = [d for d in diffs if not any(pattern_matches(e["path"], d) for e in entries)]
    assert not unlisted, "differences not listed in docs/install.md:\n" + "\n".join(unlisted)
    assert len(found["theirs"]) >= 2


def test_a_stale_saved_install_plan_is_refused_and_nothing_is_written(emulator, tmp_path):
    package = microsoft_zip(tmp_path, "OpenVPN")
    plan_file = tmp_path / "plan.json"
    assert run("install", str(package), *flags(emulator), "--plan-only", "--out", str(plan_file)).exit_code == 2
    assert run("install", str(package), *flags(emulator)).exit_code == 0  # installed in between
    writes = emulator.counters.total()["writes"]
    stale = run("install", *flags(emulator), "--plan", str(plan_file))
    assert stale.exit_code == 1 and "changed since this plan was computed" in str(stale.exception)
    assert emulator.counters.total()["writes"] == writes
    both = run("install", str(package), *flags(emulator), "--plan", str(plan_file))
    assert both.exit_code == 1 and "not both" in str(both.exception)


def test_a_zip_built_from_the_content_installs_the_templates_apply_of_that_content_writes(emulator, tmp_path):
    """One source of truth: after `install` of the zip `build` writes, `plan` of the same content
    finds every template unchanged (only the package's ownership record names another source)."""
    from tests.conftest import CONTENT

    built = run("build", "--content", str(CONTENT), "--out", str(tmp_path / "dist"), "--no-kql")
    assert built.exit_code == 0, built.output
    package = next((tmp_path / "dist").rglob("*.zip"))
    assert run("install", str(package), *flags(emulator)).exit_code == 0
    planned = run("plan", *flags(emulator), "--content", str(CONTENT), "--format", "json")
    items = json.loads(planned.output)["items"]
    templates = [i for i in items if i["resource_type"] == "contentTemplates"]
    assert templates and {i["action"] for i in templates} == {"unchanged"}
    [package_item] = [i for i in items if i["resource_type"] == "contentPackages"]
    assert package_item["action"] == "update" and package_item["reason"].startswith("metadata only")
