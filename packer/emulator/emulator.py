"""Emulator: the Service behind an HTTPS server on a background thread, plus the handles tests use."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Callable

from packer.emulator.config import EmulatorConfig, WorkspaceConfig
from packer.emulator.credential import EmulatorCredential
from packer.emulator.faults import Faults
from packer.emulator.observe import Counters, RequestLog, RequestRecord
from packer.emulator.routes import describe_id
from packer.emulator.server import EmulatorHTTPServer
from packer.emulator.service import Service
from packer.emulator.store import ResourceStore
from packer.emulator.throttle import Throttler
from packer.emulator.tls import server_tls
from packer.errors import ConfigError

STATE_VERSION = 1
_SAVED_REQUESTS = 1000
PORTAL_USER = "portal-user@emulator"


class Emulator:
    """`Emulator(config).start()` serves https://127.0.0.1:PORT until `stop()` (or the with-block ends)."""

    def __init__(self, config: EmulatorConfig | None = None, specs_dir: str | Path | None = None,
                 host: str = "127.0.0.1", port: int = 0, state_file: str | Path | None = None,
                 clock: Callable[[], float] = time.monotonic):
        """`clock`: what the throttling buckets refill by (tests pass a fake one)."""
        from packer.emulator.validation import Validator

        self.config = config or EmulatorConfig.from_dict({})
        self.host, self.port = host, port
        state = state_file or self.config.state_file
        self.state_file = Path(state) if state else None
        self.store = ResourceStore(stamp=self._stamp)
        self.counters = Counters()
        self.requests = RequestLog()
        self.faults = Faults(self.config.faults)
        self.throttler = Throttler(self.config.throttling, clock)
        self.validator = Validator(specs_dir)
        self.service = Service(self.config, self.store, self.counters, self.requests, self.faults, self.throttler,
                               self.validator)
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.ca_path = ""
        if self.state_file and self.state_file.exists():
            self.load_state(self.state_file)
        else:
            self._seed()

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "Emulator":
        if self._server is not None:
            return self
        cert_dir = self.state_file.parent / f"{self.state_file.stem}-tls" if self.state_file else None
        context, self.ca_path = server_tls(self.host, cert_dir)
        self._server = EmulatorHTTPServer((self.host, self.port), self.service, context)
        self.port = self._server.server_address[1]
        self._server.base_url = self.base_url
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"emulator-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread:
            self._thread.join(timeout=5)
        self._server = self._thread = None
        if self.state_file:
            self.save_state(self.state_file)

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    # --- conveniences for tests and the CLI -----------------------------------------------------
    def credential(self, tenant_id: str | None = None, object_id: str = "") -> EmulatorCredential:
        tenant = tenant_id or self.tenant_id
        return EmulatorCredential(tenant, object_id, self.config.token_lifetime_s)

    @property
    def tenant_id(self) -> str:
        return next(iter(self.config.tenants))

    @property
    def subscription_id(self) -> str:
        return self.config.subscriptions[0].id

    @property
    def workspace(self) -> WorkspaceConfig:
        return self.config.workspaces[0]

    def reset(self) -> None:
        """Forget resources, counters, the request log, scripted faults and throttling buckets."""
        self.store.clear()
        self.counters.reset()
        self.requests.reset()
        self.throttler.reset()
        self.faults.clear()
        self.service.handlers.operations.clear()

    # --- state --------------------------------------------------------------------------------
    def save_state(self, path: str | Path) -> None:
        state = {
            "version": STATE_VERSION,
            "port": self.port,  # `sentinel-packer emulator --state` listens there again (packer.emulator.run)
            "resources": self.store.dump(),
            "onboarded": self.service.onboarded,
            "counters": self.counters.snapshot(),
            "requests": [list(r) for r in self.requests[-_SAVED_REQUESTS:]],
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
        tmp.replace(path)

    def load_state(self, path: str | Path) -> None:
        try:
            state = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot read the emulator state: {exc}") from exc
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise ConfigError(f"{path}: not an emulator state file (version {STATE_VERSION})")
        self.store.load(state.get("resources") or [])
        self.service.onboarded.update({k.lower(): bool(v) for k, v in (state.get("onboarded") or {}).items()})
        self.counters.restore(state.get("counters") or {})
        for entry in state.get("requests") or []:
            self.requests.record(RequestRecord(*entry))

    def _seed(self) -> None:
        from packer.emulator.stamping import utc_now
        from packer.emulator.views import builtin_fusion_rule

        for ws in self.config.workspaces:
            if ws.builtin_fusion_rule and ws.sentinel_onboarded:
                body = builtin_fusion_rule(ws, utc_now())
                self.store.write(body["id"], body)

    def _stamp(self, resource_id: str, body: dict, existing: dict | None) -> dict:
        from packer.emulator.resources import build

        route = describe_id(resource_id)
        if route is None or not route.kind.writable:
            return {**body, "id": resource_id}
        return build(route.kind, route, body, existing, PORTAL_USER, facts=None, validate=False)
