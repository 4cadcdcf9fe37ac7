"""The shapes passed between the HTTP transport, the pipeline and the handlers."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from packer.emulator.routes import Route


@dataclass
class Request:
    method: str
    target: str  # path + query, as on the request line
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""
    base_url: str = ""


@dataclass
class Response:
    status: int
    body: dict | list | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering
    delay_s: float = 0.0

    def payload(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Caller:
    tenant: str
    object_id: str


@dataclass
class Call:
    """One request being served: what handlers need besides the store."""

    request: Request
    route: Route
    caller: Caller
    api_version: str
    query: dict[str, str]
