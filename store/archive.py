"""Unpack an admin's zip of gallery photos safely: nothing escapes the folder, bombs are stopped.

Guards: a cap on entries and on bytes written (counted while writing, not trusted from the headers),
a cap per file, no absolute or `..` paths, no links, no nested archives, no encrypted entries.
"""

from __future__ import annotations

import contextlib
import io
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from engine.images import MAX_FILE_BYTES
from store.curate import CREDITS_FILE, IMAGE_SUFFIXES, MAX_CREDITS_BYTES

MAX_ENTRIES = 2000
MAX_TOTAL_BYTES = 512 * 1024 * 1024
ARCHIVE_SUFFIXES = frozenset({".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar"})


class ArchiveError(ValueError):
    """The zip as a whole cannot be used (not a zip, too many entries, too large)."""


@dataclass
class Unpacked:
    """Which photos were written below `folder`, and which entries were skipped with a reason."""

    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def unpack_photos(data: bytes, folder: Path) -> Unpacked:
    """Write the zip's image files below `folder` (which must exist); skip everything else with a reason."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ArchiveError("not a zip file") from exc
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ENTRIES:
            raise ArchiveError(f"more than {MAX_ENTRIES} files")
        result = Unpacked()
        budget = MAX_TOTAL_BYTES
        root = folder.resolve()
        for member in members:
            if member.is_dir():
                continue
            reason = _refusal(member, root)
            if reason:
                result.skipped.append((member.filename, reason))
                continue
            target = root.joinpath(*PurePosixPath(member.filename).parts)
            try:
                written = _copy_capped(archive, member, target, min(budget, MAX_FILE_BYTES))
            except ArchiveError as exc:
                result.skipped.append((member.filename, str(exc)))
                continue
            budget -= written
            result.written.append(target)
            if budget <= 0:
                raise ArchiveError("the photos unpack to more than 512 MB")
        return result


def _refusal(member: zipfile.ZipInfo, root: Path) -> str | None:
    """Why an entry is skipped, or None if it is a plain image file inside the folder."""
    name = member.filename
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or ":" in name or not path.parts:
        return "unsafe path"
    if not root.joinpath(*path.parts).resolve().is_relative_to(root):
        return "unsafe path"
    if stat.S_ISLNK(member.external_attr >> 16):
        return "link"
    if member.flag_bits & 0x1:
        return "encrypted"
    if any(part.startswith(".") or part == "__MACOSX" for part in path.parts):
        return "hidden file"
    if path.as_posix() == CREDITS_FILE:  # the photos' credits, beside them at the top of the zip
        return "too large" if member.file_size > MAX_CREDITS_BYTES else None
    suffix = path.suffix.lower()
    if suffix in ARCHIVE_SUFFIXES:
        return "nested archive"
    if suffix not in IMAGE_SUFFIXES:
        return "not an image"
    if member.file_size > MAX_FILE_BYTES:
        return "too large"
    return None


def _copy_capped(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, cap: int) -> int:
    """Stream one entry to `target`, stopping past `cap` bytes (a header may lie about the size).

    Anything that goes wrong with one entry (a corrupt stream, a name too long for the file system) is
    that entry's refusal, never an error of the whole import.
    """
    written = 0
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(member) as source, target.open("wb") as out:
            while chunk := source.read(1024 * 1024):
                written += len(chunk)
                if written > cap:
                    raise ArchiveError("too large")
                out.write(chunk)
    except ArchiveError:
        _discard(target)
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
        _discard(target)
        raise ArchiveError("damaged") from exc
    return written


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):  # e.g. a name too long to have been created at all
        path.unlink(missing_ok=True)
