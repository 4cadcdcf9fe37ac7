"""The Content Hub zip: both package files at the zip root, byte-identical for the same input."""
from __future__ import annotations

import io
import zipfile

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no build time leaks in
FILE_MODE = 0o100644 << 16


def package_zip(files: dict[str, bytes]) -> bytes:
    """A zip of `files` (name -> content), names sorted, forward slashes, fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name.replace("\\", "/"), date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = FILE_MODE
            archive.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()
