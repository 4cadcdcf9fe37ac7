"""The operations behind each route: GET one, list (paged or not), PUT, DELETE, and read-only views."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from packer import resource_ids
from packer.emulator import armerrors, content, odata, operations, querycheck, rbac, resources, tables, views, watchlists
from packer.emulator.armerrors import ArmError
from packer.emulator.config import EmulatorConfig
from packer.emulator.facts import WorkspaceFacts
from packer.emulator.members import Members, members_for
from packer.emulator.messages import Call, Response
from packer.emulator.stamping import utc_now
from packer.emulator.store import ResourceStore

if TYPE_CHECKING:
    from packer.emulator.validation import Validator

# PATCH where the spec has it: Metadata_Update (Metadata.json), Workbooks_Update (workbooks_API.json).
_PATCHABLE = {"metadata", "workbooks"}
# PUT answers 201 on create for these; Log Analytics savedSearches answer 200 either way
# (savedSearches_CreateOrUpdate lists only 200 in the OperationalInsights spec).
_CREATED_201 = {"alertrules", "metadata", "contentpackages", "contenttemplates", "workbooks", "onboardingstates",
                "automationrules", "watchlists", "watchlistitems"}  # 200 and 201 in their specs' PUT responses


class Handlers:
    """The operations, given what they read and write: the config, the resources, the onboarding
    state per workspace (lower-cased id -> onboarded), the body validator, the query compiler and
    the spec's members per api-version (what a body keeps)."""

    def __init__(self, config: EmulatorConfig, store: ResourceStore, onboarded: dict[str, bool],
                 validator: "Validator | None" = None, compiler: querycheck.QueryCompiler | None = None,
                 members: Members | None = None):
        self.config = config
        self.store = store
        self.onboarded = onboarded
        self.validator = validator
        self.compiler = compiler or querycheck.shared_compiler()
        self.members = members or members_for()
        self.operations = operations.Operations(store.lock)

    def dispatch(self, call: Call) -> Response:
        route, method = call.route, call.request.method
        self.operations.settle()  # what completed meanwhile shows in this answer
        if route.kind is None:
            if method != "GET":
                raise armerrors.method_not_allowed(method, call.request.target)
            return Response(200, views.subscription_or_group(self.config, route))
        kind = route.kind
        if kind.name == "permissions":
            return self._permissions(call)
        self._check_parent(call)
        if kind.name == "workspaces":
            return self._read_only(call, views.workspace, views.workspaces)
        if kind.name == "tables":
            return self._tables(call)
        if kind.name in ("operationStatuses", "watchlistStatuses"):
            if method != "GET":
                raise armerrors.method_not_allowed(method, call.request.target)
            return Response(200, self.operations.status(route.name, call.request.target.partition("?")[0]),
                            {"Retry-After": "0"})
        if kind.name == "onboardingStates":
            return self._onboarding(call)
        if kind.name in content.PRODUCT_KINDS:
            return self._catalogue(call)
        if method == "GET":
            return self._get(call) if route.name else self._list(call)
        if route.name and method == "PUT":
            return self._put(call)
        if route.name and method == "DELETE":
            return self._delete(call)
        if route.name and method == "PATCH" and kind.name.lower() in _PATCHABLE:
            return self._patch(call)
        raise armerrors.method_not_allowed(method, call.request.target)

    # --- checks on the parent resource -------------------------------------------------------
    def _check_parent(self, call: Call) -> None:
        route, config = call.route, self.config
        if route.resource_group is None:
            return
        if not config.resource_group_exists(route.subscription, route.resource_group):
            raise armerrors.resource_group_not_found(route.resource_group)
        if route.workspace is None:
            return
        if config.workspace(route.subscription, route.resource_group, route.workspace) is None:
            raise armerrors.resource_not_found("Microsoft.OperationalInsights/workspaces", route.workspace,
                                               route.resource_group)
        if route.kind.scope in ("sentinel", "watchlist") and not self.onboarded.get(route.workspace_id.lower()):
            raise armerrors.not_onboarded(route.workspace)
        # A delete's status is polled after its watchlist is gone (pulumi/pulumi-azure-native#4816).
        if (route.kind.scope == "watchlist" and route.kind.name != "watchlistStatuses"
                and self.store.read(_watchlist_id(route)) is None):
            raise ArmError(404, "NotFound", f"Watchlist '{route.parent}' was not found.")

    # --- generic resources -------------------------------------------------------------------
    def _get(self, call: Call) -> Response:
        body = self.store.read(call.route.resource_id)
        if body is None:
            raise resources.not_found(call.route)
        return Response(200, self._shown(call.route.kind, body, call))

    def _list(self, call: Call) -> Response:
        kind = call.route.kind
        if kind.name == "workbooks" and call.route.resource_group is None:  # Workbooks_ListBySubscription
            items = [b for b in self.store.iter_under(f"/subscriptions/{call.route.subscription}", children_only=False)
                     if str(b.get("type", "")).lower() == "microsoft.insights/workbooks"]
        else:
            items = list(self.store.iter_under(call.route.collection_id))
        items = resources.filter_list(kind, items, call.query, call.api_version)
        if kind.name == "metadata":
            items = odata.apply(items, call.query)
        page = self._page(call, items) if kind.paged else {"value": items}
        page["value"] = [self._shown(kind, b, call, listing=True)
                         for b in page["value"]]
        return Response(200, page)

    def _page(self, call: Call, items: list[dict]) -> dict:
        size = self.config.page_size
        try:
            start = max(0, int(call.query.get("$skipToken", "0") or 0))
        except ValueError:
            raise armerrors.bad_request("The $skipToken is invalid.", code="InvalidSkipToken") from None
        page: dict = {"value": items[start:start + size]}
        if start + size < len(items):
            path = call.request.target.partition("?")[0]
            extra = "".join(f"&{k}={v}" for k, v in sorted(call.query.items())
                            if k not in ("api-version", "$skipToken"))
            page["nextLink"] = (f"{call.request.base_url}{path}?api-version={call.api_version}{extra}"
                                f"&$skipToken={start + size}")
        return page

    def _put(self, call: Call) -> Response:
        content_type = call.request.headers.get("content-type", "application/json")
        if "json" not in content_type.lower():
            raise ArmError(415, "UnsupportedMediaType", f"The content media type '{content_type}' is not supported. "
                                                        "Only 'application/json' is supported.")
        body = parse_body(call.request.body)
        kind, resource_id = call.route.kind, call.route.resource_id
        body = self.members.prune(kind, call.api_version, resources.check_shape(kind, body, call, self.validator))
        facts = WorkspaceFacts.of(self.config, self.store, call.route)
        querycheck.check_body(kind.name, call.route.workspace or "", body, facts, self.compiler)
        items = watchlists.bulk_items(call.route, body.get("properties") or {}) if kind.name == "watchlists" else []
        headers: dict[str, str] = {}
        with self.store.lock:
            existing = self.store.read(resource_id)
            if kind.name == "watchlists" and existing is not None:
                running = self.operations.running_on(resource_id)
                if running is not None and running.kind == "delete":
                    raise watchlists.being_deleted(call.route.name)
            resources.check_preconditions(call, body, existing)
            resources.check_conflicts(kind, call.route, body, self.store, call.query)
            stored = resources.build(kind, call.route, body, existing, call.caller.object_id, facts, call.query)
            if items:
                stored = watchlists.uploading(stored)
            self.store.write(resource_id, stored)
            if items:
                headers = self._upload(call, items)
                stored = self.store.read(resource_id)
        status = 201 if existing is None and kind.name.lower() in _CREATED_201 else 200
        return Response(status, self._shown(kind, stored, call), headers)

    def _upload(self, call: Call, items: list) -> dict[str, str]:
        """Start a watchlist's upload: its items are written when the operation completes (watchlists.py)."""
        resource_id, principal, config = call.route.resource_id, call.caller.object_id, self.config

        def complete() -> None:
            with self.store.lock:
                current = self.store.read(resource_id)
                if current is None:
                    return
                for item_route, item in items:
                    self.store.write(item_route.resource_id, resources.build(
                        item_route.kind, item_route, item, None, principal, None))
                self.store.write(resource_id, watchlists.uploaded(current))

        operation = self.operations.start(watchlists.status_collection(resource_id), resource_id, complete,
                                          config.watchlist_upload_polls, config.watchlist_upload_seconds,
                                          kind="upload")
        # The 201 documents Azure-AsyncOperation alone (Watchlists.json): no Location.
        return operations.accepted_headers(call.request.base_url, operation.status_id, call.api_version,
                                           location=False)

    @staticmethod
    def _shown(kind, body: dict, call: Call, listing: bool = False) -> dict:
        """A stored body as answered. Not pruned again: what was stored was pruned by its PUT's
        api-version, and server-filled members the examples show (installedVersion) are kept."""
        return resources.present(kind, body, call.api_version, listing=listing, query=call.query)

    def _patch(self, call: Call) -> Response:
        """A partial update: members sent replace the stored ones (`properties` member by member)."""
        patch = parse_body(call.request.body)
        kind, resource_id = call.route.kind, call.route.resource_id
        with self.store.lock:
            existing = self.store.read(resource_id)
            if existing is None:
                raise resources.not_found(call.route)
            resources.check_preconditions(call, patch, existing)
            merged = {k: v for k, v in existing.items() if k not in ("id", "name", "type", "etag", "systemData")}
            merged.update({k: v for k, v in patch.items() if k != "properties"})
            if isinstance(patch.get("properties"), dict):
                merged["properties"] = {**(existing.get("properties") or {}), **patch["properties"]}
            merged = self.members.prune(kind, call.api_version, resources.check_shape(kind, merged, call, self.validator))
            stored = resources.build(kind, call.route, merged, existing, call.caller.object_id, None, call.query)
            self.store.write(resource_id, stored)
        return Response(200, self._shown(kind, stored, call))

    def _delete(self, call: Call) -> Response:
        is_watchlist = call.route.kind.name == "watchlists"
        with self.store.lock:
            existing = self.store.read(call.route.resource_id)
            if existing is not None:
                resources.check_preconditions(call, None, existing)
                if is_watchlist:
                    running = self.operations.running_on(call.route.resource_id)
                    if running is not None and running.kind == "delete":  # DELETE is idempotent
                        return self._accepted(call, running)
                    if running is not None:
                        raise watchlists.delete_refused(call.route.name)
                    if watchlists.deletes_asynchronously(call.api_version):
                        return self._delete_watchlist_later(call)
                    self._delete_watchlist(call.route.resource_id)
                else:
                    self.store.delete(call.route.resource_id)
        if existing is None and call.route.kind.name == "savedSearches":
            return Response(200)  # SavedSearches_Delete lists only 200 (SavedSearches.json 2025-07-01)
        return Response(200 if existing is not None else 204)

    def _delete_watchlist(self, resource_id: str) -> None:
        """The watchlist and its items (they live under it)."""
        with self.store.lock:
            self.store.delete(resource_id)
            for item in self.store.iter_under(resource_ids.watchlist_items_collection(resource_id)):
                self.store.delete(item["id"])

    def _delete_watchlist_later(self, call: Call) -> Response:
        """202 + Azure-AsyncOperation and Location (Watchlists_Delete); the watchlist and its items
        go when the operation completes, as an upload's items come (watchlists.py)."""
        resource_id, config = call.route.resource_id, self.config
        operation = self.operations.start(watchlists.status_collection(resource_id), resource_id,
                                          lambda: self._delete_watchlist(resource_id),
                                          config.watchlist_upload_polls, config.watchlist_upload_seconds,
                                          kind="delete")
        return self._accepted(call, operation)

    @staticmethod
    def _accepted(call: Call, operation: operations.Operation) -> Response:
        return Response(202, None, operations.accepted_headers(call.request.base_url, operation.status_id,
                                                               call.api_version))

    # --- read-only and special resources ------------------------------------------------------
    def _read_only(self, call: Call, one, many) -> Response:
        if call.request.method != "GET":
            raise armerrors.method_not_allowed(call.request.method, call.request.target)
        config = self.config
        if call.route.name:
            return Response(200, one(config, call.route))
        return Response(200, {"value": many(config, call.route)})

    def _tables(self, call: Call) -> Response:
        """Tables from the config plus custom tables created through the API (tables.py)."""
        route, method = call.route, call.request.method
        ws = self.config.workspace(route.subscription, route.resource_group, route.workspace)
        resource_id = f"{ws.resource_id}/tables/{route.name}" if route.name else ""
        if method == "GET" and route.name:
            created = self.store.read(resource_id)
            return Response(200, created) if created is not None else self._read_only(call, views.table, views.tables)
        if method == "GET":
            return Response(200, {"value": views.tables(self.config, route) + list(self.store.iter_under(
                f"{ws.resource_id}/tables"))})
        if method not in ("PUT", "DELETE") or not route.name:
            raise armerrors.method_not_allowed(method, call.request.target)
        if method == "PUT":
            body = tables.checked_body(route.name, parse_body(call.request.body))
            self.store.write(resource_id, tables.stored_body(ws, route.name, body))
        elif self.store.read(resource_id) is None:
            raise tables.not_found(route.name, ws.name)
        else:
            self.store.delete(resource_id)
        operation = self.operations.start(tables.status_collection(route.subscription, ws.location), resource_id)
        return Response(202, None, operations.accepted_headers(call.request.base_url, operation.status_id,
                                                               call.api_version))

    def _catalogue(self, call: Call) -> Response:
        if call.request.method != "GET":
            raise armerrors.method_not_allowed(call.request.method, call.request.target)
        if call.route.name:
            return Response(200, content.catalogue_item(self.config, self.store, call.route, call.query))
        items = content.filter_items(content.catalogue(self.config, self.store, call.route, call.query), call.query)
        return Response(200, self._page(call, items))

    def _permissions(self, call: Call) -> Response:
        subscription = self.config.subscription(call.route.subscription)
        if not rbac.enforced(self.config, subscription):
            raise ArmError(404, "NotFound", "Role-based access control is off in this emulator (config: rbac).")
        if call.request.method != "GET":
            raise armerrors.method_not_allowed(call.request.method, call.request.target)
        return Response(200, {"value": rbac.permissions(subscription, call.caller.tenant)})

    def _onboarding(self, call: Call) -> Response:
        route, method = call.route, call.request.method
        key = route.workspace_id.lower()
        onboarded = self.onboarded.get(key, False)
        if route.name and route.name != "default":
            raise ArmError(404, "NotFound", f"Onboarding state '{route.name}' was not found.")
        if method == "GET":
            state = views.onboarding_state(route)
            if route.name is None:
                return Response(200, {"value": [state] if onboarded else []})
            if not onboarded:
                raise ArmError(404, "NotFound", "Sentinel onboarding state 'default' was not found.")
            return Response(200, state)
        if method == "PUT" and route.name:
            self.onboarded[key] = True
            ws = self.config.workspace(route.subscription, route.resource_group, route.workspace)
            if not onboarded and ws.builtin_fusion_rule:
                fusion = views.builtin_fusion_rule(ws, utc_now())
                self.store.write(fusion["id"], fusion)
            return Response(200 if onboarded else 201, views.onboarding_state(route))
        if method == "DELETE" and route.name:
            self.onboarded[key] = False
            return Response(200 if onboarded else 204)
        raise armerrors.method_not_allowed(method, call.request.target)


def _watchlist_id(route) -> str:
    return f"{route.workspace_id}/providers/Microsoft.SecurityInsights/watchlists/{route.parent}"


def parse_body(raw: bytes) -> dict:
    try:
        body = json.loads(raw.decode("utf-8-sig") or "null")
    except (UnicodeDecodeError, ValueError) as exc:
        raise ArmError(400, "InvalidRequestContent",
                       f"The request content was invalid and could not be deserialized: '{exc}'.") from None
    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestContent",
                       "The request content was invalid and could not be deserialized: a JSON object is required.")
    return body
