"""A consistent copy of the gallery file with SQLite's online backup API — safe while the bot runs."""

from __future__ import annotations

import asyncio
import os
import sqlite3
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
