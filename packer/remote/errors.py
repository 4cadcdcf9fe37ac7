"""Typed errors from the management API, carrying the API's own error code and message.

Built from the response only (status, ARM error body, request id): never from request
headers, so a token can never end up in a message, a plan or a report.
"""
from __future__ import annotations

import json

from packer.errors import PackerError


class RemoteError(PackerError):
    """A management API call failed. `code`/`message` are the API's own (ARM error body)."""

    def __init__(self, status: int | None, code: str, message: str, resource_id: str = "", method: str = ""):
        self.status = status
        self.code = code
        self.message = message
        self.resource_id = resource_id
        self.method = method
        where = f" {method} {resource_id}" if resource_id else ""
        status_text = f"HTTP {status} " if status else ""
        super().__init__(f"{status_text}{code}: {message}{where}".strip())


class BadRequest(RemoteError):
    """400: the API rejected the body (for example a rule whose query uses a missing table)."""


class AuthorizationFailed(RemoteError):
    """401/403: the credential cannot act on this workspace (wrong tenant, missing role)."""


class NotFound(RemoteError):
    """404: the resource (or the workspace itself) does not exist."""


class Conflict(RemoteError):
    """409/412: the etag sent no longer matches; someone changed the resource concurrently."""


class Throttled(RemoteError):
    """429 after azure-core's own retries were exhausted."""


class ServerError(RemoteError):
    """5xx after azure-core's own retries were exhausted."""


class OperationFailed(RemoteError):
    """An asynchronous operation (Azure-AsyncOperation) failed, was canceled or never completed in time."""


class ConnectionFailed(RemoteError):
    """No answer: the connection failed or dropped. For a write, the outcome is unknown."""

    def __init__(self, message: str, resource_id: str = "", method: str = "", sent: bool = True):
        self.sent = sent  # False when the request surely never reached the server
        super().__init__(None, "ConnectionFailed", message, resource_id, method)


def error_from_response(status: int, body: bytes, resource_id: str, method: str) -> RemoteError:
    code, message = _arm_error(body)
    code = code or _DEFAULT_CODES.get(status, f"HTTP{status}")
    message = message or f"the API answered {status} with no error message"
    return _class_for(status)(status, code, message, resource_id, method)


def _class_for(status: int) -> type[RemoteError]:
    if status == 400:
        return BadRequest
    if status in (401, 403):
        return AuthorizationFailed
    if status == 404:
        return NotFound
    if status in (409, 412):
        return Conflict
    if status == 429:
        return Throttled
    if status >= 500:
        return ServerError
    return RemoteError


_DEFAULT_CODES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
                  412: "PreconditionFailed", 429: "TooManyRequests"}


def _arm_error(body: bytes) -> tuple[str, str]:
    """(code, message) from an ARM error body `{"error": {"code", "message", "details"}}`."""
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return "", body.decode("utf-8", "replace")[:500] if body else ""
    error = parsed.get("error", parsed) if isinstance(parsed, dict) else {}
    if not isinstance(error, dict):
        return "", ""
    code = str(error.get("code") or "")
    message = str(error.get("message") or "")
    details = [d for d in error.get("details") or [] if isinstance(d, dict) and d.get("message")]
    if details:
        message += " (" + "; ".join(f"{d.get('code', '')}: {d['message']}" for d in details) + ")"
    return code, message
