"""Tokens like Entra ID's: a JWT with tid/oid claims. Unsigned (alg none): the emulator only reads claims.

EmulatorCredential is an azure-core TokenCredential, so SDK clients use it like any azure-identity
credential. `get_token(..., tenant_id=X)` returns a token for tenant X, as multi-tenant
azure-identity credentials do with additionally_allowed_tenants.
"""
from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass

from azure.core.credentials import AccessToken, AccessTokenInfo

AUDIENCE = "https://management.azure.com/"
# The audiences ARM accepts, as its InvalidAuthenticationToken answer lists them.
ARM_AUDIENCES = ("https://management.core.windows.net/", "https://management.core.windows.net",
                 "https://management.azure.com/", "https://management.azure.com")


def audience_of(scopes: tuple[str, ...]) -> str:
    """The `aud` Entra ID puts in a token for these scopes ("https://graph.microsoft.com/.default" ->
    "https://graph.microsoft.com"); ARM's when no scope is given."""
    if not scopes:
        return AUDIENCE
    scope = scopes[0]
    return scope[:-len("/.default")] if scope.endswith("/.default") else scope


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_token(tenant_id: str, object_id: str, lifetime_s: int = 3600, now: float | None = None,
               audience: str = AUDIENCE) -> tuple[str, int]:
    issued = int(now if now is not None else time.time())
    expires = issued + lifetime_s
    claims = {
        "aud": audience, "iss": f"https://sts.windows.net/{tenant_id}/", "iat": issued, "nbf": issued,
        "exp": expires, "tid": tenant_id, "oid": object_id, "sub": object_id, "appid": object_id,
        "idtyp": "app", "ver": "1.0",
    }
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.", expires


class InvalidToken(ValueError):
    pass


def read_claims(token: str) -> dict:
    """The claims of a JWT (signature not checked). Raises InvalidToken when it is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("not a JWT")
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from None
    if not isinstance(claims, dict) or "tid" not in claims:
        raise InvalidToken("no tid claim")
    return claims


@dataclass
class EmulatorCredential:
    """A TokenCredential for the emulator's tenants. `object_id` identifies the principal (oid)."""

    tenant_id: str
    object_id: str = ""
    lifetime_s: int = 3600

    def __post_init__(self) -> None:
        if not self.object_id:
            self.object_id = str(uuid.uuid5(uuid.NAMESPACE_OID, f"principal:{self.tenant_id}"))

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  **kwargs) -> AccessToken:
        token, expires = make_token(tenant_id or self.tenant_id, self.object_id, self.lifetime_s,
                                    audience=audience_of(scopes))
        return AccessToken(token, expires)

    def get_token_info(self, *scopes: str, options: dict | None = None) -> AccessTokenInfo:
        tenant = (options or {}).get("tenant_id") or self.tenant_id
        token, expires = make_token(tenant, self.object_id, self.lifetime_s, audience=audience_of(scopes))
        return AccessTokenInfo(token, expires)

    def close(self) -> None:
        pass

    def __enter__(self) -> "EmulatorCredential":
        return self

    def __exit__(self, *exc) -> None:
        pass
