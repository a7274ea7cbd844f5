"""What a gallery file is, decided before anything is written to it, and the disk's faults as typed errors.

`inspect_gallery(path)` reads the file without changing it (its header bytes, then SQLite opened read-only
and immutable: no lock, no -wal or -shm made) and says whether it is absent, a lookalike gallery this
version can open (and at which schema version), or something else: random bytes, an empty file, a
truncated copy, another application's SQLite database, or a gallery of a newer lookalike
(`GalleryUnusable`, one line naming the file and what is wrong). `Gallery.open` goes through it.

`connect_read_only(path)` opens a gallery that cannot be written (a read-only filesystem, or a full disk
where SQLite cannot make the -shm file a WAL reader needs): immutable when there is no write-ahead log to
read, else read-only through the existing -wal/-shm files.

`write_fault(path, error)` turns what SQLite or the OS raised while writing into `GalleryDiskFull` or
`GalleryReadOnly` when the disk is the cause (None otherwise), so that every write path says the same
one line.
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from store.schema import MIGRATIONS

SQLITE_HEADER = b"SQLite format 3\x00"
HEADER_SIZE = 100  # bytes of the database header
# Primary result codes (the low byte of an extended one): https://sqlite.org/rescode.html
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
FULL_BELOW = 64 * 1024  # bytes free under which a disk counts as full (see filesystem_full)


class GalleryFault(Exception):
    """The gallery file cannot be used as asked; `str(error)` is the one line to show."""

    def __init__(self, path: str | Path, message: str) -> None:
        super().__init__(message)
        self.path = str(path)


class GalleryUnusable(GalleryFault):
    """The file is not a gallery this lookalike can open (it was left as it was)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(path, f"{path} is not a usable lookalike gallery: {reason}")
        self.reason = reason


class GalleryReadOnly(GalleryFault):
    """A change was asked of a gallery that cannot be written (a read-only filesystem or file)."""

    def __init__(self, path: str | Path, detail: str = "nothing was changed") -> None:
        super().__init__(path, f"the gallery is read-only: {detail} ({path})")


class GalleryDiskFull(GalleryFault):
    """A change did not fit on the gallery's disk; it was rolled back whole."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, f"no space left on the gallery's disk: nothing was changed ({path})")


@dataclass(frozen=True)
class GalleryFile:
    """What `inspect_gallery` found: whether the file exists, its schema version, and whether its
    filesystem (or the file itself) can be written."""

    path: Path
    exists: bool
    version: int
    read_only: bool


def inspect_gallery(path: Path) -> GalleryFile:
    """Decide what `path` is without writing to it; `GalleryUnusable` for anything but a gallery of
    this version or older (or no file at all, or a SQLite database with no tables yet). A symbolic link
    is followed, as SQLite does: the -wal/-shm files live beside the file it points to."""
    read_only = _read_only(path.resolve())
    if not path.exists():
        return GalleryFile(path, False, 0, read_only)
    if path.is_dir():
        raise GalleryUnusable(path, "it is a folder")
    header = _read_header(path)
    size = path.stat().st_size
    log_in_use = _has_log(path.resolve())
    if size == 0 and not log_in_use:
        raise GalleryUnusable(path, "the file is empty (0 bytes)")
    if size:
        _check_header(path, header, size)
    version, tables = _schema_of(path, immutable=not log_in_use)
    _check_schema(path, version, tables)
    return GalleryFile(path, True, version, read_only)


def _read_header(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(HEADER_SIZE)
    except OSError as exc:
        raise GalleryUnusable(path, f"it cannot be read ({exc.strerror or exc})") from None


def _check_header(path: Path, header: bytes, size: int) -> None:
    """Random bytes and cut-short copies, told from the header alone (sqlite.org/fileformat2.html)."""
    if len(header) < HEADER_SIZE or not header.startswith(SQLITE_HEADER):
        raise GalleryUnusable(path, "it is not a SQLite database (random bytes or another kind of file)")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The page count is valid only when "version-valid-for" matches the change counter.
    if header[92:96] == header[24:28] and pages and size < page_size * pages:
        raise GalleryUnusable(
            path, f"the file is cut short ({size} of {page_size * pages} bytes): a truncated copy?"
        )


def _schema_of(path: Path, immutable: bool) -> tuple[int, set[str]]:
    """(user_version, table names), read through SQLite opened read-only (and immutable when no
    write-ahead log holds part of the file: then nothing at all is written, not even a -shm)."""
    try:
        connection = sqlite3.connect(_uri(path, immutable), uri=True)
    except sqlite3.Error as exc:
        raise GalleryUnusable(path, f"SQLite cannot open it ({exc})") from None
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.Error as exc:
        raise GalleryUnusable(path, f"SQLite cannot read it ({exc})") from None
    finally:
        connection.close()
    return int(version), {name for (name,) in rows}


def _check_schema(path: Path, version: int, tables: set[str]) -> None:
    if version > len(MIGRATIONS):
        raise GalleryUnusable(
            path,
            f"it was written by a newer lookalike (schema {version}; this one knows up to "
            f"{len(MIGRATIONS)}): upgrade lookalike to open it",
        )
    ours = tables_of(version)
    mine = {t for t in tables if not t.startswith("sqlite_")}
    if version == 0 and mine:
        shown = ", ".join(sorted(mine)[:5])
        raise GalleryUnusable(path, f"it is another application's SQLite database (tables: {shown})")
    if not ours <= tables:
        missing = ", ".join(sorted(ours - tables))
        raise GalleryUnusable(
            path, f"it is another application's SQLite database (user_version {version}, no {missing} table)"
        )


def tables_of(version: int) -> set[str]:
    """The tables the first `version` migrations create."""
    return {
        name
        for script in MIGRATIONS[:version]
        for name in re.findall(r"CREATE TABLE (\w+)", script, flags=re.IGNORECASE)
    }


def _has_log(path: Path) -> bool:
    """Whether a non-empty -wal file beside `path` holds part of the database."""
    wal = path.with_name(path.name + "-wal")
    try:
        return wal.stat().st_size > 0
    except OSError:
        return False


def _uri(path: Path, immutable: bool) -> str:
    flags = "mode=ro&immutable=1" if immutable else "mode=ro"
    return f"file:{quote(str(path.resolve()))}?{flags}"


def _read_only(path: Path) -> bool:
    """Whether the gallery cannot be written: its filesystem is mounted read-only, or the file (or, for
    a new one, its folder) is not writable. The -wal and -shm files need the folder writable too."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY or refuses_files(folder):
            return True
    except OSError:
        return False
    if path.exists() and not os.access(path, os.W_OK):
        return True
    return not os.access(folder, os.W_OK)


def filesystem_read_only(path: Path) -> bool:
    """Whether the filesystem holding `path` refuses writes now: mounted read-only, or turned read-only
    by the kernel under open files (see `refuses_files`)."""
    try:
        if os.statvfs(path.parent).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return refuses_files(path.parent)


def refuses_files(folder: Path) -> bool:
    """Whether the filesystem of `folder` refuses a new file as read-only (EROFS). This is how a disk the
    kernel made read-only after an error (ext4's errors=remount-ro, while the bot holds its files) shows:
    its mount flags, and so statvfs, still say read-write on Linux 6.18. Asked with an unnamed temporary
    file (O_TMPFILE): nothing named is made, and nothing is left."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag:
        return False
    try:
        descriptor = os.open(folder, flag | os.O_WRONLY, 0o600)
    except OSError as exc:
        return exc.errno == errno.EROFS
    os.close(descriptor)
    return False


def filesystem_full(path: Path) -> bool:
    """Whether the filesystem holding `path` has less room left than SQLite's smallest write-ahead
    index (32 KiB) plus a page or two: then an I/O error while writing is most likely the full disk."""
    try:
        stats = os.statvfs(path.parent)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < FULL_BELOW


def connect_read_only(path: Path) -> str:
    """The SQLite URI that reads `path` without writing anything: immutable when no write-ahead log
    holds part of it (SQLite then needs no -shm), else read-only through the existing -wal/-shm."""
    path = path.resolve()
    return _uri(path, immutable=not _has_log(path))


def write_fault(path: str | Path, error: BaseException) -> GalleryFault | None:
    """`GalleryDiskFull` / `GalleryReadOnly` when `error` (from SQLite or the OS, while writing) came
    from the disk being full or read-only; None for any other error."""
    target = Path(path)
    real = target.resolve()
    if isinstance(error, GalleryFault):
        return error
    if isinstance(error, OSError):
        if error.errno == errno.ENOSPC:
            return GalleryDiskFull(target)
        if error.errno == errno.EROFS:
            return GalleryReadOnly(target)
        return None
    if not isinstance(error, sqlite3.Error):
        return None
    code = (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF
    if code == SQLITE_FULL:
        return GalleryDiskFull(target)
    if code == SQLITE_READONLY:
        return GalleryReadOnly(target)
    if code in (SQLITE_IOERR, SQLITE_CANTOPEN):  # SQLite names the call that failed, not why: ask the disk
        if filesystem_read_only(real):
            return GalleryReadOnly(target)
        if filesystem_full(real):
            return GalleryDiskFull(target)
    return None
