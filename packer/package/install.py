"""Read a Content Hub package zip and work out what installing it writes to one workspace.

A package zip (ours from `build`, or Microsoft's Solutions/<X>/Package/<version>.zip) holds
mainTemplate.json and createUiDefinition.json at its root. Installing it is what the portal does:
deploy mainTemplate to the workspace's resource group with the parameters createUiDefinition
collects (the workspace, its location). `package_install` evaluates the template that way
(packer.package.arm_expr, exactly as ARM would) and returns the resources it would deploy:
the contentPackages resource, one contentTemplates resource per item, and anything else the
template deploys directly (metadata, savedSearches, data connectors). Nothing here talks to Azure.
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packer.errors import PackerError
from packer.package.arm_expr import DeployedResource, ExpressionError, Scope, deployed_resources

MAIN_TEMPLATE = "mainTemplate.json"
CREATE_UI = "createUiDefinition.json"
CONTENT_PACKAGES = "contentPackages"
CONTENT_TEMPLATES = "contentTemplates"
_MAX_MEMBER_BYTES = 64 * 1024 * 1024  # a package member larger than this is not a Content Hub package


class PackageError(PackerError):
    """A package zip cannot be installed; names the file and what is wrong."""


@dataclass(frozen=True)
class PackageFile:
    path: Path
    main_template: dict
    create_ui: dict | None


@dataclass(frozen=True)
class PackageInstall:
    """What deploying a package to one workspace writes, evaluated for that workspace."""

    source: Path
    package: DeployedResource            # the contentPackages resource
    templates: tuple[DeployedResource, ...]  # contentTemplates, in template order
    others: tuple[DeployedResource, ...]     # everything else the template deploys directly

    @property
    def content_id(self) -> str:
        return str(self.package.body.get("properties", {}).get("contentId", ""))

    @property
    def version(self) -> str:
        return str(self.package.body.get("properties", {}).get("version", ""))


def _member(archive: zipfile.ZipFile, path: Path, name: str, required: bool) -> dict | None:
    matches = [i for i in archive.infolist() if i.filename.rsplit("/", 1)[-1].lower() == name.lower()
               and "/" not in i.filename.strip("/")]
    if not matches:
        if required:
            listed = ", ".join(sorted(i.filename for i in archive.infolist())[:10]) or "nothing"
            raise PackageError(f"{path}: no {name} at the zip root (it holds: {listed})")
        return None
    info = matches[0]
    if info.file_size > _MAX_MEMBER_BYTES:
        raise PackageError(f"{path}: {info.filename} is {info.file_size} bytes; a package file is far smaller")
    try:
        value = json.loads(archive.read(info).decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PackageError(f"{path}: {info.filename} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise PackageError(f"{path}: {info.filename} is not a JSON object")
    return value


def read_package(path: Path | str) -> PackageFile:
    """The zip's mainTemplate.json (required) and createUiDefinition.json (optional)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PackageError(f"{path}: cannot read the package: {exc.strerror or exc}") from None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            main = _member(archive, path, MAIN_TEMPLATE, required=True)
            ui = _member(archive, path, CREATE_UI, required=False)
    except zipfile.BadZipFile:
        raise PackageError(f"{path}: not a zip file (a Content Hub package is a zip with {MAIN_TEMPLATE})") from None
    return PackageFile(path, main, ui)


def deployment_parameters(package: PackageFile, workspace: str, location: str,
                          given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The parameter values the portal passes: the workspace and its location (createUiDefinition's
    `workspace`, `workspace-location`, `location` outputs), then what the user gave."""
    declared = package.main_template.get("parameters") or {}
    values: dict[str, Any] = {}
    for name, value in (("workspace", workspace), ("workspace-location", location), ("location", location)):
        if name in declared:
            values[name] = value
    unknown = sorted(set(given or {}) - set(declared))
    if unknown:
        raise PackageError(f"{package.path}: mainTemplate has no parameter(s) {', '.join(unknown)} "
                           f"(it declares: {', '.join(declared) or 'none'})")
    values.update(given or {})
    missing = [n for n, d in declared.items() if n not in values and "defaultValue" not in (d or {})]
    if missing:
        raise PackageError(f"{package.path}: parameter(s) {', '.join(missing)} have no default; "
                           "give them with --parameter NAME=VALUE")
    return values


def _resource_kind(resource: DeployedResource) -> str:
    return resource.type.rsplit("/", 1)[-1]


def package_install(package: PackageFile, scope: Scope, workspace: str,
                    parameters: dict[str, Any] | None = None) -> PackageInstall:
    """Evaluate the package's mainTemplate for `workspace` at `scope` (PackageError if it cannot be)."""
    values = deployment_parameters(package, workspace, scope.location, parameters)
    try:
        resources = deployed_resources(package.main_template, scope, values)
    except ExpressionError as exc:
        raise PackageError(f"{package.path}: {MAIN_TEMPLATE}: {exc}") from None
    workspace_prefix = (f"{scope.resource_group_id}/providers/Microsoft.OperationalInsights/workspaces/"
                        f"{workspace}/").lower()
    for resource in resources:
        if not resource.resource_id.lower().startswith(workspace_prefix):
            raise PackageError(f"{package.path}: {resource.path} ({resource.type}) deploys outside the workspace "
                               f"({resource.resource_id}); install writes only to the workspace")
    packages = [r for r in resources if _resource_kind(r) == CONTENT_PACKAGES]
    if len(packages) != 1:
        raise PackageError(f"{package.path}: {MAIN_TEMPLATE} deploys {len(packages)} contentPackages resources; "
                           "a Content Hub package deploys exactly one")
    templates = tuple(r for r in resources if _resource_kind(r) == CONTENT_TEMPLATES)
    others = tuple(r for r in resources if _resource_kind(r) not in (CONTENT_PACKAGES, CONTENT_TEMPLATES))
    return PackageInstall(package.path, packages[0], templates, others)
