"""Safe unpacking of uploaded data folders (zip) and workbooks (xlsx) for validation.

Every upload is untrusted: size-limited, archive members checked for path traversal (absolute paths,
``..`` components, drive letters, symlinks), member count and total uncompressed size capped (zip bombs),
and only the canonical table files are taken.  Nothing here touches the database.
"""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path, PurePosixPath

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_MEMBERS = 64
TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet")


class UploadError(ValueError):
    """The upload itself is unusable (too large, not an archive, unsafe member names)."""


def _safe_member_name(name: str) -> PurePosixPath:
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UploadError(f"{name}: absolute or non-POSIX path in archive")
    path = PurePosixPath(name)
    if any(part == ".." for part in path.parts):
        raise UploadError(f"{name}: path traversal ('..') in archive")
    return path


def unpack_zip(payload: bytes, dest: Path) -> Path:
    """Extract the table files of a zip upload into ``dest`` (flat) and return ``dest``.

    Raises :class:`UploadError` for oversized, malformed or unsafe archives.  Directories inside the
    archive are allowed (a zipped folder); files are placed by base name, duplicates are an error.
    """
    if len(payload) > MAX_UPLOAD_BYTES:
        raise UploadError(f"upload: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
    except zipfile.BadZipFile as exc:
        raise UploadError(f"upload: not a valid zip archive ({exc})") from exc
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise UploadError(f"upload: more than {MAX_MEMBERS} members in archive")
    if sum(i.file_size for i in infos) > MAX_UNCOMPRESSED_BYTES:
        raise UploadError("upload: archive expands beyond the size limit")
    seen: set[str] = set()
    for info in infos:
        path = _safe_member_name(info.filename)
        if info.is_dir():
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UploadError(f"{info.filename}: symbolic links are not accepted")
        base = path.name
        if base.startswith(".") or path.parts[0] == "__MACOSX" or not base.lower().endswith(TABLE_SUFFIXES):
            continue
        if base in seen:
            raise UploadError(f"{info.filename}: two files named {base} in archive")
        seen.add(base)
        with archive.open(info) as src:
            data = src.read(MAX_UNCOMPRESSED_BYTES + 1)
        (dest / base).write_bytes(data)
    if not seen:
        raise UploadError("upload: no table files (.csv, .xlsx, .parquet) in archive")
    return dest
