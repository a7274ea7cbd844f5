"""A consistent copy of the gallery file with SQLite's online backup API — safe while the bot runs."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path


def _backup(source: Path, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
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
        partial.unlink(missing_ok=True)
        raise ValueError("the copy failed its integrity check")
    os.replace(partial, target)  # the target appears whole or not at all


async def backup_database(source: Path, target: Path) -> None:
    """Copy `source` to `target` page by page (other writers may go on meanwhile), then check the copy."""
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
