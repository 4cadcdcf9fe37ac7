"""The request pipeline, independent of the HTTP transport: auth, throttling, faults, routing, handlers.

`Service.handle(request)` returns a Response; the HTTP server only moves bytes. Order follows ARM:
faults (anywhere in the path) -> authentication -> subscription and tenant -> throttling ->
api-version -> resource provider checks (workspace, onboarding) -> the operation.
"""
from __future__ import annotations

import time
from urllib.parse import parse_qs

from packer.emulator import apiversions, armerrors, rbac
from packer.emulator.armerrors import ArmError
from packer.emulator.config import EmulatorConfig, SubscriptionConfig
from packer.emulator.credential import ARM_AUDIENCES, InvalidToken, read_claims
from packer.emulator.faults import Faults
from packer.emulator.handlers import Handlers
from packer.emulator.members import members_for
from packer.emulator.messages import Call, Caller, Request, Response
from packer.emulator.observe import Counters, RequestLog, RequestRecord
from packer.emulator.routes import Route, UnknownRoute, resolve
from packer.emulator.store import ResourceStore
from packer.emulator.throttle import Throttler, operation_of


class Service:
    def __init__(self, config: EmulatorConfig, store: ResourceStore, counters: Counters, log: RequestLog,
                 faults: Faults, throttler: Throttler, validator=None):
        self.config = config
        self.store = store
        self.counters = counters
        self.log = log
        self.faults = faults
        self.throttler = throttler
        self.onboarded: dict[str, bool] = {w.resource_id.lower(): w.sentinel_onboarded for w in config.workspaces}
        self.handlers = Handlers(config, store, self.onboarded, validator,
                                 members=members_for(getattr(validator, "specs_dir", None)))

    def handle(self, request: Request) -> Response:
        path, _, raw_query = request.target.partition("?")
        query = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        api_version = query.get("api-version")
        scopes: tuple[str, ...] = ()
        tenant = None
        try:
            route = self._route(path)
            scopes = self._scopes(route)
            fault = self.faults.decide(request.method, path)
            if fault.drop and not fault.after:
                response = Response(0, drop=True, delay_s=fault.latency_s)
            elif fault.status:
                response = self._error(armerrors.injected(fault.status, fault.retry_after))
                response.delay_s = fault.latency_s
            else:
                caller = self._authenticate(request)
                tenant = caller.tenant
                response = self._authorised(request, route, caller, api_version, query)
                response.delay_s = fault.latency_s
                response.drop = fault.after  # carried out, then the connection drops unanswered
        except ArmError as error:
            response = self._error(error)
        except Exception as exc:  # an emulator bug: answer like a failing service, and say so
            response = self._error(ArmError(500, "InternalServerError",
                                            f"The emulator failed on this request: {type(exc).__name__}: {exc}"))
        self._observe(request.method, path, response, api_version, tenant, scopes)
        return response

    def _authorised(self, request: Request, route: Route, caller: Caller, api_version: str | None,
                    query: dict[str, str]) -> Response:
        subscription = self._check_tenant(route, caller)
        rbac.check(self.config, subscription, route, request.method, caller.tenant, caller.object_id,
                   request.target.partition("?")[0])
        operation = operation_of(request.method)
        verdict = self.throttler.take(route.subscription, caller.object_id, operation)
        header = f"x-ms-ratelimit-remaining-subscription-{operation}"
        if not verdict.allowed:
            response = self._error(armerrors.throttled(operation.rstrip("s"), verdict.scope, verdict.retry_after))
            response.headers[header] = "0"
            return response
        if route.kind is not None and route.kind.name == "automationRules" and request.method in ("PUT", "DELETE"):
            automation = self.throttler.take_automation_rule_write(route.subscription)
            if not automation.allowed:
                return self._error(armerrors.automation_rules_throttled(automation.scope, automation.retry_after))
        try:
            version = self._check_api_version(route, api_version)
            response = self.handlers.dispatch(Call(request, route, caller, version, query))
        except ArmError as error:
            response = self._error(error)
        response.headers[header] = str(verdict.remaining)
        return response

    @staticmethod
    def _route(path: str) -> Route:
        try:
            return resolve(path)
        except UnknownRoute as unknown:
            if unknown.namespace:
                raise armerrors.invalid_resource_type(unknown.namespace, unknown.resource_type, "") from None
            raise ArmError(404, "NotFound", f"The requested path '{path}' is not served by this emulator.") from None

    @staticmethod
    def _scopes(route: Route) -> tuple[str, ...]:
        sub = f"/subscriptions/{route.subscription}".lower()
        if route.workspace:
            return sub, route.workspace_id.lower()
        return (sub,)

    def _authenticate(self, request: Request) -> Caller:
        header = request.headers.get("authorization", "")
        if not header:
            raise armerrors.authentication_missing()
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise armerrors.authentication_invalid()
        try:
            claims = read_claims(token.strip())
        except InvalidToken:
            raise armerrors.authentication_invalid() from None
        if float(claims.get("exp", 0)) < time.time():
            raise armerrors.token_expired()
        audience = str(claims.get("aud", ""))
        if audience not in ARM_AUDIENCES:
            raise armerrors.wrong_audience(audience, ARM_AUDIENCES)
        return Caller(str(claims["tid"]).lower(), str(claims.get("oid", "")))

    def _check_tenant(self, route: Route, caller: Caller) -> SubscriptionConfig:
        subscription = self.config.subscription(route.subscription)
        if subscription is None:
            raise armerrors.subscription_not_found(route.subscription)
        allowed = {subscription.tenant.lower(), *(t.lower() for t in subscription.delegated_to)}
        if caller.tenant not in allowed:
            raise armerrors.wrong_tenant(caller.tenant, subscription.tenant)
        return subscription

    def _check_api_version(self, route: Route, api_version: str | None) -> str:
        if not api_version:
            raise armerrors.missing_api_version()
        if route.kind is None:  # ARM's own resources answer for themselves (Microsoft.Resources)
            served = apiversions.served("subscriptions" if route.target == "subscription" else "resourceGroups")
            if api_version not in served:
                raise armerrors.invalid_api_version(api_version, served)
            return api_version
        if api_version in route.kind.api_versions:
            return api_version
        location = "westeurope"
        if route.workspace:
            ws = self.config.workspace(route.subscription, route.resource_group, route.workspace)
            location = ws.location if ws else location
        raise armerrors.unsupported_api_version(api_version, route.kind.type_name, location, route.kind.api_versions)

    def _observe(self, method: str, path: str, response: Response, api_version: str | None, tenant: str | None,
                 scopes: tuple[str, ...]) -> None:
        self.log.record(RequestRecord(method, path, response.status, api_version, tenant))
        if not scopes:
            return
        if response.status == 429:
            self.counters.add(scopes, "throttled")
            return
        self.counters.add(scopes, operation_of(method))
        if response.status >= 400 or response.drop:
            self.counters.add(scopes, "errors")

    @staticmethod
    def _error(error: ArmError) -> Response:
        return Response(error.status, error.body(), dict(error.headers))
