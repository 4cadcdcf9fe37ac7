"""Reading Microsoft's solution input (Data/Solution_X.json) into a PackageInput."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import shared_path
from packer.content.model import AnalyticRule, HuntingQuery, Workbook
from packer.errors import PackerError, ValidationFailed
from packer.package.inputs import STATIC_UI, CcpConnector, DataConnector
from packer.package.main_template import render_package
from packer.package.ms_input import find_case_insensitive, read_solution_input, strip_prefixes


def test_prefixes_are_stripped_as_the_packager_does() -> None:
    assert strip_prefixes("Microsoft Copilot/Analytic Rules/X.yaml", "Microsoft Copilot", "") == "Analytic Rules/X.yaml"
    assert strip_prefixes("Solutions/OpenVPN/Parsers/P.yaml", "OpenVPN", "") == "Parsers/P.yaml"
    assert strip_prefixes("C:\\Git\\Solutions\\A\\Workbooks\\W.json", "A", "C:\\Git\\Solutions\\A") == "Workbooks/W.json"


def test_paths_are_found_case_insensitively(tmp_path: Path) -> None:
    (tmp_path / "Data Connectors").mkdir()
    (tmp_path / "Data Connectors" / "Conn.JSON").write_text("{}")
    assert find_case_insensitive(tmp_path, "data connectors/conn.json") == tmp_path / "Data Connectors" / "Conn.JSON"
    assert find_case_insensitive(tmp_path, "Data Connectors/missing.json") is None


def test_copilot_keeps_file_order_and_reads_the_codeless_connector() -> None:
    data_file = shared_path("corpus", "solutions", "Microsoft Copilot", "Data", "Solution_MicrosoftCopilot.json")
    package = read_solution_input(data_file)
    kinds = [type(e) for e in package.entries]
    assert kinds == [CcpConnector] + [AnalyticRule] * 4 + [HuntingQuery] * 2
    assert [e.source.path.stem for e in package.entries[1:3]] == ["CopilotFileUploadsDisabled", "CopilotJailbreakAttempt"]
    assert package.skipped == ()
    [ccp] = package.of_type(CcpConnector)
    # the poller and DCR are found beside the definition (the data file lists only the definition)
    assert (ccp.id, ccp.title, len(ccp.pollers), len(ccp.dcrs), ccp.tables) == ("MicrosoftCopilot", "Microsoft Copilot", 1, 1, ())
    assert ccp.pollers[0]["name"] == "CopilotPolling" and ccp.dcrs[0]["name"] == "Copilot-DCR"
    assert package.solution.author.email is None
    assert package.solution.content_id == "azuresentinel.azure-sentinel-solution-microsoftcopilot"


def test_a_ccp_definition_is_paired_with_poller_dcr_and_table_by_name_and_stream() -> None:
    data_file = next(shared_path("corpus", "solutions", "Ermes Browser Security", "Data").glob("*.json"))
    [ccp] = read_solution_input(data_file).of_type(CcpConnector)
    assert [p["name"] for p in ccp.pollers] == ["apiRequest"]
    assert [d["name"] for d in ccp.dcrs] == ["ErmesOauthDCR1"]
    assert [t["name"] for t in ccp.tables] == ["ErmesBrowserSecurityEvents_CL"]


def test_a_ccp_definition_without_its_poller_is_an_error_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "Ermes"
    shutil.copytree(shared_path("corpus", "solutions", "Ermes Browser Security"), folder)
    (folder / "Data Connectors" / "ErmesBrowserSecurityEvents_ccp" / "data_connector_poller.json").unlink()
    with pytest.raises(PackerError, match="ErmesBrowserSecurityEvents' has no poller"):
        read_solution_input(next((folder / "Data").glob("*.json")))


def test_windows_firewall_connectors_are_static_and_the_workbook_needs_its_metadata() -> None:
    folder = shared_path("corpus", "solutions", "Windows Firewall")
    data_file = folder / "Data" / "Solution_Windows Firewall.json"
    with pytest.raises(PackerError, match="--workbooks-metadata"):
        read_solution_input(data_file)
    metadata = next((folder / "_derived").glob("*.json"))
    package = read_solution_input(data_file, metadata)
    connectors = package.of_type(DataConnector)
    assert [c.id for c in connectors] == ["WindowsFirewall", "WindowsFirewallAma"]
    assert {c.kind for c in connectors} == {STATIC_UI}
    [workbook] = package.of_type(Workbook)
    assert (workbook.key, workbook.version, workbook.title) == ("WindowsFirewall", "1.0.0", "Windows Firewall")


def test_unsupported_kinds_are_reported_by_name(tmp_path: Path) -> None:
    source = shared_path("corpus", "solutions", "Cloud Service Threat Protection Essentials")
    folder = tmp_path / "Solution"
    shutil.copytree(source, folder)
    data_file = next((folder / "Data").glob("*.json"))
    data = json.loads(data_file.read_text(encoding="utf-8"))
    del data["Metadata"]
    data["Playbooks"] = ["Playbooks/Block/azuredeploy.json"]
    data["Watchlists"] = ["Watchlists/W.json"]
    data["Metadata"] = "SolutionMetadata.json"
    data_file.write_text(json.dumps(data), encoding="utf-8")
    package = read_solution_input(data_file)
    assert any("Playbooks/Block/azuredeploy.json" in s for s in package.skipped)
    assert any("Watchlists/W.json" in s for s in package.skipped)
    assert len(package.of_type(HuntingQuery)) == 2


def test_a_listed_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "Data").mkdir()
    (tmp_path / "SolutionMetadata.json").write_text(json.dumps({"publisherId": "p", "offerId": "o", "support": {}}))
    data_file = tmp_path / "Data" / "Solution_X.json"
    data_file.write_text(json.dumps({"Name": "X", "Analytic Rules": ["Analytic Rules/none.yaml"],
                                     "Metadata": "SolutionMetadata.json", "Version": "3.0.0"}))
    with pytest.raises(PackerError, match="none.yaml"):
        read_solution_input(data_file)


def test_an_unreadable_listed_yaml_file_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "Solution"
    shutil.copytree(shared_path("corpus", "solutions", "Microsoft Copilot"), folder)
    rule = sorted((folder / "Analytic Rules").glob("*.yaml"))[0]
    rule.write_text("- a list\n- not a rule\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        read_solution_input(next((folder / "Data").glob("*.json")))
    assert {(p.path.name, p.code) for p in caught.value.report.errors} == {(rule.name, "yaml.not-mapping")}


def test_problems_microsofts_packager_does_not_check_are_warnings_and_the_item_is_packaged(tmp_path: Path) -> None:
    folder = tmp_path / "Solution"
    shutil.copytree(shared_path("corpus", "solutions", "Microsoft Copilot"), folder)
    rule = sorted((folder / "Analytic Rules").glob("*.yaml"))[0]
    query = sorted((folder / "Hunting Queries").glob("*.yaml"))[0]
    rule.write_text(rule.read_text(encoding="utf-8").replace("  - DefenseEvasion", "  - DefenceEvasion", 1), encoding="utf-8")
    query.write_text(query.read_text(encoding="utf-8").replace("  - InitialAccess", "  - InitialAcess", 1), encoding="utf-8")
    package = read_solution_input(next((folder / "Data").glob("*.json")))
    assert len(package.of_type(AnalyticRule)) == 4 and len(package.of_type(HuntingQuery)) == 2
    warnings = "\n".join(package.skipped)
    assert f"{rule.name}:" in warnings and "tactics" in warnings
    assert f"{query.name}:" in warnings
    main, _ = render_package(package)
    template = next(r for r in main["resources"] if "analyticRuleTemplateSpecName1" in r["name"])
    assert template["properties"]["mainTemplate"]["resources"][0]["properties"]["tactics"] == ["DefenceEvasion"]


def test_wrong_value_types_in_microsofts_json_are_errors_not_tracebacks(tmp_path: Path) -> None:
    folder = tmp_path / "OpenVPN"
    shutil.copytree(shared_path("corpus", "solutions", "OpenVPN"), folder)
    data_file = next((folder / "Data").glob("*.json"))
    connector = next((folder / "Data Connectors").glob("*.json"))
    definition = json.loads(connector.read_text(encoding="utf-8-sig"))
    connector.write_text(json.dumps({**definition, "metadata": "x", "dataTypes": 5}), encoding="utf-8")
    built = next(e for e in read_solution_input(data_file).entries if isinstance(e, DataConnector))
    assert built.version == "1.0.0" and built.data_type_names == []
    metadata = folder / "SolutionMetadata.json"
    metadata.write_text(json.dumps({**json.loads(metadata.read_text(encoding="utf-8-sig")), "providers": 5}), encoding="utf-8")
    with pytest.raises(PackerError, match="'providers' must be a list of names, not 5"):
        read_solution_input(data_file)
    metadata.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(PackerError, match="SolutionMetadata.json: not valid JSON"):
        read_solution_input(data_file)


def test_parser_parameters_are_joined_as_the_packager_does() -> None:
    from packer.package.ms_input import function_parameters

    params = [{"Name": "starttime", "Type": "datetime", "Default": "datetime(null)"},
              {"Name": "srcipaddr", "Type": "string", "Default": "*"},
              {"Name": "T", "Type": "table:(TimeGenerated:datetime)"},
              {"Name": "disabled", "Type": "bool", "Default": False}]
    assert function_parameters(params) == "starttime:datetime=datetime(null),srcipaddr:string='*',T:table,disabled:bool=False"
    assert function_parameters(None) == ""


def test_a_clip_block_at_end_of_file_ends_with_a_newline_as_in_microsofts_packages() -> None:
    from packer.package.ms_input import clip_block_newline

    assert clip_block_newline("id: x\nquery: |\n  T\n  | take 1", "query", "T\n| take 1") == "T\n| take 1\n"
    assert clip_block_newline("query: |-\n  T", "query", "T") == "T"  # strip chomping keeps none
    assert clip_block_newline("query: T", "query", "T") == "T"  # plain scalars are left alone
    assert clip_block_newline("query: |\n  T\n", "query", "T\n") == "T\n"


def test_generic_ui_connector_is_packaged_as_the_packager_does() -> None:
    from packer.package.main_template import render_package

    data_file = shared_path("corpus", "solutions", "OpenVPN", "Data", "Solution_OpenVpn.json")
    package = read_solution_input(data_file)
    [connector] = package.of_type(DataConnector)
    assert connector.kind == "GenericUI"
    main, ui = render_package(package)
    top = next(r for r in main["resources"] if r["type"].endswith("/dataConnectors"))
    config = top["properties"]["connectorUiConfig"]
    # the fixed order, then id; the banner the file has is added after it (GetDataConnectorMetadata)
    assert top["kind"] == "GenericUI" and list(config)[-2:] == ["id", "additionalRequirementBanner"]
    assert "metadata" not in config
    assert list(config)[:6] == ["title", "publisher", "descriptionMarkdown", "graphQueries", "dataTypes", "connectivityCriterias"]
    assert config["availability"]["isPreview"] is False
    template = next(r for r in main["resources"] if r["name"] == "[variables('dataConnectorTemplateSpecName1')]")
    inner = template["properties"]["mainTemplate"]["resources"][0]["properties"]["connectorUiConfig"]
    assert list(inner)[0] == "id" and inner["id"] == "[variables('_uiConfigId1')]"
    assert "additionalRequirementBanner" in inner  # GenericUI keeps every key of the file
    assert main["variables"]["uiConfigId1"] == connector.id == "OpenVPN"
    # handleEmptyInstructionProperties: the first step's "" title and [] instructions go, in both copies
    for copy in (config, inner):
        assert copy["instructionSteps"][0] == {"description": connector.definition["instructionSteps"][0]["description"]}
        assert all(list(s) == sorted(s, key=str.casefold) for s in copy["instructionSteps"])
    step = ui["parameters"]["steps"][0]
    # the solution has a parser: its text comes before the link, numbered by the connector count
    assert [e["name"] for e in step["elements"]] == ["dataconnectors1-text", "dataconnectors-parser-text", "dataconnectors-link1"]
    assert "OpenVPN Syslog data" in step["elements"][0]["options"]["text"]


def test_a_field_the_builder_cannot_package_is_an_error_naming_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "Solution"
    shutil.copytree(shared_path("corpus", "solutions", "Microsoft Copilot"), folder)
    query = sorted((folder / "Hunting Queries").glob("*.yaml"))[0]
    # entityMappings must be a list of mappings; a scalar cannot be packaged (by Microsoft's packager either)
    written = query.read_text(encoding="utf-8").replace("\nentityMappings:", "\nentityMappings: 5\nignored:", 1)
    query.write_text(written, encoding="utf-8")
    with pytest.raises(PackerError, match=f"{query.name}: cannot be packaged"):
        read_solution_input(next((folder / "Data").glob("*.json")))
