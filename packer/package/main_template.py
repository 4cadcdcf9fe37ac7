"""Assemble mainTemplate.json and createUiDefinition.json from a PackageInput."""
from __future__ import annotations

from packer.content.model import AnalyticRule, HuntingQuery, Parser, Workbook
from packer.package.ccp import add_ccp_connector
from packer.package.connectors import add_data_connector
from packer.package.create_ui import create_ui_definition
from packer.package.inputs import CcpConnector, DataConnector, PackageInput
from packer.package.items import add_analytic_rule, add_hunting_query, add_parser, add_workbook
from packer.package.solution import add_solution_resource
from packer.package.template import DEPLOYMENT_SCHEMA, TemplateBuilder, author_text


def _add_entry(b: TemplateBuilder, package: PackageInput, entry) -> None:
    if isinstance(entry, AnalyticRule):
        add_analytic_rule(b, entry, package.rules_as_written.get(entry.source.path))
    elif isinstance(entry, HuntingQuery):
        add_hunting_query(b, entry)
    elif isinstance(entry, Parser):
        add_parser(b, entry, package.parser_descriptions.get(entry.function_name, ""))
    elif isinstance(entry, Workbook):
        add_workbook(b, entry)
    elif isinstance(entry, DataConnector):
        add_data_connector(b, entry)
    elif isinstance(entry, CcpConnector):
        add_ccp_connector(b, entry)
    else:  # pragma: no cover - PackageInput only holds the kinds above
        raise TypeError(f"cannot package {type(entry).__name__}")


def render_package(package: PackageInput, version: str | None = None) -> tuple[dict, dict]:
    """(mainTemplate, createUiDefinition) for the package, at `version` (default: the solution's)."""
    solution = package.solution
    b = TemplateBuilder(solution, version or solution.version)
    for entry in package.entries:
        _add_entry(b, package, entry)
    add_solution_resource(b, package)
    main = {
        "$schema": DEPLOYMENT_SCHEMA,
        "contentVersion": "1.0.0.0",
        "metadata": {"author": author_text(solution), "comments": f"Solution template for {solution.name}"},
        "parameters": b.parameters,
        "variables": b.variables,
        "resources": b.resources,
        "outputs": {},
    }
    return main, create_ui_definition(b, package)
