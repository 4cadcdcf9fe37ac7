"""The packager's rules that the corpus solutions do not exercise, on small synthetic inputs in
Microsoft's format (docs/conformance.md, rule table)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from packer.package.inputs import GENERIC_UI, STATIC_UI, DataConnector
from packer.package.main_template import render_package
from packer.package.markdown import markdig_slug, render
from packer.package.ms_input import package_version, powershell_text, read_solution_input

RULE = """id: c3d4e5f6-a7b8-49c0-d1e2-f3a4b5c6d7e8
name: Synthetic rule
description: |
  'Detects something.'
severity: high
requiredDataConnectors:
  - connectorId: Synthetic
    dataTypes:
      - Synthetic_CL
queryFrequency: 1h
queryPeriod: 1h
triggerOperator: gt
triggerThreshold: 0
tactics:
  - defenseevasion
relevantTechniques:
  - T1562
query: |
  Synthetic_CL
  | project TimeGenerated, Account
entityMappings:
  - entityType: Account
    fieldMappings:
      - identifier: FullName
        columnName: Account
incidentConfiguration:
  createIncident: false
  groupingConfiguration:
    enabled: false
    reopenClosedIncident: false
    lookbackDuration: PT5H
    matchingMethod: AllEntities
customDetails:
  Who: Account
alertDetailsOverride:
  alertDisplayNameFormat: Something by {{Account}}
  alertDescriptionFormat: ''
version: 1.0.0
kind: Scheduled
"""

HUNTING = """id: a1b2c3d4-0000-4000-8000-000000000001
name: Synthetic hunt
description: |
  'Looks for something.'
query: |
  Synthetic_CL
  | take 10
version: 1.0.0
"""

CONNECTOR = {
    "id": "Synthetic",
    "title": "Synthetic events",
    "publisher": "Contoso",
    "descriptionMarkdown": "Synthetic",
    "additionalRequirementBanner": "Needs the **Synthetic** parser.",
    "graphQueries": [],
    "sampleQueries": [{"description": "All", "query": "Synthetic_CL"}],
    "dataTypes": [{"name": "CommonSecurityLog (Synthetic)", "lastDataReceivedQuery": "x"},
                  {"name": "Syslog (Synthetic)", "lastDataReceivedQuery": "y"}],
    "connectivityCriteria": [{"type": "IsConnectedQuery", "value": ["q"]}],
    "availability": {"status": 1},
    "permissions": {},
    "instructionSteps": [
        {"title": "", "description": "Deploy: [Deploy To Azure](https://aka.ms/x)", "instructions": []},
        {"title": "Option 2 - Manual Deployment of Azure Functions", "description": "Configure", "innerSteps": None},
    ],
}


def solution(tmp_path: Path, data: dict, files: dict[str, str | dict | list]) -> Path:
    """A solution folder in Microsoft's layout; returns its data file."""
    folder = tmp_path / "Synthetic"
    (folder / "Data").mkdir(parents=True)
    (folder / "SolutionMetadata.json").write_text(json.dumps({
        "publisherId": "contoso", "offerId": "synthetic",
        "support": {"name": "Contoso", "tier": "Partner", "link": "https://contoso.example"},
    }), encoding="utf-8")
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    data_file = folder / "Data" / "Solution_Synthetic.json"
    data_file.write_text(json.dumps({"Name": "Synthetic", "Author": "Contoso - dev@contoso.example",
                                     "Logo": "", "Description": "Synthetic", "Version": "3.0.0", **data,
                                     "Metadata": "SolutionMetadata.json"}), encoding="utf-8")
    return data_file


def resources(main: dict, fragment: str) -> list[dict]:
    return [r for r in main["resources"] if fragment in r["name"]]


# --- Markdown (ConvertFrom-Markdown = Markdig advanced extensions) ----------------------------


def test_markdig_lists_headings_links_tables_and_strikethrough() -> None:
    assert render("a. one\nb. two\n") == '<ol type="a">\n<li>one</li>\n<li>two</li>\n</ol>\n'
    assert render("A. one\n") == '<ol type="A">\n<li>one</li>\n</ol>\n'
    assert render("b. two\nc. three\n") == '<ol type="a" start="2">\n<li>two</li>\n<li>three</li>\n</ol>\n'
    assert render("c. hundred\n") == '<ol type="i" start="100">\n<li>hundred</li>\n</ol>\n'  # roman starts win
    assert render("i. one\nii. two\n") == '<ol type="i">\n<li>one</li>\n<li>two</li>\n</ol>\n'
    assert render("IV. four\n") == '<ol type="I" start="4">\n<li>four</li>\n</ol>\n'
    assert render("# Hello, World 2!\n") == '<h1 id="hello-world-2">Hello, World 2!</h1>\n'
    assert render("see https://example.com/x now\n") == \
        '<p>see <a href="https://example.com/x">https://example.com/x</a> now</p>\n'
    assert render("~~old~~\n") == "<p><del>old</del></p>\n"
    assert render("| a | b |\n|---|:-:|\n| 1 | 2 |\n") == (
        "<table>\n<thead>\n<tr>\n<th>a</th>\n<th style=\"text-align: center;\">b</th>\n</tr>\n</thead>\n"
        "<tbody>\n<tr>\n<td>1</td>\n<td style=\"text-align: center;\">2</td>\n</tr>\n</tbody>\n</table>\n")
    # plain CommonMark is unchanged: a paragraph, a numbered list, emphasis
    assert render("x **y**\n\n1. one\n") == "<p>x <strong>y</strong></p>\n<ol>\n<li>one</li>\n</ol>\n"


def test_markdig_heading_ids_drop_leading_non_letters_and_accents() -> None:
    assert markdig_slug("1. Überblick & Setup") == "uberblick-setup"
    assert markdig_slug("v2.0_final notes") == "v2.0_final-notes"
    assert markdig_slug("123") == "section"


# --- solution description, version, author, logo ---------------------------------------------


def test_description_is_inserted_verbatim_with_dollar_dollar_as_dollar(tmp_path: Path) -> None:
    data_file = solution(tmp_path, {"Description": "Costs $$5 a day.  \n"}, {})
    _, ui = render_package(read_solution_input(data_file))
    assert "\n\nCosts $5 a day.  \n\n\n" in ui["parameters"]["config"]["basics"]["description"]


@pytest.mark.parametrize(("version", "expected"), [("3.1.4", "3.1.4"), ("2.0.1", "3.0.0"), (None, "3.0.0"),
                                                   ("3.0", "3.0.0")])
def test_package_version_keeps_3x_and_otherwise_writes_3_0_0(version: str | None, expected: str) -> None:
    assert package_version(version) == expected


def test_author_is_split_on_every_separator_and_an_empty_logo_keeps_icon(tmp_path: Path) -> None:
    data_file = solution(tmp_path, {"Author": "Contoso - Security - dev@contoso.example"}, {})
    main, ui = render_package(read_solution_input(data_file))
    assert main["variables"]["email"] == "Security"
    package = resources(main, "_solutionId'))]")[0]["properties"]
    assert package["author"] == {"name": "Contoso", "email": "[variables('_email')]"}
    assert package["icon"] == ""
    assert ui["parameters"]["config"]["basics"]["description"].startswith("\n\n**Note:**")


# --- data file keys ---------------------------------------------------------------------------


def test_items_after_metadata_are_packaged_but_not_solution_dependencies(tmp_path: Path) -> None:
    data_file = solution(tmp_path, {}, {"Hunting Queries/H.yaml": HUNTING})
    data = json.loads(data_file.read_text(encoding="utf-8"))
    data["Hunting Queries"] = ["Hunting Queries/H.yaml"]  # written after Metadata
    data_file.write_text(json.dumps(data), encoding="utf-8")
    package = read_solution_input(data_file)
    main, _ = render_package(package)
    assert resources(main, "huntingQueryTemplateSpecName1")
    assert resources(main, "_solutionId'))]")[0]["properties"]["dependencies"]["criteria"] == []
    assert any("listed after Metadata" in w and "H.yaml" in w for w in package.skipped)


def test_unsupported_content_is_named_and_data_connectors_without_space_is_read(tmp_path: Path) -> None:
    data_file = solution(tmp_path, {"DataConnectors": ["Data Connectors/C.json"], "SummaryRules": ["S/R.yaml"],
                                    "Watchlists": ["W/w.json"], "Analytics Rules": ["R/r.yaml"]},
                         {"Data Connectors/C.json": CONNECTOR})
    package = read_solution_input(data_file)
    assert [c.id for c in package.of_type(DataConnector)] == ["Synthetic"]
    # the packager counts "Data Connectors" entries (0 here) to place the link: it writes none
    [step] = render_package(package)[1]["parameters"]["steps"]
    assert [e["name"] for e in step["elements"]] == ["dataconnectors1-text"]
    warnings = "\n".join(package.skipped)
    assert "SummaryRules S/R.yaml: not supported" in warnings and "Watchlists W/w.json: not supported" in warnings
    assert "data file key 'Analytics Rules'" in warnings


# --- connectors (GetDataConnectorMetadata) ----------------------------------------------------


def test_powershell_text_of_a_workbooks_metadata_entry() -> None:
    entry = {"workbookKey": "K", "dataTypesDependencies": ["A"], "empty": [], "subtitle": "", "none": None,
             "flag": True, "count": 2, "source": {"kind": "Solution"}}
    assert powershell_text(entry) == ("@{workbookKey=K; dataTypesDependencies=System.Object[]; empty=System.Object[]; "
                                      "subtitle=; none=; flag=True; count=2; source=@{kind=Solution}}")


def test_connector_kind_follows_static_data_connector_ids_only(tmp_path: Path) -> None:
    files = {"Data Connectors/C.json": CONNECTOR}
    generic = read_solution_input(solution(tmp_path / "a", {"Data Connectors": ["Data Connectors/C.json"],
                                                            "Is1PConnector": True}, files))
    static = read_solution_input(solution(tmp_path / "b", {"Data Connectors": ["Data Connectors/C.json"],
                                                           "StaticDataConnectorIds": ["synthetic"]}, files))
    assert [c.kind for c in generic.of_type(DataConnector)] == [GENERIC_UI]
    assert [c.kind for c in static.of_type(DataConnector)] == [STATIC_UI]


def test_generic_connector_rules(tmp_path: Path) -> None:
    data_file = solution(tmp_path, {"Data Connectors": ["Data Connectors/C.json"], "Parsers": ["Parsers/P.yaml"]},
                         {"Data Connectors/C.json": CONNECTOR, "Parsers/P.yaml": (
                             "id: 0d2a5bc9-0000-4000-8000-000000000002\nFunction:\n  Title: Synthetic parser\n"
                             "  Version: '1.0.0'\n  LastUpdated: '2024-01-01'\nCategory: Microsoft Sentinel Parser\n"
                             "FunctionName: Synthetic\nFunctionAlias: Synthetic\nFunctionQuery: |\n  Synthetic_CL\n")})
    main, ui = render_package(read_solution_input(data_file))
    template = resources(main, "dataConnectorTemplateSpecName1")[0]
    inner = template["properties"]["mainTemplate"]["resources"][0]["properties"]["connectorUiConfig"]
    top = [r for r in main["resources"] if r["type"].endswith("/dataConnectors")][0]["properties"]["connectorUiConfig"]
    for config in (inner, top):
        assert config["title"] == "Synthetic events (using Azure Functions)"
        assert config["graphQueries"] == "[variables('TemplateEmptyArray')]"
        assert config["availability"] == {"status": 1, "isPreview": False}
        assert config["instructionSteps"] == [{"description": "Deploy: [Deploy To Azure](https://aka.ms/x)"},
                                              {"description": "Configure",
                                               "title": "Option 2 - Manual Deployment of Azure Functions"}]
    assert template["properties"]["displayName"] == "Synthetic events (using Azure Functions)"
    assert top["connectivityCriteria"] == CONNECTOR["connectivityCriteria"] and "connectivityCriterias" not in top
    assert list(top)[-2:] == ["id", "additionalRequirementBanner"]
    assert main["variables"]["TemplateEmptyArray"] == "[json('[]')]"
    step = ui["parameters"]["steps"][0]
    assert [e["name"] for e in step["elements"]] == ["dataconnectors1-text", "dataconnectors-parser-text",
                                                     "dataconnectors-link1"]  # numbered by the connector count
    assert "Synthetic Syslog data" in step["elements"][0]["options"]["text"]  # the last matching data type


def connector_configs(main: dict) -> tuple[dict, dict]:
    """The connector's connectorUiConfig inside its content template and at the top level."""
    template = resources(main, "dataConnectorTemplateSpecName1")[0]
    inner = template["properties"]["mainTemplate"]["resources"][0]["properties"]["connectorUiConfig"]
    top = [r for r in main["resources"] if r["type"].endswith("/dataConnectors")][0]["properties"]["connectorUiConfig"]
    return inner, top


def test_instruction_steps_lose_what_powershell_compares_equal_to_the_empty_string(tmp_path: Path) -> None:
    step = {"title": "Step", "description": "Do it", "isComingSoon": False, "bottomBorder": 0, "weight": 0.0,
            "empty": "", "none": None, "list": [], "twoFalsy": [False, ""], "oneFalsy": [""], "object": {},
            "enabled": True, "count": 2, "zeroText": "0", "space": " ",
            "instructions": [{"type": "CopyableLabel", "parameters": {"fillWith": [""], "visible": False}}]}
    connector = {**CONNECTOR, "instructionSteps": [step]}
    data_file = solution(tmp_path, {"Data Connectors": ["Data Connectors/C.json"]}, {"Data Connectors/C.json": connector})
    main, _ = render_package(read_solution_input(data_file))
    for config in connector_configs(main):
        [written] = config["instructionSteps"]
        assert written == {"count": 2, "description": "Do it", "enabled": True, "instructions": step["instructions"],
                           "object": {}, "oneFalsy": [""], "space": " ", "title": "Step", "zeroText": "0"}
        assert list(written) == sorted(written, key=str.casefold)  # Sort-Object order


def test_azure_functions_suffix_needs_a_deploy_button_and_a_manual_deployment_step(tmp_path: Path) -> None:
    def title(steps: list[dict]) -> str:
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        data_file = solution(folder, {"Data Connectors": ["Data Connectors/C.json"]},
                             {"Data Connectors/C.json": {**CONNECTOR, "instructionSteps": steps}})
        inner, top = connector_configs(render_package(read_solution_input(data_file))[0])
        assert inner["title"] == top["title"]
        return inner["title"]

    deploy = {"description": "Use [Deploy To Azure](https://aka.ms/x)"}
    manual = {"title": "Option 2 - Manual Deployment of Azure Functions", "description": "By hand"}
    nested = {"instructions": [{"type": "InstructionStepsGroup", "parameters": {"instructionSteps": [
        {"title": "Option 1", "description": "Click Deploy To Azure"},
        {"title": "Option 2 - Manual Deployment of Azure Functions", "description": "By hand"}]}}]}
    assert title([deploy]) == "Synthetic events"
    assert title([deploy, manual]) == "Synthetic events (using Azure Functions)"
    assert title([{"description": "", **nested}]) == "Synthetic events (using Azure Functions)"  # "" removed first
    assert title([manual, {"description": "x", **nested}]) == "Synthetic events"  # nested read only without description
    only_deploy = {"instructions": [{"type": "InstructionStepsGroup", "parameters": {"instructionSteps": [
        {"title": "Option 1", "description": "Click Deploy To Azure"}]}}]}
    assert title([manual, only_deploy]) == "Synthetic events"  # the nested check resets the top-level one


def test_static_connector_writes_absent_keys_as_null(tmp_path: Path) -> None:
    connector = {k: v for k, v in CONNECTOR.items() if k != "connectivityCriteria"}
    data_file = solution(tmp_path, {"Data Connectors": ["Data Connectors/C.json"], "StaticDataConnectorIds": ["Synthetic"]},
                         {"Data Connectors/C.json": connector})
    main, _ = render_package(read_solution_input(data_file))
    template = resources(main, "dataConnectorTemplateSpecName1")[0]
    inner = template["properties"]["mainTemplate"]["resources"][0]["properties"]["connectorUiConfig"]
    top = [r for r in main["resources"] if r["type"].endswith("/dataConnectors")][0]["properties"]["connectorUiConfig"]
    assert inner["connectivityCriterias"] is None  # Select-Object writes an absent property as null
    assert "connectivityCriterias" not in top and "connectivityCriteria" not in top  # added only when not null
    assert inner["title"] == top["title"] == "Synthetic events"  # no Azure Functions suffix for StaticUI


# --- analytic rules and hunting queries --------------------------------------------------------


def test_analytic_rule_objects_are_passed_through_as_written(tmp_path: Path) -> None:
    rule = RULE + "eventGroupingSettings: {}\nsentinelEntitiesMappings: []\n"
    data_file = solution(tmp_path, {"Analytic Rules": ["Analytic Rules/R.yaml"]}, {"Analytic Rules/R.yaml": rule})
    main, _ = render_package(read_solution_input(data_file))
    props = resources(main, "analyticRuleTemplateSpecName1")[0]["properties"]["mainTemplate"]["resources"][0]["properties"]
    assert props["eventGroupingSettings"] == {}  # `if ($yaml.$yamlField)` is true for any mapping
    assert "sentinelEntitiesMappings" not in props  # and false for an empty list
    assert props["severity"] == "high" and props["tactics"] == ["defenseevasion"]  # not normalised
    assert props["incidentConfiguration"] == {"createIncident": False, "groupingConfiguration": {
        "enabled": False, "reopenClosedIncident": False, "lookbackDuration": "PT5H", "matchingMethod": "AllEntities"}}
    assert props["alertDetailsOverride"] == {"alertDisplayNameFormat": "Something by {{Account}}",
                                             "alertDescriptionFormat": ""}  # Remove-EmptyArrays removes nothing
    assert props["customDetails"] == {"Who": "Account"}


def test_hunting_text_keeps_its_space_without_connectors(tmp_path: Path) -> None:
    data_file = solution(tmp_path, {"Hunting Queries": ["Hunting Queries/H.yaml"]}, {"Hunting Queries/H.yaml": HUNTING})
    _, ui = render_package(read_solution_input(data_file))
    [step] = ui["parameters"]["steps"]
    assert step["elements"][2]["elements"][0]["options"]["text"] == "Looks for something. "


# --- codeless connectors (createCCPConnector.ps1) ----------------------------------------------


def test_ccp_placeholders_become_parameters_of_the_connections_template(tmp_path: Path) -> None:
    definition = {"type": "Microsoft.SecurityInsights/dataConnectorDefinitions", "kind": "Customizable",
                  "properties": {"connectorUiConfig": {
                      "id": "SynthCcp", "title": "Synthetic CCP",
                      "instructionSteps": [{"instructions": [{"type": "Textbox", "parameters": {"name": "apiKey"}}]}]}}}
    poller = {"type": "Microsoft.SecurityInsights/dataConnectors", "name": "{{connectorName}}", "kind": "RestApiPoller",
              "properties": {"connectorDefinitionName": "SynthCcp", "dcrConfig": {"streamName": "Custom-Synth"},
                             "auth": {"type": "APIKey", "ApiKey": "{{apiKey}}"},
                             "request": {"apiEndpoint": "https://{{domain}}/api/v1", "headers": {"X": "{{apiKey}}"},
                                         "queryParameters": {"type": "{{types}}[0]", "limit": 10}}}}
    dcr = {"type": "Microsoft.Insights/dataCollectionRules", "name": "SynthDCR{{suffix}}", "location": "{{location}}",
           "properties": {"destinations": {"logAnalytics": [{"workspaceResourceId": "{{workspaceResourceId}}"}]},
                          "dataFlows": [{"streams": ["Custom-Synth"], "outputStream": "Custom-Synth_CL"}],
                          "streamDeclarations": {}}}
    table = {"type": "Microsoft.OperationalInsights/workspaces/tables", "name": "Synth_CL", "tags": {"a": "b"},
             "properties": {"schema": {"name": "Synth_CL", "columns": [{"name": "TimeGenerated", "type": "datetime"}]}}}
    other_table = {**table, "name": "Other_CL"}  # named by no DCR: still packaged, after the paired one
    data_file = solution(tmp_path, {"Data Connectors": ["Data Connectors/ccp/definition.json"]}, {
        "Data Connectors/ccp/definition.json": definition, "Data Connectors/ccp/poller.json": [poller],
        "Data Connectors/ccp/dcr.json": [dcr], "Data Connectors/ccp/table.json": [table],
        "Data Connectors/other/table.json": other_table})
    main, ui = render_package(read_solution_input(data_file))
    definition_template = resources(main, "dataConnectorTemplateNameConnectorDefinition1")[0]
    dcr_out, table_out, other_out = definition_template["properties"]["mainTemplate"]["resources"][2:]
    assert other_out["name"] == "Other_CL"
    assert dcr_out["name"] == "[concat('SynthDCR', parameters('workspace'))]"
    assert dcr_out["kind"] == "[variables('blanks')]" and "streamDeclarations" not in dcr_out["properties"]
    assert dcr_out["properties"]["dataCollectionEndpointId"] == "[variables('dataCollectionEndpointId')]"
    assert dcr_out["properties"]["destinations"]["logAnalytics"] == [
        {"workspaceResourceId": "[variables('workspaceResourceId')]", "name": "clv2ws1"}]
    assert table_out == {"name": "Synth_CL", "apiVersion": "2022-10-01", "type": table["type"],
                         "location": "[parameters('workspace-location')]", "kind": None, "properties": table["properties"]}
    connections = resources(main, "dataConnectorTemplateNameConnections1")[0]["properties"]["mainTemplate"]
    [poller_out] = [r for r in connections["resources"] if r["type"].endswith("/dataConnectors")]
    assert poller_out["name"] == ("[[concat(parameters('innerWorkspace'),'/Microsoft.SecurityInsights/', "
                                  "parameters('connectorName'), parameters('guidValue'))]")
    assert poller_out["properties"]["auth"]["ApiKey"] == "[[parameters('apiKey')]"
    assert poller_out["properties"]["request"]["apiEndpoint"] == "[[concat('https://',parameters('domain'),'/api/v1')]"
    assert poller_out["properties"]["request"]["headers"] == {"X": "[[parameters('apiKey')]"}
    assert poller_out["properties"]["request"]["queryParameters"] == {"type": "[[parameters('types')[0]]", "limit": 10}
    assert poller_out["properties"]["dcrConfig"]["dataCollectionEndpoint"] == "[[parameters('dcrConfig').dataCollectionEndpoint]"
    assert list(connections["parameters"]) == ["guidValue", "innerWorkspace", "connectorName", "apiKey", "domain",
                                               "connectorDefinitionName", "workspace", "dcrConfig"]
    assert main["parameters"]["subscription"]["defaultValue"] == "[last(split(subscription().id, '/'))]"
    assert [e["name"] for e in ui["parameters"]["steps"][0]["elements"]] == ["dataconnectors1-text", "dataconnectors-link1"]
    assert "**Data Connectors:** 1" in ui["parameters"]["config"]["basics"]["description"]
