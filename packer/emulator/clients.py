"""Real Azure SDK clients pointed at an emulator (tests and examples use these)."""
from __future__ import annotations

from typing import Any

from azure.core.rest import HttpRequest, HttpResponse

from packer.remote.api_versions import api_version_for


def sentinel_client(emu, tenant_id: str | None = None, subscription_id: str | None = None, **kwargs: Any):
    """azure.mgmt.securityinsight.SecurityInsights against the emulator."""
    from azure.mgmt.securityinsight import SecurityInsights

    return SecurityInsights(emu.credential(tenant_id), subscription_id or emu.subscription_id,
                            base_url=emu.base_url, connection_verify=emu.ca_path, **kwargs)


def loganalytics_client(emu, tenant_id: str | None = None, subscription_id: str | None = None, **kwargs: Any):
    """azure.mgmt.loganalytics.LogAnalyticsManagementClient against the emulator."""
    from azure.mgmt.loganalytics import LogAnalyticsManagementClient

    return LogAnalyticsManagementClient(emu.credential(tenant_id), subscription_id or emu.subscription_id,
                                        base_url=emu.base_url, connection_verify=emu.ca_path, **kwargs)


def send(client, method: str, path: str, body: dict | None = None, api_version: str | None = None,
         headers: dict | None = None, **params: str) -> HttpResponse:
    """A raw request through an SDK client's pipeline (auth, retries, logging) at a chosen api-version
    (default: the one WorkspaceClient would use, by path and the body's kind)."""
    kind = body.get("kind") if isinstance(body, dict) and method.upper() == "PUT" else None
    version = api_version or api_version_for(path, kind=kind)
    request = HttpRequest(method, path, json=body, params={"api-version": version, **params}, headers=headers)
    # Newer generated clients call it send_request; azure-mgmt-securityinsight 1.0.0 has _send_request.
    sender = getattr(client, "send_request", None) or client._send_request
    return sender(request)
