"""Running the emulator in the foreground (the CLI command) until interrupted."""
from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Callable

from packer.emulator.config import EmulatorConfig
from packer.emulator.emulator import Emulator


def build(host: str = "127.0.0.1", port: int = 0, state: Path | None = None, config: Path | None = None,
          specs: Path | None = None) -> Emulator:
    loaded = EmulatorConfig.load(config) if config else EmulatorConfig.from_dict({})
    return Emulator(loaded, specs_dir=specs, host=host, port=port, state_file=state)


def describe(emu: Emulator) -> list[str]:
    lines = [f"emulator listening on {emu.base_url}",
             f"CA certificate: {emu.ca_path}  (connection_verify=... or REQUESTS_CA_BUNDLE=...)"]
    for sub in emu.config.subscriptions:
        delegated = f", delegated to {', '.join(sub.delegated_to)}" if sub.delegated_to else ""
        lines.append(f"subscription {sub.id} (tenant {sub.tenant}{delegated})")
    for ws in emu.config.workspaces:
        lines.append(f"workspace {ws.resource_id}")
    if emu.state_file:
        lines.append(f"state: {emu.state_file} (saved on shutdown)")
    return lines


def serve(emu: Emulator, print_line: Callable[[str], None], stop: threading.Event | None = None) -> None:
    """Start, print where to connect, block until SIGINT/SIGTERM (or `stop` is set), then stop and save."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    emu.start()
    try:
        for line in describe(emu):
            print_line(line)
        while not stop.wait(0.5):
            pass
    finally:
        emu.stop()
