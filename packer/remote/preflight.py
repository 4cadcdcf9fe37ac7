"""Before any slow work (validation, KQL analysis): can we get a token, and does the endpoint
answer? A missing login, an emulator that is not running or a certificate that is not trusted
becomes one line that says what to do, instead of a page of azure-identity output after 10 s.
"""
from __future__ import annotations

import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from azure.core.exceptions import ClientAuthenticationError

from packer.errors import ConfigError, PackerError
from packer.remote.api_versions import ARM_ENDPOINT


class CannotConnect(PackerError):
    """No token, or no answer from the management endpoint; the message says how to fix it."""


def preflight(target, credential, base_url: str | None, ca_cert: str | bool | None,
              emulator_tenant: str | None) -> None:
    """Fetch a token for the target's workspace (a TenantBoundCredential: a token of another
    tenant is TenantMismatch, as ever) and, for an endpoint other than Azure's, open a TLS
    connection to it. No request is sent: nothing is read from a workspace before the content
    has validated."""
    endpoint = base_url or ARM_ENDPOINT
    try:
        credential.verify()
    except ClientAuthenticationError as exc:
        raise CannotConnect(credential_hint(target.tenant_id, endpoint, emulator_tenant, exc)) from None
    if endpoint.rstrip("/") != ARM_ENDPOINT.rstrip("/"):
        _handshake(endpoint, ca_cert)


def _handshake(endpoint: str, ca_cert: str | bool | None) -> None:
    if isinstance(ca_cert, str) and not Path(ca_cert).is_file():
        raise ConfigError(f"the CA bundle {ca_cert} does not exist (--ca-cert / SENTINEL_PACKER_CA_CERT): "
                          "export the path the emulator printed at its start")
    url = urlsplit(endpoint)
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=10) as sock:
            if url.scheme == "https":
                context = ssl.create_default_context(cafile=ca_cert if isinstance(ca_cert, str) else None)
                if ca_cert is False:
                    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
                with context.wrap_socket(sock, server_hostname=host):
                    pass
    except ssl.SSLError as exc:
        raise CannotConnect(connection_hint(endpoint, f"SSL: {exc.reason or exc}")) from None
    except OSError as exc:
        raise CannotConnect(connection_hint(endpoint, exc.strerror or str(exc))) from None


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
