"""The identity templates in arm/: valid JSON, well-formed ARM, the right built-in roles."""
from __future__ import annotations

import json
import re

import pytest

from tests.conftest import PROJECT_ROOT

ARM = PROJECT_ROOT / "arm"
SENTINEL_CONTRIBUTOR = "ab8e14d6-4a74-4a29-9ba8-549422addade"
LOG_ANALYTICS_CONTRIBUTOR = "92aaf0da-9dab-42b6-94a3-d43ce8d16293"
WORKBOOK_CONTRIBUTOR = "e8ddcd69-c73f-4f9f-9844-4100522f16ad"
NEEDED = {SENTINEL_CONTRIBUTOR, LOG_ANALYTICS_CONTRIBUTOR, WORKBOOK_CONTRIBUTOR}


def _load(name: str) -> dict:
    return json.loads((ARM / name).read_text(encoding="utf-8"))


def _expressions(node) -> list[str]:
    if isinstance(node, dict):
        return [e for v in node.values() for e in _expressions(v)]
    if isinstance(node, list):
        return [e for v in node for e in _expressions(v)]
    return [node] if isinstance(node, str) and node.startswith("[") and node.endswith("]") else []


@pytest.mark.parametrize("name", ["lighthouse-delegation.json", "ci-identity-roles.json"])
def test_every_parameter_and_variable_used_is_declared(name: str) -> None:
    template = _load(name)
    assert template["contentVersion"] == "1.0.0.0" and template["resources"]
    text = " ".join(_expressions(template))
    assert set(re.findall(r"parameters\('([^']+)'\)", text)) <= set(template["parameters"])
    assert set(re.findall(r"variables\('([^']+)'\)", text)) <= set(template["variables"])
    unused = set(template["parameters"]) - set(re.findall(r"parameters\('([^']+)'\)", text))
    assert not unused, f"parameters nobody uses: {unused}"


def test_lighthouse_delegates_the_three_roles_at_subscription_scope() -> None:
    template = _load("lighthouse-delegation.json")
    assert "subscriptionDeploymentTemplate" in template["$schema"]
    definition, assignment = template["resources"]
    assert definition["type"] == "Microsoft.ManagedServices/registrationDefinitions"
    assert assignment["type"] == "Microsoft.ManagedServices/registrationAssignments"
    roles = {template["variables"][a["roleDefinitionId"][len("[variables('"):-len("')]")]] for a in definition["properties"]["authorizations"]}
    assert NEEDED <= roles
    assert "Owner" not in json.dumps(template) and "8e3af657-a8ff-443c-a75c-2fe8c4bcb635" not in roles
    assert definition["properties"]["managedByTenantId"] == "[parameters('managedByTenantId')]"
    assert assignment["dependsOn"] == [assignment["properties"]["registrationDefinitionId"]]


def test_ci_identity_gets_the_three_roles_on_the_resource_group() -> None:
    template = _load("ci-identity-roles.json")
    assert template["$schema"].endswith("/deploymentTemplate.json#")
    assert {r["id"] for r in template["variables"]["roles"]} == NEEDED
    (assignment,) = template["resources"]
    assert assignment["type"] == "Microsoft.Authorization/roleAssignments"
    assert assignment["copy"]["count"] == "[length(variables('roles'))]"
    assert "resourceGroup().id" in assignment["name"]  # stable names: redeploying is idempotent


def test_readme_documents_each_template() -> None:
    readme = (ARM / "README.md").read_text(encoding="utf-8")
    for name in ("lighthouse-delegation.json", "ci-identity-roles.json", *NEEDED):
        assert name in readme
