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
    assert result.exit_code == 1 and "does not exist" in result.output  # a usage error: 1, never "changes"


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
        if line.startswith("workspace"):
            ready.set()

    thread = threading.Thread(target=serve, args=(emu, record, stop))
    thread.start()
    try:
        assert ready.wait(10)
        assert lines[0] == f"emulator listening on {emu.base_url}"
        assert emu.ca_path in lines[1]
        path = f"{emu.workspace.resource_id}/savedSearches/h1"
        body = {"properties": {"category": "Hunting Queries", "displayName": "h", "query": "SecurityEvent"}}
        assert send(sentinel_client(emu), "PUT", path, body).status_code == 200
    finally:
        stop.set()
        thread.join(10)
    assert state.exists() and "savedSearches/h1" in state.read_text()
    assert (tmp_path / "state-tls" / "emulator-ca.pem").exists()
