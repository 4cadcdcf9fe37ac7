"""Read content only from regular files inside the content root.

A repository is untrusted input (the pull-request workflow builds forks' PRs and uploads the
package), so a content file or workbook JSON is read only when
- its real path (links resolved) is inside the content root: a link to a runner file, or a
  `templateRelativePath: ../../x`, would otherwise copy that file into the package;
- it is a regular file: a FIFO blocks `open()` forever, a device (/dev/zero) never ends;
- its size is within the limit, checked before reading, and the read itself is bounded
  (a file that grows while read is still cut off).
Every refusal is a ContentError naming the file (line 1), never a hang or a traceback.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from packer.errors import ContentError

MAX_FILE_BYTES = 1_000_000

_SPECIAL = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
            (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


def read_bytes(path: Path, root: Path | None = None, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of `path`; ContentError unless it is a regular file of at most `limit` bytes
    whose real path is inside `root` (no containment check when `root` is None)."""
    real = real_path(path)
    if root is not None and not is_inside(real, root):
        how = "is a link to" if os.path.islink(path) else "leads to"
        raise _refused(path, f"{how} {real}, outside the content folder {root}; content is read only "
                             "from files inside it (copy the file in instead of linking it)")
    try:
        info = os.stat(real)
    except OSError as exc:
        raise _refused(path, f"cannot read file: {exc.strerror or exc}") from None
    _check_regular(path, info, limit)
    try:
        with _open(real) as handle:
            _check_regular(path, os.fstat(handle.fileno()), limit)
            data = handle.read(limit + 1)
    except OSError as exc:
        raise _refused(path, f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise _too_large(path, len(data), limit)
    return data


def _open(real: Path) -> BinaryIO:
    # O_NONBLOCK: should a FIFO replace the file after the check, open() must not wait for a writer
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOCTTY", 0)
    return os.fdopen(os.open(real, flags), "rb")


def real_path(path: Path) -> Path:
    """`path` with every link resolved; ContentError for a link loop or a missing target."""
    try:
        return Path(os.path.realpath(path, strict=True))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refused(path, "is a symlink loop (the link points back to itself); remove or fix it") from None
        if os.path.islink(path):
            raise _refused(path, f"is a broken link (its target {os.readlink(path)} does not exist)") from None
        raise _refused(path, f"cannot read file: {exc.strerror or exc}") from None


def is_inside(real: Path, root: Path) -> bool:
    try:
        return real.is_relative_to(os.path.realpath(root))
    except (OSError, ValueError):
        return False


def safe_resolve(path: Path) -> Path:
    """Like Path.resolve(), but a link loop gives the absolute path instead of RuntimeError."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _check_regular(path: Path, info: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        what = next((name for test, name in _SPECIAL if test(info.st_mode)), "a special file")
        raise _refused(path, f"is not a regular file ({what}); content files must be regular files, "
                             "so it was not opened")
    if info.st_size > limit:
        raise _too_large(path, info.st_size, limit)


def _too_large(path: Path, size: int, limit: int) -> ContentError:
    more = "more than " if size == limit + 1 else ""
    return _refused(path, f"file is {more}{size:,} bytes; content files are limited to {limit:,}")


def _refused(path: Path, message: str) -> ContentError:
    return ContentError(path, 1, 1, "", message)
