"""WorkspaceClient: the one place that talks HTTP to a Sentinel workspace.

Requests go through a real SDK client's pipeline (authentication, ARM policies, retries,
logging) with exact JSON bodies at the api-versions in `api_versions` (an alert rule PUT at the
version for its body's kind: NRT rules exist only in the preview specs; see api_versions). The
pipeline is azure-mgmt-loganalytics' client, through its public `send_request` (14.0.0 and
later): azure-mgmt-securityinsight's only release (1.0.0) has no public way to send a raw
request, and its models lag the service anyway, so every provider's requests (SecurityInsights,
Insights workbooks, OperationalInsights) share that one ARM pipeline.

Retries, deliberately split:
- azure-core retries 408/429/5xx (honouring Retry-After) and connections that never reached
  the server, for every method, up to `retry_total` times. azure-core's RetryPolicy caps status
  retries separately (`retry_status`, 3 by default whatever `retry_total` says), so it is set to
  `retry_total` too. The default 10 (azure-core's own `retry_total` default) lets a request
  survive a storm where 30% of answers are 429/5xx: all 11 attempts fail with probability
  0.3^11, about 2e-6, so a few hundred requests almost surely all get through.
- A write whose connection dropped AFTER it was sent has an unknown outcome: azure-core would
  replay it blindly (and a replayed conditional PUT fails 412 if the first one landed), so
  writes are sent with azure-core's read retries off and surface as `ConnectionFailed`; the
  apply layer re-reads and decides (packer.apply.writes, with tenacity).
Long-running writes: a PUT answered with an Azure-AsyncOperation header (a watchlist with
rawContent) returns only once the operation has succeeded, polled through the same pipeline
(packer.remote.operations, bounded by `operation_timeout`), with the resource as read after it;
a DELETE answered so (a watchlist, 202) returns once its operation has completed.
Concurrency: at most `max_concurrency` requests in flight per client (one client = one
workspace). `rate_limiter` (see packer.remote.limits) is acquired before every attempt of the
`rate_limited_operations` (writes and deletes by default; add READ to pace reads too).
"""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError, ServiceResponseError
from azure.core.rest import HttpRequest, HttpResponse
from azure.mgmt.loganalytics import LogAnalyticsManagementClient

from packer import resource_ids
from packer.errors import ConfigError
from packer.remote.api_versions import ARM_ENDPOINT, api_version_for
from packer.remote.errors import AuthorizationFailed, ConnectionFailed, NotFound, OperationFailed, error_from_response
from packer.remote.limits import DELETE, WRITE, LimiterLike, RateLimitPolicy
from packer.remote.operations import describe, wait_for_operation
from packer.targets.model import Target

DEFAULT_CONCURRENCY = 4


class WorkspaceClient:
    """Reads and writes one workspace's Sentinel content. Thread-safe."""

    def __init__(
        self,
        target: Target,
        credential: Any,
        base_url: str = ARM_ENDPOINT,
        connection_verify: str | bool | None = None,
        *,
        max_concurrency: int = DEFAULT_CONCURRENCY,
        rate_limiter: LimiterLike | None = None,
        rate_limited_operations: frozenset[str] = frozenset({WRITE, DELETE}),
        retry_total: int = 10,
        retry_backoff_factor: float = 0.5,
        retry_backoff_max: int = 30,
        connection_timeout: int = 30,
        read_timeout: int = 120,
        operation_timeout: float = 600.0,
        operation_poll_interval: float = 5.0,
        **pipeline_kwargs: Any,
    ):
        self.target = target
        self.operation_timeout = operation_timeout
        self.operation_poll_interval = operation_poll_interval  # between polls when no Retry-After is given
        self.base_url = base_url.rstrip("/")
        self.max_concurrency = max(1, max_concurrency)
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        kwargs: dict[str, Any] = dict(
            retry_total=retry_total,
            retry_status=retry_total,
            retry_backoff_factor=retry_backoff_factor,
            retry_backoff_max=retry_backoff_max,
            connection_timeout=connection_timeout,
            read_timeout=read_timeout,
            **pipeline_kwargs,
        )
        if isinstance(connection_verify, str) and not Path(connection_verify).exists():
            # requests would raise a bare OSError on the first call, deep inside the pipeline.
            raise ConfigError(f"the CA bundle {connection_verify} does not exist (--ca-cert / SENTINEL_PACKER_CA_CERT)")
        if connection_verify is not None:
            kwargs["connection_verify"] = connection_verify
        if rate_limiter is not None:
            kwargs["per_retry_policies"] = [RateLimitPolicy(rate_limiter, rate_limited_operations)]
        self._arm = LogAnalyticsManagementClient(
            credential, target.subscription_id, base_url=self.base_url, **kwargs
        )

    # --- URLs ---------------------------------------------------------------------------------

    @property
    def workspace_id(self) -> str:
        return self.target.workspace_id

    def sentinel_collection(self, name: str) -> str:
        return resource_ids.sentinel_collection(self.workspace_id, name)

    @property
    def saved_searches_collection(self) -> str:
        return resource_ids.saved_searches_collection(self.workspace_id)

    @property
    def workbooks_collection(self) -> str:
        return resource_ids.workbooks_collection(self.target.resource_group_id)

    # --- reads --------------------------------------------------------------------------------

    def list_in(self, collection: resource_ids.Collection) -> list[dict]:
        """Every item of one of this workspace's collections (resource_ids.ALERT_RULES, a content
        kind's `collection`...), with the collection's own list parameters."""
        collection_id = collection.collection_id(self.workspace_id, self.target.resource_group_id)
        return self.list_collection(collection_id, collection.list_params(self.workspace_id) or None)

    def get_workspace(self) -> dict:
        found = self.get(self.workspace_id)
        if found is None:
            raise NotFound(404, "ResourceNotFound", f"workspace {self.target.workspace} not found", self.workspace_id, "GET")
        return found

    def list_collection(self, collection_id: str, params: dict[str, str] | None = None) -> list[dict]:
        """Every item of a collection, following `nextLink` pages."""
        return list(self.iter_collection(collection_id, params))

    def iter_collection(self, collection_id: str, params: dict[str, str] | None = None) -> Iterator[dict]:
        query = {"api-version": api_version_for(collection_id), **(params or {})}
        url: str | None = collection_id
        while url:
            page = self._call("GET", url, params=query, resource_id=collection_id)
            yield from page.get("value") or []
            url = page.get("nextLink")
            query = None  # nextLink carries its own query string

    def get(self, resource_id: str) -> dict | None:
        """One resource, or None when it does not exist."""
        try:
            return self._call("GET", resource_id, params={"api-version": api_version_for(resource_id)})
        except NotFound:
            return None

    # --- writes -------------------------------------------------------------------------------

    def put(self, resource_id: str, body: dict, etag: str | None = None, *, create: bool = False) -> dict:
        """Create or replace. With `etag`, the write only succeeds if the resource still has it
        (sent in the body as ARM resources define it, and as If-Match); with `create`, only if
        there is no resource yet (If-None-Match: *); else `Conflict` (412)."""
        body = dict(body)
        body.pop("etag", None)
        headers = {}
        if create:
            headers["If-None-Match"] = "*"
        elif etag:
            body["etag"] = etag
            headers["If-Match"] = etag
        version = api_version_for(resource_id, kind=body.get("kind"))
        response = self._checked("PUT", resource_id, params={"api-version": version}, json_body=body,
                                 headers=headers, retry_read=0)
        answered = _json(response)
        operation = response.headers.get("Azure-AsyncOperation")
        if not operation:
            return answered
        self.wait_for_operation(operation, resource_id)
        # final-state-via azure-async-operation on a PUT: the resource, read again once done.
        return self.get(resource_id) or answered

    def wait_for_operation(self, status_url: str, resource_id: str, method: str = "PUT") -> dict:
        """Poll an Azure-AsyncOperation URL (it carries its own api-version) until it succeeds;
        OperationFailed when it fails or outlasts `operation_timeout`. A delete's wait also ends
        once the resource reads as gone (packer.remote.operations)."""
        def poll() -> tuple[dict, str | None]:
            try:
                response = self._checked("GET", status_url, resource_id=resource_id)
            except ConnectionFailed as exc:  # not the write's outcome: that one was answered
                raise OperationFailed(None, "OperationStatusUnknown", f"{describe(resource_id, method)}: its "
                                      f"status could not be read ({exc.message})", resource_id, "GET") from None
            return _json(response), response.headers.get("Retry-After")

        gone = (lambda: self.get(resource_id) is None) if method == "DELETE" else None
        return wait_for_operation(poll, resource_id, timeout=self.operation_timeout,
                                  interval=self.operation_poll_interval, method=method, gone=gone)

    def delete(self, resource_id: str, etag: str | None = None) -> bool:
        """Delete; False when it was already gone (ARM answers 204 or 404: done either way).
        A delete answered 202 with Azure-AsyncOperation (a watchlist) returns once it has completed."""
        headers = {"If-Match": etag} if etag else {}
        try:
            response = self._checked("DELETE", resource_id, params={"api-version": api_version_for(resource_id)},
                                     headers=headers, retry_read=0)
        except NotFound:
            return False
        operation = response.headers.get("Azure-AsyncOperation")
        if operation:
            self.wait_for_operation(operation, resource_id, "DELETE")
        return response.status_code != 204

    # --- transport ----------------------------------------------------------------------------

    def _call(self, method: str, url: str, **kwargs: Any) -> dict:
        """The JSON answer of a request (an empty dict when there is none)."""
        return _json(self._checked(method, url, **kwargs))

    def _checked(self, method: str, url: str, *, params: dict | None = None, json_body: dict | None = None,
                 headers: dict | None = None, resource_id: str = "", **options: Any) -> HttpResponse:
        resource_id = resource_id or url
        request = HttpRequest(method, _quoted(url), params=params, json=json_body, headers=headers or None)
        response = self._send(request, resource_id, **options)
        if response.status_code >= 400:
            raise error_from_response(response.status_code, response.content, resource_id, method)
        return response

    def _send(self, request: HttpRequest, resource_id: str, **options: Any) -> HttpResponse:
        send = self._arm.send_request
        with self._slots:
            try:
                return send(request, **options)
            except ServiceRequestError as exc:
                raise ConnectionFailed(_reason(exc), resource_id, request.method, sent=False) from None
            except ServiceResponseError as exc:
                raise ConnectionFailed(_reason(exc), resource_id, request.method, sent=True) from None
            except ClientAuthenticationError as exc:
                raise AuthorizationFailed(None, "CredentialUnavailable", _reason(exc), resource_id, request.method) from None

    def close(self) -> None:
        self._arm.close()

    def __enter__(self) -> "WorkspaceClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _json(response: HttpResponse) -> dict:
    """The JSON answer of a response (an empty dict when there is none)."""
    if not response.content:
        return {}
    try:
        return json.loads(response.content)
    except ValueError:
        return {}


def _quoted(url: str) -> str:
    """Resource names may hold characters that must be escaped; absolute nextLinks are kept."""
    if url.startswith(("http://", "https://")):
        return url
    return quote(url, safe="/:@-._~!$&'()*+,;=")


def _reason(exc: Exception) -> str:
    """The error's message, first line only (never request headers)."""
    text = str(getattr(exc, "message", "") or exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__
