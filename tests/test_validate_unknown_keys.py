"""Typos in optional keys (issue 14, finding 10): Microsoft's CI ignores unknown keys, so a
misspelt `entityMapings:` deploys a rule without its mappings. They are warnings with "did you
mean", errors under `validate --strict`, and the editor schemas flag them."""
from __future__ import annotations

import json

from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from packer.cli import app
from packer.content.yamlsource import load_yaml
from packer.validate.schemas import schema
from tests.test_validate_rules import BASE_HUNTING, BASE_RULE, check

TYPOS = BASE_RULE.replace("entityMappings:", "entityMapings:") + """\
customDetail:
  Device: DeviceName
incidentConfiguration:
  createIncident: true
  groupingConfiguration:
    enabled: true
    groupByEntites:
      - Host
"""


def _unknown(report):
    return {(p.field, p.message.split("; ", 1)[1]) for p in report.problems if p.code == "key.unknown"}


def test_top_level_and_nested_typos_are_warnings_with_a_suggestion(tmp_path):
    report = check(tmp_path, TYPOS)

    assert _unknown(report) == {
        ("entityMapings", "did you mean 'entityMappings'?"),
        ("customDetail", "did you mean 'customDetails'?"),
        ("incidentConfiguration.groupingConfiguration.groupByEntites", "did you mean 'groupByEntities'?"),
    }
    assert report.errors == []  # Microsoft's CI accepts the file
    typo = next(p for p in report.problems if p.field == "entityMapings")
    assert (typo.line, typo.severity) == (TYPOS.splitlines().index("entityMapings:") + 1, "warning")


def test_a_key_far_from_every_known_one_lists_the_known_keys(tmp_path):
    text = BASE_RULE.replace("  - entityType: Host\n", "  - entityType: Host\n    colour: blue\n")
    (field, hint), = _unknown(check(tmp_path, text))
    assert field == "entityMappings[0].colour" and hint == "known keys here: entityType, fieldMappings"


def test_keys_microsoft_content_carries_are_known_not_typos(tmp_path):
    exported = BASE_RULE + "suppressionDuration: 5h\nsuppressionEnabled: false\nenabled: true\n" \
                           "sentinelEntitiesMappings:\n  - columnName: Entities\nstatus: Available\n"
    assert _unknown(check(tmp_path, exported)) == set()
    hunting = BASE_HUNTING + "severity: Medium\ntags:\n  - x\nkind: Scheduled\n"
    assert _unknown(check(tmp_path, hunting, "hunting-queries", "h.yaml")) == set()


def test_strict_turns_warnings_into_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check(tmp_path, TYPOS)
    relaxed = CliRunner().invoke(app, ["validate", "--no-kql", "analytic-rules"])
    strict = CliRunner().invoke(app, ["validate", "--no-kql", "--strict", "analytic-rules"])
    assert relaxed.exit_code == 0 and "warning: entityMapings: unknown key" in relaxed.output
    assert strict.exit_code == 1 and "error: entityMapings: unknown key" in strict.output


def test_the_editor_schemas_flag_unknown_keys(tmp_path):
    path = tmp_path / "rule.yaml"
    path.write_text(TYPOS, encoding="utf-8")
    value = json.loads(json.dumps(load_yaml(path).value, default=str))
    flagged = {(tuple(e.absolute_path), e.validator) for e in Draft202012Validator(schema("analytic-rule"))
               .iter_errors(value)}
    assert {((), "additionalProperties"),
            (("incidentConfiguration", "groupingConfiguration"), "additionalProperties")} <= flagged
