"""The emulator's self-signed CA and server certificate (trustme), written where clients can read the CA.

trustme comes with the optional extra: `pip install 'sentinel-packer[emulator]'`.
"""
from __future__ import annotations

import ssl
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from packer.errors import ConfigError

if TYPE_CHECKING:
    import trustme

_lock = threading.Lock()
_cached: dict[tuple[str, str], tuple["trustme.LeafCert", str]] = {}
INSTALL_HINT = "pip install 'sentinel-packer[emulator]'"


def _trustme():
    try:
        import trustme
    except ImportError:
        raise ConfigError(f"the emulator needs the optional 'emulator' extra (trustme): {INSTALL_HINT}") from None
    return trustme


def _ca_in(directory: Path) -> "trustme.CA":
    """The CA kept in directory (created on first use), so clients trust it across restarts."""
    trustme = _trustme()
    cert, key = directory / "emulator-ca.pem", directory / "emulator-ca.key"
    if cert.exists() and key.exists():
        return trustme.CA.from_pem(cert.read_bytes(), key.read_bytes())
    ca = trustme.CA(key_type=trustme.KeyType.ECDSA)
    directory.mkdir(parents=True, exist_ok=True)
    key.touch(mode=0o600)
    ca.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(cert))
    return ca


def server_tls(host: str, directory: Path | None = None) -> tuple[ssl.SSLContext, str]:
    """(server SSL context, path of the CA PEM). Without a directory: one CA per process, in a temp dir."""
    with _lock:
        cache_key = (str(directory or ""), host)
        if cache_key not in _cached:
            target = directory or Path(tempfile.mkdtemp(prefix="sentinel-packer-emulator-"))
            ca = _ca_in(target)
            trustme = _trustme()
            names = sorted({"127.0.0.1", "localhost", "::1", host})
            _cached[cache_key] = (ca.issue_cert(*names, key_type=trustme.KeyType.ECDSA),
                                  str(target / "emulator-ca.pem"))
        leaf, ca_path = _cached[cache_key]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return context, ca_path
