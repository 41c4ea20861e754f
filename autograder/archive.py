"""Reproducible zip files: the same contents always give the same bytes."""

import io
import zipfile

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
