"""Running the emulator in the foreground (the CLI command) until interrupted."""
from __future__ import annotations

import errno
import json
import shlex
import signal
import threading
from pathlib import Path
from typing import Callable

from packer.emulator.config import EmulatorConfig, WorkspaceConfig
from packer.emulator.emulator import Emulator
from packer.errors import ConfigError

EXAMPLE_REPOSITORY = "owner/name"


def build(host: str = "127.0.0.1", port: int = 0, state: Path | None = None, config: Path | None = None,
          specs: Path | None = None) -> Emulator:
    loaded = EmulatorConfig.load(config) if config else EmulatorConfig.from_dict({})
    if state is not None:
        state = state.resolve()  # printed paths (the CA's) are then absolute, whatever the cwd of the reader
    return Emulator(loaded, specs_dir=specs, host=host, port=port or saved_port(state), state_file=state)


def saved_port(state: Path | None) -> int:
    """The port a previous run with this --state listened on (0 when none), so clients keep working."""
    if state is None or not state.is_file():
        return 0
    try:
        port = json.loads(state.read_text(encoding="utf-8")).get("port")
    except (OSError, ValueError, AttributeError):
        return 0
    return port if isinstance(port, int) and 0 < port < 65536 else 0


def start(emu: Emulator, port_was_asked: bool) -> list[str]:
    """Start listening; an address that cannot be used is a one-line ConfigError. A port kept in
    --state that is taken now is given up for a free one (returned as a warning)."""
    warnings: list[str] = []
    try:
        emu.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE and not port_was_asked and emu.port:
            warnings.append(f"warning: port {emu.port} (kept in {emu.state_file}) is in use; "
                            "listening on a free port instead: export the new URL below")
            emu.port = 0
            return warnings + start(emu, port_was_asked=True)
        raise ConfigError(_listen_error(emu, exc)) from None
    except ValueError as exc:  # a --host no certificate can name
        raise ConfigError(f"--host {emu.host}: not an address to listen on ({exc})") from None
    return warnings


def _listen_error(emu: Emulator, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (f"--port {emu.port}: the port is in use (another emulator still running?); "
                "stop it, or give another --port (0 picks a free one)")
    if exc.errno in (errno.EADDRNOTAVAIL, errno.EACCES):
        return f"cannot listen on {emu.host}:{emu.port}: {exc.strerror}; use --host 127.0.0.1 or an address of this machine"
    return f"--host {emu.host}: cannot listen there ({exc.strerror or exc}); use --host 127.0.0.1 or an address of this machine"


def workspace_tenant(emu: Emulator, ws: WorkspaceConfig) -> str:
    return next((s.tenant for s in emu.config.subscriptions if s.id == ws.subscription), emu.tenant_id)


def target_flags(emu: Emulator, ws: WorkspaceConfig, repository: str = EXAMPLE_REPOSITORY) -> str:
    """The `plan`/`apply` flags naming one emulated workspace."""
    return (f"--subscription {ws.subscription} --resource-group {ws.resource_group} --workspace {ws.name} "
            f"--tenant {workspace_tenant(emu, ws)} --repository {repository}")


def export_lines(emu: Emulator) -> list[str]:
    """Shell lines to paste where sentinel-packer runs; TARGET holds the first workspace's flags."""
    lines = [f"export SENTINEL_PACKER_BASE_URL={emu.base_url}",
             f"export SENTINEL_PACKER_CA_CERT={shlex.quote(str(Path(emu.ca_path).resolve()))}",
             "export SENTINEL_PACKER_EMULATOR_TENANT=target"]
    if emu.config.workspaces:
        lines.append(f'export TARGET="{target_flags(emu, emu.config.workspaces[0])}"')
    return lines


def describe(emu: Emulator) -> list[str]:
    lines = [f"emulator listening on {emu.base_url}  (Ctrl-C to stop)",
             f"CA certificate: {Path(emu.ca_path).resolve()}",
             "",
             "# paste into the shell where you run sentinel-packer (then: sentinel-packer plan $TARGET):",
             *export_lines(emu),
             ""]
    for sub in emu.config.subscriptions:
        delegated = f", delegated to {', '.join(sub.delegated_to)}" if sub.delegated_to else ""
        lines.append(f"subscription {sub.id} (tenant {sub.tenant}{delegated})")
    for ws in emu.config.workspaces:
        lines.append(f"workspace {ws.name}: {target_flags(emu, ws)}")
    if emu.state_file:
        lines.append(f"state: {emu.state_file} (loaded at start, saved on shutdown; the port and CA are kept)")
    return lines


def shutdown_line(emu: Emulator) -> str:
    saved = f"; state saved to {emu.state_file}" if emu.state_file else "; nothing kept (no --state)"
    return f"emulator stopped{saved}"


def serve(emu: Emulator, print_line: Callable[[str], None], stop: threading.Event | None = None,
          port_was_asked: bool = True) -> None:
    """Start, print where to connect, block until SIGINT/SIGTERM (or `stop` is set), then stop and save."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    for warning in start(emu, port_was_asked):
        print_line(warning)
    try:
        for line in describe(emu):
            print_line(line)
        while not stop.wait(0.5):
            pass
    finally:
        emu.stop()
    print_line(shutdown_line(emu))
