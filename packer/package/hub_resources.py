"""The Content Hub resources a built package installs into one workspace, as API bodies.

One source of truth: the bodies come from evaluating the package's own mainTemplate for the
workspace (packer.package.deploy), the same mainTemplate `build` writes, so what `apply` PUTs
and what a portal deployment of mainTemplate.json would create cannot differ. For a content
folder the mainTemplate is rendered in memory (packer.package.main_template.render_package);
`install PACKAGE.zip` passes the zip's mainTemplate to `package_bodies`.

Differences from the ARM deployment, both required by the REST API at the api-version we send
(ContentTemplates.json 2024-09-01 requires `source` on a template PUT; the packager's
2023-04-01-preview resources carry it only inside the inner metadata):
- every template gets `source` = the package's source {kind: Solution, name, sourceId};
- only `properties` are sent (type/apiVersion/name/location/dependsOn are the ARM envelope).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from packer.content.model import ContentSet
from packer.package.deploy import DeployScope, deployed_resources
from packer.targets.model import Target

PACKAGE_TYPE = "microsoft.operationalinsights/workspaces/providers/contentpackages"
TEMPLATE_TYPE = "microsoft.operationalinsights/workspaces/providers/contenttemplates"


@dataclass(frozen=True)
class HubResource:
    """A contentPackages or contentTemplates resource for one workspace."""

    resource_id: str
    content_id: str
    content_kind: str  # Solution | AnalyticsRule | HuntingQuery | Parser | Workbook | DataConnector ...
    version: str
    display_name: str
    body: Mapping[str, Any]  # {"properties": {...}}: the PUT body

    @property
    def properties(self) -> Mapping[str, Any]:
        return self.body.get("properties") or {}

    @property
    def key(self) -> str:
        if self.content_kind == "Solution":
            return f"Package/{self.content_id}"
        return f"Template/{self.content_kind}/{self.content_id}"

    def inner_resource(self) -> Mapping[str, Any] | None:
        """The real resource inside a template's mainTemplate (not its metadata)."""
        resources = ((self.properties.get("mainTemplate") or {}).get("resources")) or []
        return next((r for r in resources if isinstance(r, dict)
                     and not str(r.get("type", "")).lower().endswith("/metadata")), None)


@dataclass(frozen=True)
class PackageBodies:
    package: HubResource
    templates: tuple[HubResource, ...]

    def template_for(self, content_id: str) -> HubResource | None:
        return next((t for t in self.templates if t.content_id == content_id), None)


def package_bodies(main_template: Mapping[str, Any], scope: DeployScope) -> PackageBodies:
    """The package and its templates as `main_template` deploys them into `scope`'s workspace."""
    package: HubResource | None = None
    templates: list[HubResource] = []
    for resource in deployed_resources(dict(main_template), scope):
        kind = resource.type.lower()
        if kind == PACKAGE_TYPE:
            package = _hub_resource(resource.resource_id, {"properties": dict(resource.properties)})
        elif kind == TEMPLATE_TYPE:
            templates.append(_hub_resource(resource.resource_id, {"properties": dict(resource.properties)}))
    if package is None:
        raise ValueError("the template deploys no contentPackages resource: not a Content Hub solution package")
    source = package.properties.get("source") or {"kind": "Solution", "name": package.display_name,
                                                   "sourceId": package.content_id}
    templates = [_with_source(t, source) for t in templates]
    return PackageBodies(package, tuple(templates))


def content_package_bodies(content: ContentSet, target: Target) -> PackageBodies | None:
    """What the content's package installs into `target` (None: the content has no solution.yaml)."""
    if content.solution is None:
        return None
    from packer.package.inputs import from_content_set
    from packer.package.main_template import render_package

    main, _ = render_package(from_content_set(content))
    return package_bodies(main, DeployScope.of(target))


def _hub_resource(resource_id: str, body: dict) -> HubResource:
    props = body["properties"]
    return HubResource(resource_id, str(props.get("contentId", "")), str(props.get("contentKind", "")),
                       str(props.get("version", "")), str(props.get("displayName", "")), body)


def _with_source(template: HubResource, source: Mapping[str, Any]) -> HubResource:
    if template.properties.get("source"):
        return template
    return HubResource(template.resource_id, template.content_id, template.content_kind, template.version,
                       template.display_name, {"properties": {**template.properties, "source": dict(source)}})
