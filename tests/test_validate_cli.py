"""`sentinel-packer validate` through typer's CliRunner: formats, exit codes, SARIF schema validity.

tests/data/sarif-2.1.0-rtm.5.json is the OASIS SARIF 2.1.0 JSON Schema as shipped in the npm
package @microsoft/jest-sarif 1.0.0-beta.0 (MIT), file lib/schemas/sarif-2.1.0-rtm.5.json.
"""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from conftest import PROJECT_ROOT
from packer.cli import app
from packer.errors import ConfigError

SARIF_SCHEMA = json.loads((PROJECT_ROOT / "tests" / "data" / "sarif-2.1.0-rtm.5.json").read_text(encoding="utf-8"))

GOOD = """\
id: 0f6e1c2a-3b4d-4e5f-8a9b-1c2d3e4f5a6b
name: RMM relay connections
description: Finds connections to RMM relays used by Krämer's tool.
tactics: CommandAndControl
query: DeviceNetworkEvents | take 10
"""
BAD = GOOD.replace("0f6e1c2a-3b4d-4e5f-8a9b-1c2d3e4f5a6b", "not-a-guid").replace("tactics: CommandAndControl", "tactics: [Vulnerability]")


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    hunting = tmp_path / "hunting queries"
    hunting.mkdir()
    (hunting / "good.yaml").write_text(GOOD, encoding="utf-8")
    (hunting / "bad [1].yaml").write_text(BAD, encoding="utf-8")
    (hunting / "broken.yaml").write_text("id: x\nname: [unclosed\n", encoding="utf-8")
    return hunting


def run(*args: str):
    return CliRunner().invoke(app, ["validate", "--no-kql", *args])


def test_text_format_lists_problems_sorted_with_a_summary(folder):
    result = run(str(folder.name))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("3 file(s) checked: 3 error(s)")
    problems = lines[:-1]
    assert "hunting queries/bad [1].yaml:1:1: error: id: 'not-a-guid' is not a GUID" in problems[0]
    assert any(line.startswith("hunting queries/broken.yaml:3:1:") and ": error: YAML syntax error" in line for line in problems)
    assert any("good.yaml:4:1: warning: tactics:" in line for line in problems)
    assert problems == sorted(problems, key=lambda l: (l.split(":")[0], int(l.split(":")[1]), int(l.split(":")[2])))


def test_warnings_alone_exit_0(folder):
    result = run(str(folder / "good.yaml"))
    assert result.exit_code == 0, result.output
    assert "0 error(s), 2 warning(s)" in result.output


def test_json_format(folder):
    result = run(str(folder), "--format", "json")
    data = json.loads(result.output)
    assert result.exit_code == 1 and data["errors"] == 3 and data["files_checked"] == 3
    assert data["kql_status"].startswith("skipped")
    first = data["problems"][0]
    assert set(first) == {"path", "line", "column", "field", "severity", "code", "message"}
    assert {p["code"] for p in data["problems"] if p["severity"] == "error"} == {"schema.pattern", "schema.enum", "yaml.syntax"}


def test_sarif_is_valid_sarif_2_1_0_with_relative_locations(folder, tmp_path):
    out = tmp_path / "reports" / "validate.sarif"
    result = run(str(folder), "--format", "sarif", "--output", str(out))
    assert result.exit_code == 1
    sarif = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(sarif, SARIF_SCHEMA)
    run_ = sarif["runs"][0]
    rule_ids = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    results = run_["results"]
    assert {r["ruleId"] for r in results} == set(rule_ids)
    assert all(rule_ids[r["ruleIndex"]] == r["ruleId"] for r in results)
    bad = next(r for r in results if r["ruleId"] == "schema.enum")
    location = bad["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "hunting%20queries/bad%20%5B1%5D.yaml", "uriBaseId": "SRCROOT"}
    assert location["region"] == {"startLine": 4, "startColumn": 11}  # the list item itself
    assert bad["level"] == "error"
    assert run_["originalUriBaseIds"]["SRCROOT"]["uri"] == tmp_path.resolve().as_uri() + "/"
    notification = run_["invocations"][0]["toolExecutionNotifications"][0]  # --no-kql: said, not silent
    assert notification["level"] == "warning" and notification["message"]["text"].startswith("KQL analysis skipped")


def test_sarif_without_problems_is_valid_too(folder, tmp_path):
    (folder / "bad [1].yaml").unlink()
    (folder / "broken.yaml").unlink()
    (folder / "good.yaml").write_text(GOOD.replace("Krämer's", "the").replace("tactics: CommandAndControl", "tactics: [CommandAndControl]"))
    result = run(str(folder), "--format", "sarif")
    assert result.exit_code == 0
    sarif = json.loads(result.output)
    jsonschema.validate(sarif, SARIF_SCHEMA)
    assert sarif["runs"][0]["results"] == []


def test_default_path_is_content(folder, tmp_path):
    result = run()
    assert result.exit_code == 1 and "content:1:1: error: no such file or folder" in result.output
    content = tmp_path / "content" / "hunting-queries"
    content.mkdir(parents=True)
    (content / "good.yaml").write_text(GOOD)
    assert run().exit_code == 0


def test_unknown_format_is_a_config_error(folder):
    result = run(str(folder), "--format", "xml")
    assert isinstance(result.exception, ConfigError)  # main() prints it as "error: ..." with exit code 1
    assert "text, json, sarif" in str(result.exception)


def test_bundled_content_pack_validates():
    result = CliRunner().invoke(app, ["validate", "--no-kql", str(PROJECT_ROOT / "content")])
    assert result.exit_code == 0, result.output
