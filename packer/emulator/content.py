"""Content Hub routes: contentPackages, contentTemplates and the workspace's catalogue
(contentProductPackages, contentProductTemplates), per the 2024-09-01 specs in ../shared/specs
(ContentPackages.json, ContentTemplates.json, ContentProductPackages.json,
ContentProductTemplates.json and their examples).

- A contentPackages PUT reads back with `installedVersion` (= the installed `version`), as
  examples/contentPackages/InstallPackage.json shows; `type` is spelled as the examples spell it.
- Lists take OData `$filter` (`eq`/`ne` on property paths such as `properties/contentKind`, joined
  by `and`/`or`), `$orderby` (one property path, asc|desc), `$skip`, `$top`, and `$skipToken` pages. contentTemplates lists leave `mainTemplate` out
  unless `$expand=properties/mainTemplate` (ContentTemplates_List: "Expandable properties:
  properties/mainTemplate"; GetTemplates.json lists without it); a GET by id includes it
  (GetTemplateById.json).
- The catalogue is what the workspace could install: the config's `content_catalogue` package
  zips, evaluated for the workspace. A product package is named by its contentProductId, carries
  `installedVersion` when that package is installed, and its `packagedContent` (the mainTemplate)
  only with `$expand=properties/packagedContent`; a product template carries its item's
  mainTemplate as `packagedContent` when read by id; lists omit it, as public tools report
  ("The list endpoint omits the deployable ARM template body": ../shared/docs/content-hub-install.md 1.3).
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any

from packer.emulator import armerrors
from packer.emulator.armerrors import ArmError
from packer.emulator.config import EmulatorConfig
from packer.emulator.routes import Route
from packer.emulator.store import ResourceStore

PRODUCT_KINDS = ("contentProductPackages", "contentProductTemplates")
MAIN_TEMPLATE_EXPAND = "properties/maintemplate"
PACKAGED_CONTENT_EXPAND = "properties/packagedcontent"

# --- server-filled fields ------------------------------------------------------------------------


def installed_package(body: dict) -> dict:
    """A contentPackages body as stored: installedVersion is the version just installed."""
    props = dict(body.get("properties") or {})
    if props.get("version") is not None:
        props["installedVersion"] = props["version"]
    return {**body, "properties": props}


def expands(query: dict[str, str]) -> set[str]:
    return {part.strip().lower() for part in query.get("$expand", "").split(",") if part.strip()}


def present_template(body: dict, listing: bool, query: dict[str, str]) -> dict:
    if not listing or MAIN_TEMPLATE_EXPAND in expands(query):
        return body
    return {**body, "properties": {k: v for k, v in (body.get("properties") or {}).items() if k != "mainTemplate"}}


# --- OData $filter / $top ------------------------------------------------------------------------

_TERM = re.compile(r"\s*(?P<path>[A-Za-z_][\w/]*)\s+(?P<op>eq|ne)\s+(?P<value>'(?:[^']|'')*'|true|false|null|-?\d+)\s*",
                   re.I)
_JOIN = re.compile(r"\s*\b(and|or)\b", re.I)


def _literal(text: str) -> Any:
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    lowered = text.lower()
    return {"true": True, "false": False, "null": None}.get(lowered, int(text) if lowered.lstrip("-").isdigit() else text)


def _lookup(body: dict, path: str) -> Any:
    value: Any = body
    for part in path.split("/"):
        if not isinstance(value, dict):
            return None
        value = next((v for k, v in value.items() if k.lower() == part.lower()), None)
    return value


def _matches(value: Any, wanted: Any) -> bool:
    if isinstance(value, str) and isinstance(wanted, str):
        return value.lower() == wanted.lower()
    return value == wanted


def _bad_filter(text: str, at: str) -> ArmError:
    return armerrors.bad_request(
        f"The $filter '{text}' is not supported at '{at}': the emulator evaluates "
        "<property/path> eq|ne <literal> joined by and/or.", code="BadRequest", target="$filter")


def parse_filter(text: str):
    """[[(path, op, value), ...], ...]: OR of ANDs (`and` binds tighter, as in OData)."""
    groups: list[list[tuple[str, str, Any]]] = [[]]
    pos = 0
    while True:
        term = _TERM.match(text, pos)
        if not term:
            raise _bad_filter(text, text[pos:pos + 30] or "(end)")
        groups[-1].append((term.group("path"), term.group("op").lower(), _literal(term.group("value"))))
        pos = term.end()
        if pos >= len(text.rstrip()):
            return groups
        join = _JOIN.match(text, pos)
        if not join:
            raise _bad_filter(text, text[pos:pos + 30])
        if join.group(1).lower() == "or":
            groups.append([])
        pos = join.end()


def filter_items(items: list[dict], query: dict[str, str]) -> list[dict]:
    text = query.get("$filter", "").strip()
    if text:
        groups = parse_filter(text)
        items = [b for b in items if any(all(_matches(_lookup(b, path), value) == (op == "eq")
                                             for path, op, value in group) for group in groups)]
    order = query.get("$orderby", "").strip()
    if order:
        items = _ordered(items, order)
    skip = _count(query, "$skip")
    if skip is not None:
        items = items[skip:]
    top = _count(query, "$top")
    if top is not None:
        items = items[:top]
    return items


def _count(query: dict[str, str], name: str) -> int | None:
    text = query.get(name)
    if text in (None, ""):
        return None
    try:
        count = int(text)
    except ValueError:
        raise armerrors.bad_request(f"The {name} '{text}' is not an integer.", target=name) from None
    if count < 0:
        raise armerrors.bad_request(f"{name} must not be negative.", target=name)
    return count


def _ordered(items: list[dict], order: str) -> list[dict]:
    """`$orderby=<property/path> [asc|desc]` (one key; texts compare ignoring case, absent last)."""
    match = re.fullmatch(r"\s*([A-Za-z_][\w/]*)(?:\s+(asc|desc))?\s*", order, re.I)
    if not match:
        raise armerrors.bad_request(f"The $orderby '{order}' is not supported: the emulator sorts by one "
                                    "<property/path> [asc|desc].", code="BadRequest", target="$orderby")
    path, descending = match.group(1), (match.group(2) or "").lower() == "desc"
    present = [(_sort_key(_lookup(b, path)), b) for b in items if _lookup(b, path) is not None]
    absent = [b for b in items if _lookup(b, path) is None]
    return [b for _, b in sorted(present, key=lambda pair: pair[0], reverse=descending)] + absent


def _sort_key(value: Any) -> tuple:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value).lower())


# --- the catalogue ---------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _catalogue_entry(path: str, subscription: str, resource_group: str, workspace: str, location: str):
    from packer.package.arm_expr import Scope
    from packer.package.install import package_install, read_package

    package = read_package(path)
    return package, package_install(package, Scope(subscription, resource_group, location), workspace)


def _product_body(collection_id: str, type_name: str, name: str, properties: dict) -> dict:
    return {"id": f"{collection_id}/{name}", "name": name, "type": type_name,
            "etag": '"' + hashlib.sha256(f"{collection_id}/{name}@{properties.get('version')}".encode()).hexdigest()[:32] + '"',
            "properties": properties}


def catalogue(config: EmulatorConfig, store: ResourceStore, route: Route, query: dict[str, str],
              listing: bool = True) -> list[dict]:
    """The product packages or templates the workspace at `route` could install. A template
    carries its packagedContent only when read one by one (`listing=False`)."""
    ws = config.workspace(route.subscription, route.resource_group, route.workspace)
    installed = {str((b.get("properties") or {}).get("contentId", "")).lower(): b for b in store.iter_under(
        f"{route.workspace_id}/providers/Microsoft.SecurityInsights/contentPackages")}
    collection = route.collection_id
    out = []
    for path in config.content_catalogue:
        package, install = _catalogue_entry(path, ws.subscription, ws.resource_group, ws.name, ws.location)
        if route.kind.name == "contentProductPackages":
            props = {k: v for k, v in install.package.body.get("properties", {}).items()}
            current = installed.get(str(props.get("contentId", "")).lower())
            if current is not None:
                props["installedVersion"] = (current.get("properties") or {}).get("version")
            if PACKAGED_CONTENT_EXPAND in expands(query):
                props["packagedContent"] = package.main_template
            out.append(_product_body(collection, "Microsoft.SecurityInsights/contentproductpackages",
                                     str(props.get("contentProductId") or props.get("contentId")), props))
        else:
            for template in install.templates:
                props = {k: v for k, v in template.body.get("properties", {}).items() if k != "mainTemplate"}
                if not listing:
                    props["packagedContent"] = template.body.get("properties", {}).get("mainTemplate")
                out.append(_product_body(collection, "Microsoft.SecurityInsights/contentproducttemplates",
                                         str(props.get("contentProductId") or props.get("contentId")), props))
    return out


def catalogue_item(config: EmulatorConfig, store: ResourceStore, route: Route, query: dict[str, str]) -> dict:
    for body in catalogue(config, store, route, query, listing=False):
        if body["name"].lower() == route.name.lower():
            return body
    label = "contentProductPackages" if route.kind.name == "contentProductPackages" else "contentProductTemplates"
    raise ArmError(404, "NotFound", f"Resource '{route.name}' of type '{label}' was not found.")
