"""`lookalike backup --keep N FOLDER`: a dated, checked copy of the gallery in FOLDER, the newest N kept (what
the daily lookalike-backup.timer runs). Real subprocesses, real SQLite files."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store.backup import DATED_COPY, dated_copies, dated_copy_name
from store.gallery import Gallery
from tests.test_cli import lookalike


@pytest.fixture
def gallery(tmp_path: Path) -> Path:
    """A real (empty) gallery file, made by the store."""
    path = tmp_path / "gallery.sqlite"

    async def make() -> None:
        await (await Gallery.open(path)).close()

    asyncio.run(make())
    return path


def old_copies(folder: Path, source: Path, days: int) -> list[Path]:
    """`days` dated copies of `source` in `folder`, one a day, the last one yesterday; oldest first."""
    folder.mkdir(exist_ok=True)
    now = datetime.now(UTC)
    paths = []
    for day in range(days, 0, -1):
        path = folder / dated_copy_name(now - timedelta(days=day))
        path.write_bytes(source.read_bytes())
        paths.append(path)
    return paths


def test_dated_copy_names_sort_as_their_times() -> None:
    times = [datetime(2026, 12, 3, 9, 5, 7, 12, tzinfo=UTC), datetime(2026, 12, 3, 10, 0, tzinfo=UTC)]
    names = [dated_copy_name(t) for t in times]
    assert names == sorted(names) and all(DATED_COPY.match(n) for n in names)
    assert names[0] == "gallery-20261203T090507.000012Z.sqlite"


def test_keep_seven_writes_a_checked_copy_and_deletes_only_the_oldest_dated_copies(
    tmp_path: Path, gallery: Path
) -> None:
    folder = tmp_path / "backups"
    old = old_copies(folder, gallery, 8)
    others = [folder / "notes.txt", folder / "gallery.sqlite", folder / "gallery-manual.sqlite"]
    for path in others:
        path.write_text("not ours")
    result = lookalike("--db", str(gallery), "backup", "--keep", "7", str(folder), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "deleted 2 older copies (keeping the newest 7)" in result.stdout
    kept = dated_copies(folder)
    assert len(kept) == 7
    assert kept[:6] == old[2:]  # the two oldest went
    new = kept[-1]
    assert new not in old and f"to {new}" in result.stdout
    with sqlite3.connect(new) as copy:
        assert copy.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT count(*) FROM sqlite_master WHERE name = 'photo'").fetchone()[0] == 1
    assert all(p.read_text() == "not ours" for p in others)


def test_keep_creates_the_folder_and_deletes_nothing_while_there_are_fewer_copies(
    tmp_path: Path, gallery: Path
) -> None:
    folder = tmp_path / "new" / "backups"
    result = lookalike("--db", str(gallery), "backup", "--keep", "7", str(folder), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(dated_copies(folder)) == 1 and "deleted" not in result.stdout


def test_a_failed_backup_deletes_no_older_copy(tmp_path: Path, gallery: Path) -> None:
    folder = tmp_path / "backups"
    old = old_copies(folder, gallery, 7)
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"this is not a database" * 100)
    result = lookalike("--db", str(broken), "backup", "--keep", "3", str(folder), cwd=tmp_path)
    assert result.returncode == 1
    # One line naming the file and what is wrong with it (store.gallery_file refuses it before the copy).
    assert result.stderr.startswith(f"lookalike: {broken} is not a usable lookalike gallery: ")
    assert result.stderr.count("\n") == 1
    assert dated_copies(folder) == old


@pytest.mark.parametrize(
    ("arguments", "status", "message"),
    [
        (["--keep", "0"], 2, "must be at least 1"),
        (["--keep", "seven"], 2, "not a whole number"),
    ],
)
def test_keep_needs_a_positive_count(tmp_path: Path, gallery: Path, arguments, status, message) -> None:
    result = lookalike("--db", str(gallery), "backup", *arguments, str(tmp_path / "b"), cwd=tmp_path)
    assert result.returncode == status and message in result.stderr


def test_keep_into_a_file_says_it_needs_a_folder(tmp_path: Path, gallery: Path) -> None:
    file = tmp_path / "a-file"
    file.write_text("x")
    result = lookalike("--db", str(gallery), "backup", "--keep", "7", str(file), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == f"lookalike: backup failed: {file} is not a folder"
