"""Credentials per tenant and the token-tenant guard."""
from __future__ import annotations

from pathlib import Path

import pytest
from azure.core.credentials import AccessToken

from packer.auth import AuthError, CredentialProvider, TenantMismatch, azure_credential, github_oidc_assertion, token_tenant
from packer.emulator.credential import make_token
from packer.targets import AuthKind, Tenant, TenantAuth, load_inventory
from tests.fleetkit import CUSTOMER_TENANT, MSSP_TENANT, fleet_inventory


class RecordingCredential:
    """Issues tokens for `issuer` whatever tenant is asked for; records what was asked."""

    def __init__(self, issuer: str):
        self.issuer = issuer
        self.asked: list[str | None] = []

    def get_token(self, *scopes, tenant_id=None, **kw):
        self.asked.append(tenant_id)
        token, expires = make_token(self.issuer, "principal")
        return AccessToken(token, expires)


@pytest.fixture
def inventory(tmp_path: Path):
    (tmp_path / "targets.yaml").write_text(fleet_inventory(workspaces=4))
    return load_inventory(tmp_path / "targets.yaml")


def test_token_tenant_reads_tid_claim() -> None:
    token, _ = make_token(CUSTOMER_TENANT.upper(), "x")
    assert token_tenant(token) == CUSTOMER_TENANT
    with pytest.raises(AuthError, match="not a JWT"):
        token_tenant("opaque-token")


def test_lighthouse_workspace_uses_the_managing_tenant_identity(inventory) -> None:
    built: list[Tenant] = []

    def factory(tenant: Tenant) -> RecordingCredential:
        built.append(tenant)
        return RecordingCredential(tenant.tenant_id)

    provider = CredentialProvider(inventory, factory)
    lighthouse = provider.for_target(inventory.target("ws01"))  # fabrikam, delegated to mssp
    direct = provider.for_target(inventory.target("ws00"))
    lighthouse.verify()
    direct.verify()
    assert [t.name for t in built] == ["mssp"]  # one shared credential: the MSSP's
    assert provider.expected_tenant(inventory.target("ws01")) == MSSP_TENANT


def test_token_of_another_tenant_is_refused_without_leaking_it(inventory) -> None:
    wrong = RecordingCredential(CUSTOMER_TENANT)
    provider = CredentialProvider(inventory, lambda tenant: wrong)
    bound = provider.for_target(inventory.target("ws00"))
    with pytest.raises(TenantMismatch) as info:
        bound.get_token("https://management.azure.com/.default")
    assert wrong.asked == [MSSP_TENANT]  # it asked for the right tenant, and checked the answer
    message = str(info.value)
    assert "ws00" in message and CUSTOMER_TENANT in message and MSSP_TENANT in message
    assert make_token(CUSTOMER_TENANT, "principal")[0].split(".")[1] not in message


def test_oidc_tenant_gets_a_federated_credential(monkeypatch) -> None:
    monkeypatch.delenv("AZURE_FEDERATED_TOKEN_FILE", raising=False)
    client_id = "33333333-3333-4333-8333-333333333333"
    tenant = Tenant("acme", CUSTOMER_TENANT, auth=TenantAuth(AuthKind.OIDC, client_id=client_id))
    assertion = azure_credential(tenant)
    assert type(assertion).__name__ == "ClientAssertionCredential"
    assert _tenant_and_client(assertion) == (CUSTOMER_TENANT, client_id)
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", "/tmp/token")
    federated = azure_credential(tenant)
    assert type(federated).__name__ == "WorkloadIdentityCredential"
    assert _tenant_and_client(federated) == (CUSTOMER_TENANT, client_id)


def test_sentinel_packer_auth_oidc_gives_default_tenants_the_jobs_own_app(monkeypatch) -> None:
    """What the shipped workflows set: no azure/login, each job names its app (read-only for PR
    plans, deploying for rollouts) and every `default` tenant exchanges GitHub OIDC tokens for it."""
    monkeypatch.delenv("AZURE_FEDERATED_TOKEN_FILE", raising=False)
    tenant = Tenant("mssp", MSSP_TENANT)
    monkeypatch.delenv("SENTINEL_PACKER_AUTH", raising=False)
    assert type(azure_credential(tenant)).__name__ == "DefaultAzureCredential"
    monkeypatch.setenv("SENTINEL_PACKER_AUTH", "oidc")
    monkeypatch.delenv("AZURE_CLIENT_ID", raising=False)
    with pytest.raises(AuthError, match="AZURE_CLIENT_ID"):
        azure_credential(tenant)
    plan_app = "44444444-4444-4444-8444-444444444444"
    monkeypatch.setenv("AZURE_CLIENT_ID", plan_app)
    credential = azure_credential(tenant)
    assert type(credential).__name__ == "ClientAssertionCredential"
    assert _tenant_and_client(credential) == (MSSP_TENANT, plan_app)


def _tenant_and_client(credential) -> tuple[str, str]:
    """The (tenant id, client id) azure-identity will ask Entra ID with. Issue 24, surviving
    mutation 4: the two GUIDs swapped build a credential of the right type that fails at token
    time, on the runner. azure-identity keeps them on its AAD client (no public accessor)."""
    client = credential._client
    return client._tenant_id, client._client_id


def test_github_oidc_needs_the_id_token_permission(monkeypatch) -> None:
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_URL", raising=False)
    with pytest.raises(AuthError, match="id-token: write"):
        github_oidc_assertion()


def test_bound_credential_serves_azure_cores_token_info_from_a_plain_credential(inventory) -> None:
    plain = RecordingCredential(MSSP_TENANT)  # get_token only, like many hand-written credentials
    bound = CredentialProvider(inventory, lambda tenant: plain).for_target(inventory.target("ws00"))
    info = bound.get_token_info("https://management.azure.com/.default")
    assert token_tenant(info.token) == MSSP_TENANT and plain.asked == [MSSP_TENANT]
    wrong = CredentialProvider(inventory, lambda tenant: RecordingCredential(CUSTOMER_TENANT)).for_target(inventory.target("ws00"))
    with pytest.raises(TenantMismatch):
        wrong.get_token_info("https://management.azure.com/.default")
