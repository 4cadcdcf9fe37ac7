"""Before any slow work (validation, KQL analysis): can we get a token, and does the endpoint
answer? A missing login, an emulator that is not running or a certificate that is not trusted
becomes one line that says what to do, instead of a page of azure-identity output after 10 s.
"""
from __future__ import annotations

from azure.core.exceptions import ClientAuthenticationError

from packer.errors import PackerError
from packer.remote.api_versions import ARM_ENDPOINT
from packer.remote.errors import AuthorizationFailed, ConnectionFailed, NotFound


class CannotConnect(PackerError):
    """No token, or no answer from the management endpoint; the message says how to fix it."""


def preflight(target, credential, base_url: str | None, ca_cert: str | bool | None,
              emulator_tenant: str | None) -> None:
    """Fetch a token for the target's workspace (a TenantBoundCredential) and read the workspace
    once, without the usual retries (a missing workspace is left to the command, which reports
    it in its own terms)."""
    from packer.remote.client import WorkspaceClient

    endpoint = base_url or ARM_ENDPOINT
    try:
        credential.verify()
    except ClientAuthenticationError as exc:
        raise CannotConnect(credential_hint(target.tenant_id, endpoint, emulator_tenant, exc)) from None
    with WorkspaceClient(target, credential, endpoint, ca_cert, retry_total=0, connection_timeout=10) as client:
        try:
            client.get_workspace()
        except NotFound:
            pass
        except AuthorizationFailed as exc:
            if exc.code == "CredentialUnavailable":
                raise CannotConnect(credential_hint(target.tenant_id, endpoint, emulator_tenant, exc)) from None
        except ConnectionFailed as exc:
            raise CannotConnect(connection_hint(endpoint, exc.message)) from None


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "message", "") or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def credential_hint(tenant: str, endpoint: str, emulator_tenant: str | None, exc: Exception) -> str:
    if endpoint.rstrip("/") != ARM_ENDPOINT.rstrip("/") and not emulator_tenant:
        return (f"no token for tenant {tenant} to use with {endpoint}: against the emulator, "
                "export SENTINEL_PACKER_EMULATOR_TENANT=target (or pass --emulator-tenant target)")
    return (f"no Azure credential for tenant {tenant} ({_first_line(exc)}): run `az login --tenant {tenant}`, "
            "or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (in GitHub Actions: the OIDC login)")


def connection_hint(endpoint: str, reason: str) -> str:
    lowered = reason.lower()
    if "certificate" in lowered or "ssl" in lowered:
        return (f"TLS: the certificate of {endpoint} is not trusted ({reason.strip().splitlines()[0][:160]}); "
                "export SENTINEL_PACKER_CA_CERT (or pass --ca-cert) with the CA path the emulator printed")
    if endpoint.rstrip("/") != ARM_ENDPOINT.rstrip("/"):
        return (f"nothing answers at {endpoint}: is the emulator running? Start it with `sentinel-packer emulator`, "
                "then export the SENTINEL_PACKER_BASE_URL it prints")
    return f"cannot reach {endpoint} ({reason.strip().splitlines()[0][:160]}): check the network or proxy settings"


def preflight_fleet(connection, targets, emulator_tenant: str | None) -> None:
    """The same check on the fleet's first workspace: a token and an answer from the endpoint.
    A token of the wrong tenant is left to the fleet command, which refuses that workspace."""
    from packer.auth import TenantMismatch

    if not targets:
        return
    target = targets[0]
    try:
        credential = connection.credentials.for_target(target)
        preflight(target, credential, connection.base_url, connection.connection_verify, emulator_tenant)
    except TenantMismatch:
        pass
