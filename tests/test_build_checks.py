"""Static checks of generated templates: each problem is caught and named."""
from __future__ import annotations

import json

import pytest

from packer.package.checks import TemplateCheckFailed, check_create_ui_text, check_template_text


def template(**changes) -> dict:
    base = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"workspace": {"type": "string"}},
        "variables": {"ruleId": "abc", "obj": {"name1": "[concat('x-', variables('ruleId'))]"}},
        "resources": [
            {
                "type": "Microsoft.OperationalInsights/workspaces/providers/contentTemplates",
                "apiVersion": "2023-04-01-preview",
                "name": "[concat(parameters('workspace'),'/Microsoft.SecurityInsights/',variables('obj').name1)]",
                "properties": {"mainTemplate": {"resources": [
                    {"type": "Microsoft.SecurityInsights/AlertRuleTemplates", "apiVersion": "2023-02-01-preview",
                     "name": "[variables('ruleId')]"},
                ]}},
            }
        ],
    }
    base.update(changes)
    return base


def problems_of(value: dict) -> list[str]:
    with pytest.raises(TemplateCheckFailed) as caught:
        check_template_text("t.json", json.dumps(value))
    assert "t.json" in str(caught.value)
    return caught.value.problems


def test_a_well_formed_template_passes() -> None:
    assert check_template_text("t.json", json.dumps(template()))["contentVersion"] == "1.0.0.0"


def test_invalid_json_is_reported() -> None:
    with pytest.raises(TemplateCheckFailed, match="not valid JSON"):
        check_template_text("t.json", '{"a": ')


def test_undefined_variable_and_parameter_are_reported() -> None:
    broken = template()
    broken["resources"][0]["properties"]["x"] = "[concat(variables('nope'), parameters('ghost'))]"
    problems = problems_of(broken)
    assert "variables('nope') is used but not defined" in problems
    assert "parameters('ghost') is used but not defined" in problems


def test_unused_parameter_is_reported() -> None:
    broken = template(parameters={"workspace": {"type": "string"}, "unused": {"type": "string"}})
    assert problems_of(broken) == ["parameter 'unused' is never used"]


def test_missing_api_version_is_reported_for_nested_resources_too() -> None:
    broken = template()
    del broken["resources"][0]["properties"]["mainTemplate"]["resources"][0]["apiVersion"]
    [problem] = problems_of(broken)
    assert "no apiVersion" in problem and "mainTemplate.resources[0]" in problem


def test_name_with_wrong_segment_count_is_reported() -> None:
    broken = template()
    broken["resources"][0]["name"] = "[concat(parameters('workspace'),'/',variables('ruleId'))]"
    [problem] = problems_of(broken)
    assert "has 2 segment(s)" in problem and "needs 3" in problem


def test_literal_names_are_checked_as_well() -> None:
    broken = template()
    broken["resources"][0]["properties"]["mainTemplate"]["resources"][0]["name"] = "a/b"
    [problem] = problems_of(broken)
    assert "AlertRuleTemplates needs 1" in problem


def test_escaped_brackets_are_not_expressions() -> None:
    ok = template()
    ok["resources"][0]["properties"]["text"] = "[[variables('not-an-expression')]"
    check_template_text("t.json", json.dumps(ok))


def test_create_ui_outputs_must_be_template_parameters() -> None:
    ui = {"parameters": {"outputs": {"workspace": "[basics('workspace')]", "other": "x"}}}
    with pytest.raises(TemplateCheckFailed, match="output 'other' is not a mainTemplate parameter"):
        check_create_ui_text("ui.json", json.dumps(ui), template())
