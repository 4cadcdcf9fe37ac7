"""Credential and connection problems are one line with the fix, before validation runs (issue 15, item 3)."""
from __future__ import annotations

import socket

import pytest
from azure.core.exceptions import ClientAuthenticationError
from typer.testing import CliRunner

from packer.auth import TenantBoundCredential
from packer.cli import app
from packer.remote.preflight import CannotConnect, preflight
from packer.targets import Target


def _flags(emulator, base_url: str, ca: str | None, broken_content) -> list[str]:
    ws = emulator.workspace
    flags = ["--subscription", ws.subscription, "--resource-group", ws.resource_group, "--workspace", ws.name,
             "--tenant", emulator.tenant_id, "--repository", "o/r", "--base-url", base_url,
             "--emulator-tenant", "target", "--content", str(broken_content)]
    return flags + (["--ca-cert", ca] if ca else [])


@pytest.fixture
def broken_content(tmp_path):
    """Content that fails validation: when the connection error wins, nothing slow ran before it."""
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "solution.yaml").write_text("name: [\n")
    return tmp_path / "content"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nothing_listening_asks_whether_the_emulator_runs(emulator, broken_content):
    url = f"https://127.0.0.1:{_closed_port()}"
    with pytest.raises(CannotConnect, match=f"nothing answers at {url}: is the emulator running"):
        CliRunner().invoke(app, ["plan", *_flags(emulator, url, emulator.ca_path, broken_content)],
                           catch_exceptions=False)


def test_an_untrusted_certificate_names_the_ca_variable(emulator, broken_content):
    with pytest.raises(CannotConnect, match="TLS: .* not trusted .*SENTINEL_PACKER_CA_CERT"):
        CliRunner().invoke(app, ["plan", *_flags(emulator, emulator.base_url, None, broken_content)],
                           catch_exceptions=False)


def test_the_fleet_commands_check_before_loading_content(tmp_path, emulator, broken_content):
    targets = tmp_path / "targets.yaml"
    targets.write_text(f"""repository: o/r
tenants: [{{name: t, tenantId: {emulator.tenant_id}}}]
workspaces: [{{name: w, tenant: t, subscription: {emulator.subscription_id}, resourceGroup: rg-sentinel, workspace: ws-sentinel}}]
""")
    url = f"https://127.0.0.1:{_closed_port()}"
    common = ["--targets", str(targets), "--content", str(broken_content), "--base-url", url,
              "--ca-cert", emulator.ca_path, "--emulator-tenant", "target"]
    for command in (["plan", "--all"], ["rollout"], ["doctor", "--all"]):
        with pytest.raises(CannotConnect, match="nothing answers at"):
            CliRunner().invoke(app, [*command, *common], catch_exceptions=False)


class _NoLogin:
    """A credential with nothing to sign in with, as DefaultAzureCredential without `az login`."""

    def get_token(self, *scopes, **kwargs):
        raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token from the included "
                                        "credentials.\nAttempted credentials:\n\tEnvironmentCredential: ...")


def _target(emulator) -> Target:
    ws = emulator.workspace
    return Target(ws.name, emulator.tenant_id, ws.subscription, ws.resource_group, ws.name, "o/r")


def test_no_login_against_azure_says_az_login(emulator):
    credential = TenantBoundCredential(_NoLogin(), emulator.tenant_id, "ws")
    with pytest.raises(CannotConnect) as caught:
        preflight(_target(emulator), credential, None, None, None)
    message = str(caught.value)
    assert f"az login --tenant {emulator.tenant_id}" in message and "\n" not in message


def test_no_emulator_tenant_against_the_emulator_says_which_variable(emulator):
    credential = TenantBoundCredential(_NoLogin(), emulator.tenant_id, "ws")
    with pytest.raises(CannotConnect, match="export SENTINEL_PACKER_EMULATOR_TENANT=target"):
        preflight(_target(emulator), credential, emulator.base_url, emulator.ca_path, None)


def test_a_working_setup_passes(emulator):
    credential = TenantBoundCredential(emulator.credential(), emulator.tenant_id, "ws")
    preflight(_target(emulator), credential, emulator.base_url, emulator.ca_path, "target")
