"""`sentinel-packer emulator`: prints where to connect, serves until stopped, saves --state."""
from __future__ import annotations

import threading

from typer.testing import CliRunner

from packer.cli import app
from packer.emulator.clients import send, sentinel_client
from packer.emulator.run import build, serve


def test_command_is_registered():
    result = CliRunner().invoke(app, ["emulator", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--state", "--config", "--specs"):
        assert option in result.output


def test_a_specs_folder_that_does_not_exist_is_refused(tmp_path):
    # otherwise the emulator would serve without the checks the user asked for, silently
    result = CliRunner().invoke(app, ["emulator", "--specs", str(tmp_path / "no-such-specs")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_only_loopback_addresses_count_as_loopback():
    from packer.cli.emulator_cmd import _is_loopback

    assert _is_loopback("127.0.0.1") and _is_loopback("::1") and _is_loopback("localhost")
    assert not _is_loopback("0.0.0.0") and not _is_loopback("10.1.2.3") and not _is_loopback("emulator.example")


def test_serve_prints_url_and_ca_then_saves_state_on_stop(tmp_path):
    config = tmp_path / "emulator.yaml"
    config.write_text("workspaces:\n  - {resource_group: rg, name: ws1, tables: [SecurityEvent]}\npage_size: 5\n")
    state = tmp_path / "state.json"
    emu = build(state=state, config=config)
    lines: list[str] = []
    ready, stop = threading.Event(), threading.Event()

    def record(line: str) -> None:
        lines.append(line)
        if line.startswith("state:"):
            ready.set()

    thread = threading.Thread(target=serve, args=(emu, record, stop))
    thread.start()
    try:
        assert ready.wait(10)
        assert lines[0].startswith(f"emulator listening on {emu.base_url}")
        ca = str((tmp_path / "state-tls" / "emulator-ca.pem").resolve())
        assert lines[1] == f"CA certificate: {ca}"
        assert f"export SENTINEL_PACKER_BASE_URL={emu.base_url}" in lines
        assert f"export SENTINEL_PACKER_CA_CERT={ca}" in lines
        assert f"workspace ws1: --subscription {emu.subscription_id} --resource-group rg --workspace ws1 " \
               f"--tenant {emu.tenant_id} --repository owner/name" in lines
        path = f"{emu.workspace.resource_id}/savedSearches/h1"
        body = {"properties": {"category": "Hunting Queries", "displayName": "h", "query": "SecurityEvent"}}
        assert send(sentinel_client(emu), "PUT", path, body).status_code == 200
    finally:
        stop.set()
        thread.join(10)
    assert state.exists() and "savedSearches/h1" in state.read_text()
    assert (tmp_path / "state-tls" / "emulator-ca.pem").exists()
    assert lines[-1] == f"emulator stopped; state saved to {state.resolve()}"


def _serve_in_thread(emu, lines, port_was_asked=False):
    ready, stop = threading.Event(), threading.Event()

    def record(line: str) -> None:
        lines.append(line)
        if line.startswith("state:"):
            ready.set()

    thread = threading.Thread(target=serve, args=(emu, record, stop), kwargs={"port_was_asked": port_was_asked})
    thread.start()
    assert ready.wait(10)
    return stop, thread


def test_state_keeps_the_port_across_restarts(tmp_path):
    state = tmp_path / "emulator.json"
    first: list[str] = []
    stop, thread = _serve_in_thread(build(state=state), first)
    port = int(first[0].split()[3].rsplit(":", 1)[1])
    stop.set()
    thread.join(10)
    again = build(state=state)
    assert again.port == port  # asked for before listening: the exports pasted last time still work
    second: list[str] = []
    stop, thread = _serve_in_thread(again, second)
    stop.set()
    thread.join(10)
    assert second[0].startswith(f"emulator listening on https://127.0.0.1:{port}")


def test_a_kept_port_now_in_use_falls_back_to_a_free_one_with_a_warning(tmp_path):
    import socket

    from packer.emulator.run import start

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        state = tmp_path / "emulator.json"
        state.write_text('{"version": 1, "port": %d, "resources": []}' % busy.getsockname()[1])
        emu = build(state=state)
        try:
            warnings = start(emu, port_was_asked=False)
            assert emu.port != busy.getsockname()[1]
            assert "is in use; listening on a free port instead" in warnings[0]
        finally:
            emu.stop()


def test_a_port_in_use_or_a_bad_host_is_one_line(tmp_path):
    import socket

    import pytest

    from packer.emulator.run import start
    from packer.errors import ConfigError

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(ConfigError, match=r"--port \d+: the port is in use .*give another --port"):
            start(build(port=busy.getsockname()[1]), port_was_asked=True)
    with pytest.raises(ConfigError, match="--host nonsense.invalid: cannot listen there"):
        start(build(host="nonsense.invalid"), port_was_asked=False)


def test_token_prints_a_token_the_emulator_accepts(emulator):
    from packer.auth import token_tenant

    result = CliRunner().invoke(app, ["emulator", "token", "--tenant", emulator.tenant_id])
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert token_tenant(token) == emulator.tenant_id
    import urllib.request
    import ssl

    request = urllib.request.Request(f"{emulator.base_url}{emulator.workspace.resource_id}/tables?api-version=2022-10-01",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=emulator.ca_path)) as answer:
        assert answer.status == 200
