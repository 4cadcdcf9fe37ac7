"""A V8 startup snapshot of the KQL worker: Kusto.Language loaded and initialised, saved once
per machine, so a worker starts in about 0.2 s and 60 MB less memory instead of about 1.2 s.

`node --snapshot-blob B --build-snapshot worker.js` writes it (worker.js loads the package and
warms Kusto.Language's tables up first); `node --snapshot-blob B` starts a worker from it. V8
refuses a snapshot made by another Node.js binary or with other V8 flags, so the file name is
a digest of the Node.js binary, the flags, the worker script and the installed package: an
upgrade of any of them makes a new snapshot, never a wrong one. Files live in the user cache
folder (`$XDG_CACHE_HOME/sentinel-packer/kql/snapshots`), next to what `kql install` installs,
or in the folder $SENTINEL_PACKER_KQL_SNAPSHOT names (the GitHub action keeps one between jobs).

`kql install` builds the snapshot; otherwise the first run that starts a worker without one
builds it after it finishes, in a detached low-priority process, so the run itself never waits
for it. A snapshot Node.js cannot start from is deleted and the worker started from the script.
$SENTINEL_PACKER_KQL_SNAPSHOT=off turns all of this off.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from packer.kql.cache import OFF, digest
from packer.kql.install import NODE_MODULES_ENV, PACKAGE, user_cache_dir

SNAPSHOT_ENV = "SENTINEL_PACKER_KQL_SNAPSHOT"
BUILD_TIMEOUT = 120  # seconds; a build takes about 3 s of CPU
STALE_LOCK = 300  # seconds after which a build lock left by a killed builder is ignored
KEEP = 3  # snapshots kept (about 23 MB each): the newest, for Node.js versions used in turn


def snapshot_folder() -> Path | None:
    """$SENTINEL_PACKER_KQL_SNAPSHOT: unset for the user cache folder, a folder, or `off` (None)."""
    configured = os.environ.get(SNAPSHOT_ENV, "").strip()
    if configured.lower() in OFF:
        return None
    return Path(configured) if configured else user_cache_dir() / "snapshots"


def snapshot_path(node: str, flags: Sequence[str], worker: Path, node_modules: Path) -> Path | None:
    """Where the snapshot for this Node.js binary, flags, worker and package lives (it may not
    exist yet); None when snapshots are off or an input cannot be read."""
    folder = snapshot_folder()
    if folder is None:
        return None
    try:
        binary = Path(node).resolve().stat()
        inputs = (worker.read_text(encoding="utf-8"), (node_modules / PACKAGE / "package.json").read_text(encoding="utf-8"))
    except OSError:
        return None
    key = digest(str(Path(node).resolve()), str(binary.st_size), str(binary.st_mtime_ns), platform.machine(),
                 *flags, *inputs)
    return folder / f"worker-{key[:24]}.blob"


def build(node: str, flags: Sequence[str], worker: Path, node_modules: Path, blob: Path) -> bool:
    """Write the snapshot to `blob` (through a temporary file and a rename, so a reader never
    sees half of one); False when Node.js could not build it."""
    partial = blob.with_name(f"{blob.name}.{os.getpid()}.tmp")
    env = dict(os.environ, **{NODE_MODULES_ENV: str(node_modules)})
    try:
        blob.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([node, *flags, "--snapshot-blob", str(partial), "--build-snapshot", str(worker)],
                              env=env, capture_output=True, timeout=BUILD_TIMEOUT)
        if done.returncode != 0 or not partial.is_file():
            return False
        os.replace(partial, blob)
        _keep_newest(blob.parent)
        return True
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()


def _keep_newest(folder: Path) -> None:
    """Snapshots of replaced Node.js binaries or packages are never read again: keep KEEP."""
    with contextlib.suppress(OSError):
        blobs = sorted(folder.glob("worker-*.blob"), key=lambda path: path.stat().st_mtime, reverse=True)
        for old in blobs[KEEP:]:
            old.unlink()


def discard(blob: Path) -> None:
    """Forget a snapshot Node.js refused to start from (it is rebuilt after the run)."""
    with contextlib.suppress(OSError):
        blob.unlink()


_scheduled: set[Path] = set()


def build_after_exit(node: str, flags: Sequence[str], worker: Path, node_modules: Path, blob: Path) -> None:
    """Build the snapshot once this process exits, in a detached process (at most one per file)."""
    if blob in _scheduled:
        return
    _scheduled.add(blob)
    atexit.register(_spawn_builder, node, tuple(flags), worker, node_modules, blob)


def _spawn_builder(node: str, flags: tuple[str, ...], worker: Path, node_modules: Path, blob: Path) -> None:
    if blob.is_file():
        return
    command = [sys.executable, "-m", "packer.kql.snapshot", node, str(worker), str(node_modules), str(blob), *flags]
    with contextlib.suppress(OSError):
        subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, cwd=str(Path(__file__).resolve().parents[2]))


def _build_detached(argv: list[str]) -> int:
    """The detached builder: one at a time per file (a lock file), at low priority."""
    node, worker, node_modules, blob, *flags = argv
    blob_path = Path(blob)
    lock = blob_path.with_name(blob_path.name + ".lock")
    with contextlib.suppress(OSError):
        blob_path.parent.mkdir(parents=True, exist_ok=True)
        if time.time() - lock.stat().st_mtime > STALE_LOCK:
            lock.unlink()
    try:
        os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except OSError:
        return 0  # another builder is at it
    try:
        with contextlib.suppress(OSError, AttributeError):
            os.nice(10)
        if not blob_path.is_file():
            build(node, flags, Path(worker), Path(node_modules), blob_path)
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(_build_detached(sys.argv[1:]))
