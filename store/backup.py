"""A consistent copy of the gallery file with SQLite's online backup API — safe while the bot runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from store.gallery_file import GalleryDiskFull, connect_read_only, inspect_gallery, write_fault


class BackupFailed(ValueError):
    """The copy could not be made; nothing was left under the target's name (nor a partial file)."""


def _backup(source: Path, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    _remove(partial)
    try:
        _copy(source, partial)
        os.replace(partial, target)  # the target appears whole or not at all
    except BaseException as exc:
        _remove(partial)
        if isinstance(exc, (sqlite3.Error, OSError)):
            raise BackupFailed(_why(target, exc)) from None
        raise


def _copy(source: Path, partial: Path) -> None:
    """Copy `source` page by page into `partial` (made here), then check the copy."""
    file = inspect_gallery(source)
    address = connect_read_only(source) if file.read_only else f"file:{source}?mode=ro"
    src = sqlite3.connect(address, uri=True)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst, pages=1024)
            ok = dst.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        finally:
            dst.close()
    finally:
        src.close()
    if not ok:
        raise BackupFailed("the copy failed its integrity check")


def _why(target: Path, error: BaseException) -> str:
    """One line on why a copy to `target` failed: the target's disk full or read-only, or the error."""
    fault = write_fault(target, error)
    if isinstance(fault, GalleryDiskFull):
        return f"no space left on the disk of {target}: no backup was written"
    if fault is not None:
        return f"{target.parent} is read-only: no backup was written"
    return f"{error}: no backup was written"


def _remove(partial: Path) -> None:
    for leftover in (partial, partial.with_name(partial.name + "-journal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


async def backup_database(source: Path, target: Path) -> None:
    """Copy `source` to `target` page by page (other writers may go on meanwhile), then check the copy.
    A source that is not a usable gallery → `GalleryUnusable`; a failed copy → `BackupFailed`."""
    if target.resolve() == source.resolve():
        raise ValueError("the backup must go to another file")
    target.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(_backup, source, target)


# Dated copies in a folder, the newest N kept (`lookalike backup --keep N FOLDER`, the daily timer's job)

DATED_COPY = re.compile(r"^gallery-\d{8}T\d{6}\.\d{6}Z\.sqlite$")


def dated_copy_name(now: datetime) -> str:
    """`gallery-20261203T095000.123456Z.sqlite`: names sort as their times do (UTC, fixed width)."""
    return f"gallery-{now.astimezone(UTC):%Y%m%dT%H%M%S.%f}Z.sqlite"


def dated_copies(folder: Path) -> list[Path]:
    """The dated copies in `folder`, oldest first; any other file there is none of ours."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if DATED_COPY.match(p.name) and p.is_file())


async def backup_keeping(
    source: Path, folder: Path, keep: int, now: datetime | None = None
) -> tuple[Path, list[Path]]:
    """Copy `source` into `folder` as a dated copy, then delete all but the newest `keep` dated copies.

    Returns (the new copy, the copies deleted). Nothing is deleted unless the new copy is whole and
    passed its check (a failed backup raises and leaves the older ones alone)."""
    if keep < 1:
        raise ValueError("keep at least one copy")
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    target = folder / dated_copy_name(now or datetime.now(UTC))
    await backup_database(source, target)
    copies = dated_copies(folder)
    old = copies[: max(0, len(copies) - keep)]
    for path in old:
        path.unlink(missing_ok=True)
    return target, old
