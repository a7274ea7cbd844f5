"""A consistent copy of the gallery file with SQLite's online backup API — safe while the bot runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
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
