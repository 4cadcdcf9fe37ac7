"""Read an Azure-Sentinel solution folder (Microsoft's packager input) into a PackageInput.

Input: `Solutions/<Name>/Data/Solution_X.json` (solution-format.md 2.2), the
`SolutionMetadata.json` it names, and the content files it lists. Paths are resolved as the
packager does (prefixes stripped, case-insensitive). What this builder cannot package yet
(codeless connectors, playbooks, watchlists, non-YAML parsers...) is reported in `skipped`.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from packer.content.load import analytic_rule_from, get, hunting_query_from, parser_from
from packer.content.model import Author, Solution, SourceInfo, Support, Workbook
from packer.content.document import CiDocument
from packer.content.yamlsource import read_text
from packer.errors import PackerError, ValidationFailed
from packer.package.inputs import GENERIC_UI, STATIC_UI, CcpConnector, DataConnector, Entry, PackageInput
from packer.package.solution import release_notes_url

CONTENT_KEYS = ("Analytic Rules", "Hunting Queries", "Workbooks", "Parsers", "Data Connectors")
UNSUPPORTED_KEYS = ("Playbooks", "Watchlists", "SavedSearches", "SummaryRules")
BLADE_KEYS = ("WorkbookBladeDescription", "AnalyticalRuleBladeDescription", "HuntingQueryBladeDescription",
              "PlaybooksBladeDescription")
REFUSED_SOURCE_KINDS = ("community", "standalone")
# Keys the packager reads that need no packaging of their own (solution-format.md 2.2).
SETTING_KEYS = ("Name", "Author", "Logo", "Description", "BasePath", "Version", "Metadata", "TemplateSpec",
                "Is1PConnector", "StaticDataConnectorIds", "dependentDomainSolutionIds") + BLADE_KEYS


def _read_json(path: Path) -> Any:
    try:
        return json.loads(read_text(path))
    except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deeply
        raise PackerError(f"{path}: not valid JSON: {exc}") from None


CCP_DEFINITION_TYPE = "Microsoft.SecurityInsights/dataConnectorDefinitions"
CCP_POLLER_TYPE = "Microsoft.SecurityInsights/dataConnectors"
DCR_TYPE = "Microsoft.Insights/dataCollectionRules"
TABLE_TYPE = "Microsoft.OperationalInsights/workspaces/tables"
CCP_IGNORED_FILES = ("function.json", "host.json", "proxies.json")


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _of_type(value: Any, type_: str) -> list[dict]:
    """The resources of `type_` in a JSON file's value (one resource or an array of them)."""
    return [r for r in _as_list(value) if isinstance(r, dict) and str(r.get("type", "")).lower() == type_.lower()]


def _dcr_stream(dcr: dict, key: str) -> Any:
    """dataFlows[0].streams[0] or dataFlows[0].outputStream, as the packager reads them."""
    flows = get(dcr.get("properties") or {}, "dataFlows") or [{}]
    value = get(flows[0], key) if isinstance(flows, list) and isinstance(flows[0], dict) else None
    return value[0] if key == "streams" and isinstance(value, list) and value else value


def find_case_insensitive(base: Path, relative: str) -> Path | None:
    """`relative` under `base`, matching each path part case-insensitively (Windows semantics)."""
    current = base
    for part in [p for p in relative.replace("\\", "/").split("/") if p and p != "."]:
        exact = current / part
        if exact.exists():
            current = exact
            continue
        if not current.is_dir():
            return None
        match = next((c for c in sorted(current.iterdir()) if c.name.lower() == part.lower()), None)
        if match is None:
            return None
        current = match
    return current


def strip_prefixes(entry: str, name: str, base_path: str) -> str:
    """Drop a leading `<BasePath>/`, `Solutions/` and `<Name>/` (the packager's path rule)."""
    path = entry.replace("\\", "/").lstrip("/")
    for prefix in (base_path.replace("\\", "/").rstrip("/"), "Solutions", name):
        if prefix and path.lower().startswith(prefix.lower() + "/"):
            path = path[len(prefix) + 1:]
    return path


def package_version(data_version: Any) -> str:
    """The contentPackages version the packager derives from the data file's `Version`: a 3.x
    version is kept, anything else (absent, 2.x, not X.Y.Z) becomes 3.0.0."""
    text = str(data_version or "")
    return text if re.fullmatch(r"3\.\d+\.\d+", text) else "3.0.0"


def solution_from_data(data: dict, metadata: dict, data_file: Path) -> Solution:
    # String.Split(" - "): every occurrence splits, nothing is trimmed; part 2 (even "") is the e-mail
    author_parts = str(get(data, "Author") or "").split(" - ")
    support = get(metadata, "support") or {}
    categories = get(metadata, "categories") or {}
    return Solution(
        name=str(get(data, "Name")),
        publisher_id=str(get(metadata, "publisherId")),
        offer_id=str(get(metadata, "offerId")),
        version=package_version(get(data, "Version")),
        # inserted with PowerShell's -replace, whose replacement text turns `$$` into `$`
        description=str(get(data, "Description") or "").replace("$$", "$"),
        author=Author(author_parts[0], author_parts[1] if len(author_parts) > 1 else None),
        support=Support(tier=str(get(support, "tier") or ""), name=get(support, "name"),
                        email=get(support, "email"), link=get(support, "link")),
        source=SourceInfo(data_file),
        first_publish_date=get(metadata, "firstPublishDate") or None,
        last_publish_date=get(metadata, "lastPublishDate") or None,
        logo=get(data, "Logo"),
        providers=_names(metadata, "providers", "SolutionMetadata.json"),
        domains=_names(categories, "domains", "SolutionMetadata.json categories"),
        verticals=_names(categories, "verticals", "SolutionMetadata.json categories"),
        dependent_solution_ids=_names(data, "dependentDomainSolutionIds", str(data_file)),
    )


def _names(mapping: Any, key: str, where: str) -> tuple[str, ...]:
    """A list of names in Microsoft's JSON; one name given as text counts as a list of one."""
    value = get(mapping, key)
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PackerError(f"{where}: '{key}' must be a list of names, not {json.dumps(value)}")
    return tuple(value)


def clip_block_newline(text: str, key: str, value: str) -> str:
    """A `key: |` block that ends the file without a newline still ends with one in Microsoft's
    packages (YamlDotNet); PyYAML, following the YAML spec, gives none. Do as the packager does."""
    if value.endswith("\n") or not re.search(rf"^{re.escape(key)}:[ \t]*\|[ \t]*(#.*)?$", text, re.MULTILINE):
        return value
    return value + "\n"


def function_parameters(params: Any) -> str:
    """`FunctionParams` as the packager joins them: `name:type=default,...` (strings quoted)."""
    if not isinstance(params, list):
        return str(params or "")
    parts = []
    for param in params:
        type_ = str(get(param, "Type") or "")
        part = f"{get(param, 'Name')}:{'table' if type_.lower().startswith('table') else type_}"
        default = get(param, "Default")
        if default is not None:
            part += f"='{default}'" if type_.lower() == "string" else f"={default}"
        parts.append(part)
    return ",".join(parts)


def load_workbooks_metadata(path: Path | None) -> list[dict]:
    """Entries of a WorkbooksMetadata.json (an array, or one entry as an object)."""
    if path is None:
        return []
    value = _read_json(path)
    return value if isinstance(value, list) else [value]


class _Reader:
    def __init__(self, data_file: Path, workbooks_metadata: list[dict]):
        self.data_file = data_file
        self.folder = data_file.parent.parent
        self.data = _read_json(data_file)
        if not isinstance(self.data, dict):
            raise PackerError(f"{data_file}: a solution data file holds a JSON object")
        self.name = str(get(self.data, "Name") or "")
        self.base_path = str(get(self.data, "BasePath") or "")
        self.workbooks_metadata = workbooks_metadata
        # Current V3 rule: StaticUI exactly for the listed ids (older builds made every connector
        # StaticUI under Is1PConnector; today's commonFunctions.ps1 does not read that key).
        self.static_ids = {str(i).lower() for i in _names(self.data, "StaticDataConnectorIds", str(data_file))}
        self.entries: list[Entry] = []
        self.skipped: list[str] = []
        self.parser_descriptions: dict[str, str] = {}
        self.rules_as_written: dict[Path, dict] = {}
        self.ccp_tables_found: list[dict] = []
        self.entries_before_metadata: int | None = None
        self.problems: list = []  # packer.validate Problems of the listed YAML files
        self.files_checked = 0

    def resolve(self, key: str, entry: str) -> Path | None:
        path = find_case_insensitive(self.folder, strip_prefixes(entry, self.name, self.base_path))
        if path is None or not path.is_file():
            raise PackerError(
                f"{self.data_file}: '{key}' lists '{entry}', which is not a file under {self.folder} "
                "(paths are relative to the solution folder)"
            )
        return path

    def read(self) -> None:
        for key, value in self.data.items():
            if key.lower() == "metadata":
                self.entries_before_metadata = len(self.entries)
            canonical = next((k for k in CONTENT_KEYS + UNSUPPORTED_KEYS if k.lower() == key.lower()), None)
            if key.lower() == "dataconnectors":  # createSolutionV3.ps1 reads this spelling too
                canonical = "Data Connectors"
            if canonical is None and not any(k.lower() == key.lower() for k in SETTING_KEYS):
                self.skipped.append(f"data file key '{key}': not one this builder reads; nothing of it is packaged "
                                    "(Microsoft's packager would package a .yaml file it lists as an analytic rule)")
                continue
            if not isinstance(value, list):
                if canonical is not None and value not in (None, ""):
                    self.skipped.append(f"{canonical}: '{key}' is not a list of files; nothing of it is packaged")
                continue
            if canonical in UNSUPPORTED_KEYS:
                self.skipped += [f"{canonical} {entry}: not supported by this builder yet" for entry in value]
            elif canonical is not None:
                for entry in value:
                    self.add(canonical, str(entry))
                    if self.entries_before_metadata is not None:
                        self.skipped.append(f"{canonical} {entry}: listed after Metadata in the data file; packaged, "
                                            "but (as Microsoft's packager does) not a dependency of the solution")

    def add(self, key: str, entry: str) -> None:
        path = self.resolve(key, entry)
        if key == "Data Connectors":
            self.add_connector(path, entry)
        elif key == "Workbooks":
            self.entries.append(self.workbook(path))
        elif path.suffix.lower() not in (".yaml", ".yml"):
            self.skipped.append(f"{key} {entry}: only YAML {key.lower()} are supported by this builder yet")
        elif (doc := self.checked(path, key)) is None:
            return
        else:
            try:
                self.add_item(key, path, doc)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise PackerError(f"{path}: cannot be packaged: {exc}") from None

    def add_item(self, key: str, path: Path, ci: CiDocument) -> None:
        doc = ci.source  # Microsoft's packager copies some fields as written; the model comes from the CI view
        if key == "Parsers":
            self.parser_descriptions[str(get(doc.value, "FunctionName"))] = str(get(doc.value, "Description") or "")
            parser = parser_from(ci)
            self.entries.append(replace(
                parser,
                query=clip_block_newline(doc.text, "FunctionQuery", parser.query),
                function_parameters=function_parameters(get(doc.value, "FunctionParams")),
            ))
        else:
            source_kind = str(get(get(get(doc.value, "metadata") or {}, "source") or {}, "kind") or "")
            if source_kind.lower() in REFUSED_SOURCE_KINDS:
                raise PackerError(f"{path}: metadata.source.kind is '{source_kind}'; such content cannot be packaged")
            builder = hunting_query_from if key == "Hunting Queries" else analytic_rule_from
            item = builder(ci)
            if key != "Hunting Queries":
                self.rules_as_written[item.source.path] = copy.deepcopy(doc.value)
            self.entries.append(replace(item, query=clip_block_newline(doc.text, "query", item.query)))

    def checked(self, path: Path, key: str) -> CiDocument | None:
        """The file's CI view, as `validate` checked it; its errors are kept otherwise."""
        from packer.validate.files import HUNTING, PARSER, RULE, check_file

        result = check_file(path, {"Parsers": PARSER, "Hunting Queries": HUNTING}.get(key, RULE))
        self.files_checked += 1
        errors = [p for p in result.problems if p.is_error]
        if result.source is None or not isinstance(result.source.value, dict):
            self.problems += errors  # unreadable: Microsoft's packager cannot package it either
            return None
        # What Microsoft's packager does not check (a misspelt tactic...) is packaged as written.
        self.skipped += [f"{p.path}:{p.line}: {p.field or '(file)'}: {p.message} (Microsoft's packager does not "
                         "check this; packaged as written)" for p in errors]
        return result.ci

    def add_connector(self, path: Path, entry: str) -> None:
        definition = _read_json(path)
        if ccp_definition := _of_type(definition, CCP_DEFINITION_TYPE):
            self.entries.append(self.ccp_connector(ccp_definition[0], path, entry))
            return
        if not isinstance(definition, dict) or "type" in definition or "resources" in definition or "id" not in definition:
            self.skipped.append(f"Data Connectors {entry}: codeless (CCP) connectors are not supported yet")
            return
        connector_id = str(definition["id"])
        static = connector_id.lower() in self.static_ids
        self.entries.append(DataConnector(connector_id, STATIC_UI if static else GENERIC_UI,
                                          MappingProxyType(definition), path))

    def ccp_connector(self, definition: dict, path: Path, entry: str) -> CcpConnector:
        """The poller, DCR and tables the packager pairs with a CCP definition (get-ccp-details.ps1):
        every JSON file under the `Data Connectors` folder, poller by `connectorDefinitionName`, DCR by
        the poller's stream, table by the DCR's output stream."""
        folder = find_case_insensitive(self.folder, "Data Connectors") or path.parent
        resources = [r for file in sorted(folder.rglob("*.json")) if file.name.lower() not in CCP_IGNORED_FILES
                     for r in _as_list(_read_json(file))]
        connector = CcpConnector(definition, (), (), (), path)
        pollers = [r for r in _of_type(resources, CCP_POLLER_TYPE)
                   if get(r.get("properties") or {}, "connectorDefinitionName") == connector.id]
        streams = {str(get(get(p.get("properties") or {}, "dcrConfig") or {}, "streamName")) for p in pollers}
        all_dcrs = _of_type(resources, DCR_TYPE)
        dcrs = [d for d in all_dcrs if _dcr_stream(d, "streams") in streams]
        if not dcrs and len(all_dcrs) == 1:
            # The poller may name a stream the DCR does not declare (Microsoft Copilot's poller says
            # LLMACTIVITY_RESTAPI); Microsoft's package still carries the folder's only DCR.
            dcrs = all_dcrs
        if not pollers or not dcrs:
            missing = "poller (Microsoft.SecurityInsights/dataConnectors)" if not pollers else "data collection rule"
            raise PackerError(f"{path}: codeless connector '{connector.id}' has no {missing} under {folder} "
                              "(the packager pairs the definition with them by connectorDefinitionName and stream)")
        outputs = {str(_dcr_stream(d, "outputStream")).removeprefix("Custom-") for d in dcrs}
        tables = [t for t in _of_type(resources, TABLE_TYPE) if t.get("name") in outputs]
        self.ccp_tables_found += [t for t in _of_type(resources, TABLE_TYPE) if t not in self.ccp_tables_found]
        return replace(connector, pollers=tuple(pollers), dcrs=tuple(dcrs), tables=tuple(tables))

    def add_unpaired_ccp_tables(self) -> None:
        """Tables of the `Data Connectors` folder that no CCP connector's DCR names go into the first
        CCP connector's template, after its own (GetCCPTableFilePaths, `$ccpTablesCounter -eq 1`)."""
        ccps = [i for i, e in enumerate(self.entries) if isinstance(e, CcpConnector)]
        if not ccps:
            return
        paired = [t for i in ccps for t in self.entries[i].tables]
        extra = tuple(t for t in self.ccp_tables_found if t not in paired)
        if extra:
            first = self.entries[ccps[0]]
            self.entries[ccps[0]] = replace(first, tables=first.tables + extra)

    def workbook(self, path: Path) -> Workbook:
        entry = next(
            (e for e in self.workbooks_metadata
             if Path(str(get(e, "templateRelativePath") or "")).stem.lower() == path.stem.lower()),
            None,
        )
        if entry is None:
            raise PackerError(
                f"{path}: no WorkbooksMetadata entry has templateRelativePath '{path.name}'; "
                "pass the repository's Workbooks/WorkbooksMetadata.json with --workbooks-metadata"
            )
        source_kind = str(get(get(entry, "source") or {}, "kind") or "")
        if source_kind.lower() in REFUSED_SOURCE_KINDS:
            raise PackerError(f"{path}: its WorkbooksMetadata entry says source.kind '{source_kind}'; cannot package")
        return Workbook(
            key=str(get(entry, "workbookKey")),
            title=str(get(entry, "title")),
            description=str(get(entry, "description") or ""),
            version=str(get(entry, "version") or "1.0.0"),
            serialized_data=read_text(path),
            source=SourceInfo(path),
            template_path=path,
            subtitle=str(get(entry, "subtitle") or ""),
            provider=str(get(entry, "provider") or ""),
            logo_file_name=get(entry, "logoFileName"),
            data_types=_names(entry, "dataTypesDependencies", "WorkbooksMetadata entry"),
            data_connectors=_names(entry, "dataConnectorsDependencies", "WorkbooksMetadata entry"),
            metadata_description=powershell_text(entry) + ".description",
        )


def powershell_text(value: Any) -> str:
    """How PowerShell interpolates a value read by ConvertFrom-Json into a string: an object as
    `@{key=value; ...}` in file order, any array as `System.Object[]`, null as nothing, booleans
    as True/False. GetWorkbookDataMetadata writes `"$dependencies.description"` (the whole
    WorkbooksMetadata entry, then the literal `.description`) as the workbook metadata's
    description; Windows Firewall 3.0.3 shows it."""
    if isinstance(value, dict):
        return "@{" + "; ".join(f"{k}={powershell_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "System.Object[]"
    return "" if value is None else str(value)


def read_solution_input(data_file: Path, workbooks_metadata: Path | None = None) -> PackageInput:
    """A PackageInput from Microsoft's solution input (data file + SolutionMetadata + listed files)."""
    reader = _Reader(Path(data_file), load_workbooks_metadata(workbooks_metadata))
    metadata_name = str(get(reader.data, "Metadata") or "SolutionMetadata.json")
    metadata_path = find_case_insensitive(reader.folder, metadata_name)
    if metadata_path is None or not metadata_path.is_file():
        raise PackerError(f"{data_file}: its Metadata file '{metadata_name}' is not in {reader.folder}")
    solution = solution_from_data(reader.data, _read_json(metadata_path), reader.data_file)
    reader.read()
    reader.add_unpaired_ccp_tables()
    if reader.problems:
        from packer.validate.problems import ValidationReport

        report = ValidationReport(problems=sorted(reader.problems), files_checked=reader.files_checked,
                                  kql_status="skipped: not run for --solution-input")
        raise ValidationFailed(len(reader.problems), report)
    blades = {k: str(get(reader.data, k)) for k in BLADE_KEYS if get(reader.data, k)}
    return PackageInput(
        solution=solution,
        entries=tuple(reader.entries),
        blade_descriptions=MappingProxyType(blades),
        skipped=tuple(reader.skipped),
        parser_descriptions=MappingProxyType(reader.parser_descriptions),
        rules_as_written=MappingProxyType(reader.rules_as_written),
        entries_before_metadata=reader.entries_before_metadata,
        connector_link=any(k.lower() == "data connectors" for k in reader.data),
        release_notes_url=release_notes_url(solution.name),
    )
