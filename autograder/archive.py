"""Reproducible zip files (the same contents always give the same bytes), and folders
replaced in one step."""

import ctypes
import io
import os
import zipfile
from pathlib import Path

FIXED_DATE = (2020, 1, 1, 0, 0, 0)


def zip_bytes(files: dict[str, bytes], executable: tuple[str, ...] = ()) -> bytes:
    """A zip of `files` with sorted names, a fixed timestamp and fixed permissions."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if name in executable else 0o644) << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


def swap_folders(a: Path, b: Path) -> None:
    """Exchange two folders in one step, where Linux offers it (renameat2, RENAME_EXCHANGE).

    Elsewhere, two renames: `b` is missing for a moment, but never lost.
    """
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        renameat2 = None
    at_fdcwd, rename_exchange = -100, 2
    if renameat2 is not None:
        if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
            return
    aside = a.with_name(a.name + ".old")
    b.rename(aside)
    a.rename(b)
    aside.rename(a)
