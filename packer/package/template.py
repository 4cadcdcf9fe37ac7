"""The mainTemplate being built: parameters, variables, resources and dependency criteria.

Shapes and literals follow Microsoft's V3 packager, current 3.x vintage (solution-format.md
sections 4.1-4.3). Item kinds add themselves through `packer.package.items` and
`packer.package.connectors`; the solution resource comes last (`packer.package.solution`).
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from packer.content.model import Solution

DEPLOYMENT_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"

# apiVersions of the current packager code (returnContentResources).
CONTENT_API = "2023-04-01-preview"  # contentTemplates, contentPackages
ALERT_RULE_TEMPLATE_API = "2023-02-01-preview"
SAVED_SEARCH_API = "2025-07-01"
METADATA_API = "2022-01-01-preview"
CONNECTOR_METADATA_API = "2023-04-01-preview"
WORKBOOK_API = "2021-08-01"
DATA_CONNECTOR_API = "2021-03-01-preview"

CONTENT_TEMPLATES_TYPE = "Microsoft.OperationalInsights/workspaces/providers/contentTemplates"
METADATA_TYPE = "Microsoft.OperationalInsights/workspaces/providers/metadata"

WORKSPACE_LOCATION = "[parameters('workspace-location')]"
PACKAGE_DEPENDENCY = (
    "[extensionResourceId(resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspace')), "
    "'Microsoft.SecurityInsights/contentPackages', variables('_solutionId'))]"
)
WORKSPACE_RESOURCE_ID = "[resourceId('microsoft.OperationalInsights/Workspaces', parameters('workspace'))]"


def base_parameters() -> dict:
    return {
        "location": {
            "type": "string",
            "minLength": 1,
            "defaultValue": "[resourceGroup().location]",
            "metadata": {
                "description": "Not used, but needed to pass arm-ttk test `Location-Should-Not-Be-Hardcoded`.  "
                "We instead use the `workspace-location` which is derived from the LA workspace"
            },
        },
        "workspace-location": {
            "type": "string",
            "defaultValue": "",
            "metadata": {
                "description": "[concat('Region to deploy solution resources -- separate from location selection',parameters('location'))]"
            },
        },
        "workspace": {
            "defaultValue": "",
            "type": "string",
            "metadata": {"description": "Workspace name for Log Analytics where Microsoft Sentinel is setup"},
        },
    }


def author_text(solution: Solution) -> str:
    """The data file's `Author` string: `<name> - <email>`, or the name alone."""
    author = solution.author
    return f"{author.name} - {author.email}" if author.email is not None else author.name


def support_json(solution: Solution) -> dict:
    support = solution.support
    values = (("name", support.name), ("email", support.email), ("tier", support.tier), ("link", support.link))
    return {key: value for key, value in values if value}


def product_id(kind_code: str, kind: str, content_id_expr: str, version_expr: str) -> str:
    """A contentProductId expression; both arguments are ARM expression fragments."""
    return (
        f"[concat(take(variables('_solutionId'),50),'-','{kind_code}','-', uniqueString(concat("
        f"variables('_solutionId'),'-','{kind}','-',{content_id_expr},'-', {version_expr})))]"
    )


def quoted(text: str) -> str:
    """An ARM string literal inside an expression."""
    return "'" + text.replace("'", "''") + "'"


def template_spec_name(code: str, content_id_fragment: str) -> str:
    return (
        "[concat(parameters('workspace'),'/Microsoft.SecurityInsights/',concat(parameters('workspace'),"
        f"'-{code}-',uniquestring({content_id_fragment})))]"
    )


class TemplateBuilder:
    """Accumulates the mainTemplate; counters number the items of each kind from 1."""

    def __init__(self, solution: Solution, version: str):
        self.solution = solution
        self.version = version
        self.parameters: dict[str, Any] = base_parameters()
        self.variables: dict[str, Any] = {}
        self.resources: list[dict] = []
        self.criteria: list[dict] = []
        self._counters: Counter[str] = Counter()
        if solution.author.email is not None:
            self.variables["email"] = solution.author.email
            self.variables["_email"] = "[variables('email')]"
        self.variables["_solutionName"] = solution.name
        self.variables["_solutionVersion"] = version
        self.variables["solutionId"] = solution.content_id
        self.variables["_solutionId"] = "[variables('solutionId')]"

    def next_number(self, kind: str) -> int:
        self._counters[kind] += 1
        return self._counters[kind]

    def count(self, kind: str) -> int:
        return self._counters[kind]

    def need_variable(self, name: str, value: Any) -> str:
        """Define a shared helper variable once (TemplateEmptyArray, workspaceResourceId)."""
        self.variables.setdefault(name, value)
        return f"[variables('{name}')]"

    # --- shared shapes --------------------------------------------------------------------

    def author(self) -> dict:
        out = {"name": self.solution.author.name}
        if self.solution.author.email is not None:
            out["email"] = "[variables('_email')]"
        return out

    def source(self, order: str = "kind,name,sourceId") -> dict:
        values = {"kind": "Solution", "name": self.solution.name, "sourceId": "[variables('_solutionId')]"}
        return {key: values[key] for key in order.split(",")}

    def metadata_properties(self, parent_id: str, content_id: str, kind: str, version: str, **extra: Any) -> dict:
        """Item metadata: [description], parentId, contentId, kind, version, source, author, support."""
        props: dict[str, Any] = {}
        if "description" in extra:
            props["description"] = extra.pop("description")
        props.update(parentId=parent_id, contentId=content_id, kind=kind, version=version)
        props["source"] = self.source(extra.pop("source_order", "kind,name,sourceId"))
        props["author"] = self.author()
        props["support"] = support_json(self.solution)
        props.update(extra)
        return props

    def content_template(self, *, name: str, description: str, version: str, resources: list[dict],
                         content_id: str, kind: str, display_name: str, product: str,
                         template_version: str | None = None) -> dict:
        """The contentTemplates resource wrapping an item (solution-format.md 4.3)."""
        return {
            "type": CONTENT_TEMPLATES_TYPE,
            "apiVersion": CONTENT_API,
            "name": name,
            "location": WORKSPACE_LOCATION,
            "dependsOn": [PACKAGE_DEPENDENCY],
            "properties": {
                "description": f"{description} with template version {self.version}",
                "mainTemplate": {
                    "$schema": DEPLOYMENT_SCHEMA,
                    "contentVersion": version,
                    "parameters": {},
                    "variables": {},
                    "resources": resources,
                },
                "packageKind": "Solution",
                "packageVersion": "[variables('_solutionVersion')]",
                "packageName": "[variables('_solutionName')]",
                "packageId": "[variables('_solutionId')]",
                "contentSchemaVersion": "3.0.0",
                "contentId": content_id,
                "contentKind": kind,
                "displayName": display_name,
                "contentProductId": product,
                "id": product,
                "version": template_version or version,
            },
        }

    def add_criterion(self, kind: str, content_id: str, version: str | None = None) -> None:
        criterion = {"kind": kind, "contentId": content_id}
        if version is not None:
            criterion["version"] = version
        self.criteria.append(criterion)
