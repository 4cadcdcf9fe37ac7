"""The ARM expression evaluator `install` uses (packer.package.arm_expr, packer.package.arm_hash):
uniqueString/guid exactly as ARM computes them, the functions Content Hub packages use, refusal by
name of everything else, and every expression of every Microsoft package in the corpus."""
from __future__ import annotations

import json
import re
import uuid

import pytest

from conftest import shared_path
from packer.package.arm_expr import SUPPORTED, Evaluator, ExpressionError, Scope, deployed_resources
from packer.package.arm_hash import arm_guid, murmur64, unique_string

SCOPE = Scope("11111111-2222-3333-4444-555555555555", "rg-sec", "westeurope")


# Published uniqueString input/output pairs; each output was produced by ARM itself.
@pytest.mark.parametrize(("inputs", "expected"), [
    # Microsoft's own REST spec examples (contentProductId = <solutionId>-sl-uniqueString(...)),
    # in ../shared/specs .../2024-09-01/examples/contentPackages/InstallPackage.json and
    # .../contentTemplates/InstallTemplate.json, GetTemplateById.json.
    (("str.azure-sentinel-solution-str-Solution-str.azure-sentinel-solution-str-2.0.0",), "igl6jawr4gwmu"),
    (("str.azure-sentinel-solution-str-AnalyticsRule-8365ebfe-a381-45b7-ad08-7d818070e11f-1.0.1",), "cbfe4fndz66bi"),
    (("packageId-Workbook-contentId-1.0.0",), "rimnsoeh4nt32"),
    # Stack Overflow 43295720 ("Azure ARM uniqueString function mimic"), value from a deployment.
    (("tyeth",), "zcztcwvu6iyg6"),
    # JasonWhall/go-azure-uniquestring README: "hello", "world" -> a7wkljktk6wne.
    (("hello", "world"), "a7wkljktk6wne"),
    # Azure/terraform-provider-azapi internal/services/functions/unique_string_function_test.go.
    (("/subscriptions/00000000-0000-0000-0000-000000000000", "resource-id"), "cwvxuqg24sifi"),
])
def test_unique_string_matches_values_arm_produced(inputs, expected):
    assert unique_string(*inputs) == expected


def test_murmur64_matches_the_published_intermediate_hash():
    # go-azure-uniquestring README: "hello-world" hashes to 571013382255652050 before base32.
    assert murmur64(b"hello-world") == 571013382255652050


def test_unique_string_covers_every_tail_length():
    """Inputs of 0..16 bytes exercise every tail branch; all results are 13 base32 characters and distinct."""
    values = {unique_string("x" * n) for n in range(17)}
    assert len(values) == 17 and all(re.fullmatch(r"[a-z2-7]{13}", v) for v in values)


def test_guid_is_a_name_based_v5_uuid_in_arms_namespace():
    value = uuid.UUID(arm_guid("a", "b"))
    assert value.version == 5 and value.variant == uuid.RFC_4122
    # The arguments are joined with "-" before hashing, as uniqueString's are.
    assert arm_guid("a", "b") == arm_guid("a-b") != arm_guid("ab")
    assert value == uuid.uuid5(uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830"), "a-b")


def _eval(text: str, template: dict | None = None, **values):
    return Evaluator(template or {"parameters": {k: {"type": "string"} for k in values}}, SCOPE, values).value(text)


@pytest.mark.parametrize(("expression", "expected"), [
    ("[concat('a', 'b', 1)]", "ab1"),
    ("[concat(createArray(1), createArray(2, 3))]", [1, 2, 3]),
    ("[format('{0}-{1}{{x}}', 'a', 2)]", "a-2{x}"),
    ("[resourceId('Microsoft.OperationalInsights/workspaces', 'ws')]",
     "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-sec/providers/Microsoft.OperationalInsights/workspaces/ws"),
    ("[resourceId('other-rg', 'Microsoft.Insights/workbooks', 'w')]",
     "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/other-rg/providers/Microsoft.Insights/workbooks/w"),
    ("[resourceId('s2', 'rg2', 'Microsoft.Insights/workbooks', 'w')]",
     "/subscriptions/s2/resourceGroups/rg2/providers/Microsoft.Insights/workbooks/w"),
    ("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'r')]",
     "/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.Authorization/roleDefinitions/r"),
    ("[extensionResourceId('/x/y', 'Microsoft.SecurityInsights/contentPackages', 'p')]",
     "/x/y/providers/Microsoft.SecurityInsights/contentPackages/p"),
    ("[if(equals(1, 1), 'yes', json('x'))]", "yes"),  # the branch not taken is not evaluated
    ("[and(true(), not(false()))]", True),
    ("[or(false(), equals('a', 'A'))]", False),  # equals is case-sensitive for strings
    ("[toUpper(toLower('AbC'))]", "ABC"),
    ("[replace('a-b-c', '-', '.')]", "a.b.c"),
    ("[string(json('{\"a\": [1, true]}'))]", '{"a":[1,true]}'),
    ("[string(true())]", "True"),
    ("[empty('')]", True),
    ("[coalesce(null(), 'x', json('y'))]", "x"),
    ("[first(split('a/b/c', '/'))]", "a"),
    ("[last(split('a/b/c', '/'))]", "c"),
    ("[length(createArray(1, 2))]", 2),
    ("[contains(json('{\"Key\": 1}'), 'key')]", True),
    ("[contains('abc', 'B')]", False),
    ("[take('abcdef', 3)]", "abc"),
    ("[resourceGroup().location]", "westeurope"),
    ("[last(split(subscription().id, '/'))]", "11111111-2222-3333-4444-555555555555"),
    ("[deployment().name]", "sentinel-packer-install"),
    ("[[notAnExpression()]", "[notAnExpression()]"),
    ("[json('{\"a\": {\"b\": [10, 20]}}').a.b[1]]", 20),
])
def test_functions_evaluate_as_arm_does(expression, expected):
    assert _eval(expression) == expected


def test_parameters_take_given_values_then_defaults_and_variables_chain():
    template = {
        "parameters": {"workspace": {"type": "string", "defaultValue": ""},
                       "location": {"type": "string", "defaultValue": "[resourceGroup().location]"}},
        "variables": {"solutionId": "contoso.solution", "_solutionId": "[variables('solutionId')]",
                      "obj": {"name": "[concat(parameters('workspace'), '/', variables('_solutionId'))]"}},
    }
    evaluator = Evaluator(template, SCOPE, {"workspace": "ws1"})
    assert evaluator.value("[variables('obj').name]") == "ws1/contoso.solution"
    assert evaluator.value("[parameters('location')]") == "westeurope"


@pytest.mark.parametrize(("expression", "named"), [
    ("[reference('x').id]", "'reference' is not supported (reads a deployed resource's state"),
    ("[newGuid()]", "'newGuid' is not supported (is random"),
    ("[utcNow()]", "'utcNow' is not supported"),
    ("[listKeys('x', '2020-01-01')]", "'listKeys' is not supported (returns secrets"),
    ("[base64('x')]", "'base64' is not supported"),
    ("[variables('missing')]", "variables('missing') is not defined"),
    ("[parameters('missing')]", "parameters('missing') is not defined"),
])
def test_everything_else_is_refused_by_name(expression, named):
    with pytest.raises(ExpressionError) as raised:
        _eval(expression)
    assert named in str(raised.value)


def test_a_variable_that_refers_to_itself_is_refused():
    template = {"variables": {"a": "[variables('b')]", "b": "[variables('a')]"}}
    with pytest.raises(ExpressionError, match="refers to itself"):
        Evaluator(template, SCOPE).value("[variables('a')]")


def test_copy_loops_and_nested_deployments_are_refused_by_name():
    looped = {"resources": [{"type": "A.B/c", "name": "x", "copy": {"name": "n", "count": 2}}]}
    with pytest.raises(ExpressionError, match=r"resources\[0\] \(A.B/c\): 'copy' is not supported"):
        deployed_resources(looped, SCOPE)
    nested = {"resources": [{"type": "Microsoft.Resources/deployments", "name": "x"}]}
    with pytest.raises(ExpressionError, match="nested deployments are not supported"):
        deployed_resources(nested, SCOPE)


def test_a_false_condition_leaves_the_resource_out():
    template = {"resources": [{"type": "A.B/c", "name": "x", "condition": "[equals(1, 2)]", "properties": {}},
                              {"type": "A.B/c", "name": "y", "properties": {"v": "[concat('a', 'b')]"}}]}
    [only] = deployed_resources(template, SCOPE)
    assert only.name == "y" and only.body == {"properties": {"v": "ab"}}
    assert only.resource_id == f"{SCOPE.resource_group_id}/providers/A.B/c/y"


def _expression_functions(template: dict) -> set[str]:
    names: set[str] = set()

    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and value.startswith("[") and not value.startswith("[["):
            names.update(n.lower() for n in re.findall(r"([A-Za-z_]\w*)\s*\(", re.sub(r"'(?:[^']|'')*'", "''", value)))
    walk(template)
    return names


def test_every_microsoft_package_in_the_corpus_evaluates(shared):
    """Every mainTemplate in ../shared/corpus/solutions evaluates: every function its expressions
    call is in SUPPORTED (none is refused), every resource gets a full id, and no expression is
    left in any body except those the package escaped for the item's own deployment."""
    templates = sorted((shared / "corpus" / "solutions").glob("*/Package/mainTemplate.json"))
    assert len(templates) >= 5
    supported = {s.lower() for s in SUPPORTED}
    for path in templates:
        template = json.loads(path.read_text(encoding="utf-8"))
        assert _expression_functions(template) <= supported, path
        resources = deployed_resources(template, SCOPE, {"workspace": "ws1", "workspace-location": "westeurope"})
        assert len(resources) == len(template["resources"]), path
        assert sum(r.type.endswith("/contentPackages") for r in resources) == 1, path
        # What still reads as an expression was escaped (`[[`) for the item's own later deployment.
        escaped = {s[1:] for s in _strings(template) if s.startswith("[[")}
        left = [s for r in resources for s in _strings(r.body) if s.startswith("[") and s.endswith("]")]
        assert set(left) <= escaped, (path, left[:3])
        for resource in resources:
            assert resource.resource_id.startswith(f"{SCOPE.resource_group_id}/providers/Microsoft.OperationalInsights/workspaces/ws1")


def _strings(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def test_corpus_product_ids_are_the_ones_arm_computes():
    """OpenVPN's package id: take(solutionId, 50)-sl-uniqueString(solutionId-Solution-solutionId-version)."""
    path = shared_path("corpus", "solutions", "OpenVPN", "Package", "mainTemplate.json")
    template = json.loads(path.read_text(encoding="utf-8"))
    [package] = [r for r in deployed_resources(template, SCOPE, {"workspace": "ws1"}) if r.type.endswith("contentPackages")]
    solution_id, version = "azuresentinel.azure-sentinel-solution-openvpn", package.body["properties"]["version"]
    expected = f"{solution_id}-sl-{unique_string(f'{solution_id}-Solution-{solution_id}-{version}')}"
    assert package.body["properties"]["contentProductId"] == expected
