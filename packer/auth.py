"""Credentials per tenant, and the guard that a token really belongs to the expected tenant.

- `default`: DefaultAzureCredential (environment, workload identity, managed identity, CLI...),
  asked for a token of the workspace's tenant (`get_token(..., tenant_id=...)`).
- `oidc`: GitHub Actions workload identity federation with a per-tenant app registration:
  WorkloadIdentityCredential when AZURE_FEDERATED_TOKEN_FILE is set, otherwise a
  ClientAssertionCredential fed with the runner's OIDC token (audience api://AzureADTokenExchange).
- `lighthouse`: the managing (MSSP) tenant's own token; ARM honours it for delegated subscriptions.

Every token handed to an SDK client passes through TenantBoundCredential, which reads the token's
`tid` claim (no signature check: it is our own token, the point is to catch a mix-up) and raises
TenantMismatch before the request is sent. Tokens are never logged or put in messages.
"""
from __future__ import annotations

import base64
import json
import os
import threading
import urllib.request
from typing import Any, Callable, Protocol

from packer.errors import PackerError
from packer.targets import AuthKind, Inventory, Target, Tenant

ARM_SCOPE = "https://management.azure.com/.default"
GITHUB_AUDIENCE = "api://AzureADTokenExchange"


class TokenCredentialLike(Protocol):
    def get_token(self, *scopes: str, **kwargs: Any) -> Any: ...


CredentialFactory = Callable[[Tenant], TokenCredentialLike]


class TenantMismatch(PackerError):
    """A token was issued by another tenant than the inventory expects for this workspace.
    Exit code 1 like every error: plan's exit codes are terraform's (0 none, 2 changes, 1 error)."""


class AuthError(PackerError):
    """No usable credential for a tenant (configuration or environment problem)."""


def token_tenant(token: str) -> str:
    """The `tid` claim of an access token, decoded without verification."""
    parts = token.split(".")
    if len(parts) != 3:
        raise AuthError("the access token is not a JWT, so its tenant cannot be checked; refusing to use it")
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, TypeError):
        raise AuthError("the access token's claims cannot be read, so its tenant cannot be checked") from None
    tid = claims.get("tid") if isinstance(claims, dict) else None
    if not tid:
        raise AuthError("the access token has no tid claim, so its tenant cannot be checked")
    return str(tid).lower()


class TenantBoundCredential:
    """Asks `inner` for tokens of `tenant_id` and refuses any token issued by another tenant."""

    def __init__(self, inner: TokenCredentialLike, tenant_id: str, workspace: str, ask_for_tenant: bool = True):
        self._inner = inner
        self.tenant_id = tenant_id.lower()
        self._workspace = workspace
        self._ask_for_tenant = ask_for_tenant

    def get_token(self, *scopes: str, **kwargs: Any):
        if self._ask_for_tenant:
            kwargs.setdefault("tenant_id", self.tenant_id)
        token = self._inner.get_token(*scopes, **kwargs)
        self._check(token.token)
        return token

    def get_token_info(self, *scopes: str, options: dict | None = None):
        if not hasattr(self._inner, "get_token_info"):  # azure-core prefers this method when it exists
            from azure.core.credentials import AccessTokenInfo

            kwargs = {k: v for k, v in (options or {}).items() if k in ("claims", "tenant_id", "enable_cae")}
            token = self.get_token(*scopes, **kwargs)
            return AccessTokenInfo(token.token, token.expires_on)
        options = dict(options or {})
        if self._ask_for_tenant:
            options.setdefault("tenant_id", self.tenant_id)
        info = self._inner.get_token_info(*scopes, options=options)
        self._check(info.token)
        return info

    def verify(self) -> None:
        """Fetch a management token now and check it (call before the first write)."""
        self.get_token(ARM_SCOPE)

    def _check(self, token: str) -> None:
        issued_by = token_tenant(token)
        if issued_by != self.tenant_id:
            raise TenantMismatch(
                f"refusing to touch workspace {self._workspace}: the token was issued by tenant {issued_by}, "
                f"but the inventory expects tenant {self.tenant_id}; check the credential (AZURE_TENANT_ID, "
                "the OIDC client id, or the Lighthouse managing tenant) for this workspace"
            )

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close:
            close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def github_oidc_assertion() -> str:
    """The GitHub Actions OIDC token for Entra ID federation (needs `permissions: id-token: write`)."""
    url = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    request_token = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not url or not request_token:
        raise AuthError(
            "GitHub OIDC is not available: ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN are unset; give the workflow "
            "`permissions: id-token: write`, or use auth kind `default`"
        )
    separator = "&" if "?" in url else "?"
    request = urllib.request.Request(
        f"{url}{separator}audience={GITHUB_AUDIENCE}", headers={"Authorization": f"bearer {request_token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (the runner's own endpoint)
        return json.load(response)["value"]


# In GitHub Actions, `SENTINEL_PACKER_AUTH=oidc` with AZURE_CLIENT_ID makes every `default` tenant
# use GitHub OIDC with that app: a fresh assertion per token, so a rollout longer than the hour an
# azure/login token lives is never cut off, and the same inventory serves the read-only plan
# identity (PR jobs) and the deploying one (rollout jobs), each job naming its own client id.
DEFAULT_AUTH_ENV = "SENTINEL_PACKER_AUTH"


def azure_credential(tenant: Tenant) -> TokenCredentialLike:
    """The azure-identity credential for one tenant entry of the inventory."""
    from azure.identity import ClientAssertionCredential, DefaultAzureCredential, WorkloadIdentityCredential

    client_id = tenant.auth.client_id
    if tenant.auth.kind is not AuthKind.OIDC:
        if os.environ.get(DEFAULT_AUTH_ENV, "").lower() != "oidc":
            return DefaultAzureCredential(additionally_allowed_tenants=["*"])
        client_id = os.environ.get("AZURE_CLIENT_ID", "")
        if not client_id:
            raise AuthError(f"{DEFAULT_AUTH_ENV}=oidc needs AZURE_CLIENT_ID (the app whose federated credential "
                            "trusts this workflow)")
    if os.environ.get("AZURE_FEDERATED_TOKEN_FILE"):
        return WorkloadIdentityCredential(tenant_id=tenant.tenant_id, client_id=client_id)
    return ClientAssertionCredential(tenant.tenant_id, client_id, github_oidc_assertion)


class CredentialProvider:
    """One credential per token tenant, shared by all workers; each workspace gets a bound view."""

    def __init__(self, inventory: Inventory, factory: CredentialFactory = azure_credential):
        self._inventory = inventory
        self._factory = factory
        self._cache: dict[str, TokenCredentialLike] = {}
        self._lock = threading.Lock()

    def expected_tenant(self, target: Target) -> str:
        return self._inventory.tenant_of(target).token_tenant_id

    def for_target(self, target: Target) -> TenantBoundCredential:
        tenant = self._inventory.tenant_of(target)
        token_tenant_id = tenant.token_tenant_id
        identity = self._token_tenant(tenant)
        key = f"{identity.tenant_id}|{identity.auth.kind}|{identity.auth.client_id or ''}"
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._factory(identity)
            inner = self._cache[key]
        return TenantBoundCredential(inner, token_tenant_id, target.name)

    def _token_tenant(self, tenant: Tenant) -> Tenant:
        """For Lighthouse, the identity is the managing tenant's: build its credential."""
        if tenant.auth.kind is not AuthKind.LIGHTHOUSE:
            return tenant
        for candidate in self._inventory.tenants:
            if candidate.tenant_id == tenant.token_tenant_id:
                return candidate
        return Tenant(name="managing", tenant_id=tenant.token_tenant_id)
