"""The gallery's disk misbehaving: foreign or broken files, a full disk, a read-only disk, a backup that
does not fit — real files on a real small tmpfs (mounted here: these tests run as root), the real CLI.

The bot's side of the same faults is in tests/test_disk_faults_bot.py.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.faces import FaceModels
from store.calibrate import refit
from store.gallery import Gallery
from store.gallery_file import GalleryDiskFull, GalleryReadOnly, GalleryUnusable
from store.schema import MIGRATIONS
from tests.disk import (
    NEW_PHOTO,
    Ext4,
    Tmpfs,
    beside,
    counts,
    digest,
    make_gallery,
    mount_tmpfs,
    mounted_ext4,
    real_faces,
    unmount,
)
from tests.paths import REPO, face
from tests.wikimedia import WikimediaStandIn, korean_gallery

FULL = "no space left on the gallery's disk: nothing was changed"
READ_ONLY = "the gallery is read-only"


# Fixtures: a tmpfs mounted for one test, real faces


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Tmpfs]:
    mounted = mount_tmpfs(tmp_path / "disk")
    try:
        yield mounted
    finally:
        unmount(mounted.root)


@pytest.fixture(scope="module")
def faces(models: FaceModels) -> dict[str, object]:
    return real_faces(models)


def lookalike(
    *args: str, db: Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real command on `db`, never the user's own gallery (`env`: more settings)."""
    own = {k: v for k, v in os.environ.items() if not k.startswith(("LOOKALIKE_", "WIKI", "COMMONS"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**own, **(env or {}), "PYTHONPATH": str(REPO)},
        cwd=cwd,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


# Foreign or broken files: refused at once, left byte for byte as they were


def _random_bytes(db: Path, faces: dict) -> str:
    db.write_bytes(os.urandom(40_000))
    return "not a SQLite database"


def _empty(db: Path, faces: dict) -> str:
    db.write_bytes(b"")
    return "empty"


def _truncated(db: Path, faces: dict) -> str:
    whole = db.with_name("whole.sqlite")
    make_gallery(whole, faces)
    data = whole.read_bytes()
    db.write_bytes(data[: len(data) // 2])
    return "cut short"


def _other_application(db: Path, faces: dict) -> str:
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        con.execute("INSERT INTO invoices (total) VALUES (12.5)")
    return "another application's SQLite database (tables: invoices)"


def _newer_gallery(db: Path, faces: dict) -> str:
    make_gallery(db, faces)
    with sqlite3.connect(db) as con:
        con.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    return "written by a newer lookalike"


BROKEN = {
    "random bytes": _random_bytes,
    "empty file": _empty,
    "truncated copy": _truncated,
    "another application's database": _other_application,
    "newer gallery": _newer_gallery,
}


@pytest.mark.parametrize("kind", BROKEN)
def test_a_foreign_or_broken_file_is_refused_in_one_line_and_left_byte_for_byte(
    kind: str, tmp_path: Path, faces: dict
) -> None:
    db = tmp_path / "their.sqlite"
    why = BROKEN[kind](db, faces)
    before, around = digest(db), beside(db)
    for command in (
        ["list"],
        ["credits"],
        ["add", "Someone", str(face(NEW_PHOTO))],
        ["backup", "copy.sqlite"],
    ):
        result = lookalike(*command, db=db, cwd=tmp_path)
        assert result.returncode == 1, (command, result.stderr)
        line = one_line(result.stderr)
        assert str(db) in line and why in line and "unexpected" not in line, (command, line)
        assert digest(db) == before and beside(db) == around, command  # no migration, no -wal/-shm
    assert not (tmp_path / "copy.sqlite").exists()


def test_opening_a_foreign_file_in_the_store_raises_gallery_unusable_and_writes_nothing(
    tmp_path: Path,
) -> None:
    db = tmp_path / "their.sqlite"
    _other_application(db, {})
    before = digest(db)
    with pytest.raises(GalleryUnusable) as refused:
        asyncio.run(Gallery.open(db))
    assert refused.value.path == str(db) and "invoices" in refused.value.reason
    assert digest(db) == before and beside(db) == set()


def test_a_sqlite_file_without_tables_becomes_a_gallery(tmp_path: Path) -> None:
    """A database with nothing in it yet (as `sqlite3 FILE` leaves one) is nobody else's: it is used."""
    db = tmp_path / "new.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE scratch (x)")
        con.execute("DROP TABLE scratch")

    async def open_it() -> int:
        gallery = await Gallery.open(db)
        await gallery.close()
        return gallery.photo_count

    assert asyncio.run(open_it()) == 0
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


# A full disk


def test_on_a_full_disk_every_cli_change_fails_in_one_line_and_nothing_is_half_written(
    disk: Tmpfs, tmp_path: Path, faces: dict
) -> None:
    db = disk.root / "gallery.sqlite"
    make_gallery(db, faces)
    folder = tmp_path / "import" / "Kit Harington"
    folder.mkdir(parents=True)
    (folder / "kit.jpeg").write_bytes(face(NEW_PHOTO).read_bytes())
    before = counts(db)
    assert before[0] == "ok" and before[1:3] == (3, 3)
    disk.fill()
    for command in (
        ["add", "Kit Harington", str(face(NEW_PHOTO))],
        ["import", str(tmp_path / "import")],
        ["rename", "Joe Biden", "Joseph Biden"],
        ["audit", "--drop", "1"],
    ):
        result = lookalike(*command, db=db, cwd=tmp_path)
        assert result.returncode == 1, (command, result.stderr)
        assert FULL in one_line(result.stderr), command
        assert counts(db) == before, command
    # reading goes on: the gallery was closed cleanly, so SQLite's -shm must be made, and cannot be
    listed = lookalike("list", db=db, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "Joe Biden\t1" in listed.stdout
    matched = lookalike("match", str(face("barack_obama/test_obama1.jpg")), "--json", db=db, cwd=tmp_path)
    assert matched.returncode == 0 and "Barack Obama" in matched.stdout.splitlines()[0], matched.stderr
    disk.free()
    added = lookalike("add", "Kit Harington", str(face(NEW_PHOTO)), db=db, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert counts(db)[1:3] == (4, 4)


def test_a_full_disk_refuses_a_change_whole_and_the_next_one_works_once_there_is_room(
    disk: Tmpfs, faces: dict
) -> None:
    db = disk.root / "gallery.sqlite"
    make_gallery(db, faces)

    async def scenario() -> None:
        gallery = await Gallery.open(db)
        try:
            stored = await gallery.value("calibration")
            disk.fill()
            new = faces[NEW_PHOTO]
            with pytest.raises(GalleryDiskFull) as full:
                await gallery.add_face("Kit Harington", new, "a" * 64)
            assert str(full.value).startswith(FULL)
            with pytest.raises(GalleryDiskFull):
                await refit(gallery)  # the calibration refit: the stored fit stays, and stays in use
            assert await gallery.value("calibration") == stored
            assert (gallery.photo_count, gallery.celebrity_count) == (3, 3)
            assert await gallery.find("Kit Harington") is None
            disk.free()
            added = await gallery.add_face("Kit Harington", new, "a" * 64)  # the same connection
            assert added.status == "added" and gallery.photo_count == 4
            await refit(gallery)
            assert await gallery.integrity_ok()
        finally:
            await gallery.close()

    asyncio.run(scenario())
    assert counts(db)[:3] == ("ok", 4, 4)


def test_a_wikidata_build_onto_a_full_disk_fails_in_one_line_and_changes_nothing(
    disk: Tmpfs, tmp_path: Path, faces: dict
) -> None:
    db = disk.root / "gallery.sqlite"
    make_gallery(db, faces)
    before = counts(db)
    disk.fill()
    with WikimediaStandIn() as server:
        wm = korean_gallery(server)
        settings = {**wm.env, "WIKIMEDIA_TIMEOUT": "1", "WIKIMEDIA_BACKOFF": "0.05"}
        result = lookalike("wikidata", "Q76", "--photos", "1", db=db, cwd=tmp_path, env=settings)
    assert result.returncode == 1, result.stderr
    assert FULL in result.stderr.strip().splitlines()[-1]  # after tqdm's progress bar, if any
    assert counts(db) == before


# A read-only disk


def test_on_a_read_only_disk_reads_work_and_every_change_says_read_only(
    disk: Tmpfs, tmp_path: Path, faces: dict
) -> None:
    db = disk.root / "gallery.sqlite"
    make_gallery(db, faces)
    folder = tmp_path / "import" / "Kit Harington"
    folder.mkdir(parents=True)
    (folder / "kit.jpeg").write_bytes(face(NEW_PHOTO).read_bytes())
    disk.read_only()
    for command in (
        ["list"],
        ["credits"],
        ["audit"],
        ["match", str(face("joe_biden/biden.jpg")), "--json"],
        ["export", str(tmp_path / "projector")],
        ["backup", str(tmp_path / "copy.sqlite")],
    ):
        result = lookalike(*command, db=db, cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr)
    assert "Joe Biden" in lookalike("list", db=db, cwd=tmp_path).stdout
    assert counts(tmp_path / "copy.sqlite")[1:3] == (3, 3)
    for command in (
        ["add", "Kit Harington", str(face(NEW_PHOTO))],
        ["import", str(tmp_path / "import")],
        ["remove", "Joe Biden"],
        ["rename", "Joe Biden", "Joseph Biden"],
        ["alias", "Joe Biden", "조 바이든"],
        ["audit", "--keep", "1"],
        ["audit", "--distinct", "Joe Biden", "Barack Obama"],
    ):
        result = lookalike(*command, db=db, cwd=tmp_path)
        assert result.returncode == 1, (command, result.stderr)
        assert READ_ONLY in one_line(result.stderr), command


def test_a_read_only_gallery_opens_for_reading_and_refuses_changes_in_the_store(
    disk: Tmpfs, faces: dict
) -> None:
    db = disk.root / "gallery.sqlite"
    make_gallery(db, faces)
    disk.read_only()

    async def scenario() -> None:
        gallery = await Gallery.open(db)
        try:
            assert gallery.read_only and gallery.photo_count == 3
            assert gallery.rank(faces["joe_biden/biden.jpg"].embedding, 1)[0].name == "Joe Biden"
            with pytest.raises(GalleryReadOnly):
                await gallery.rename("Joe Biden", "Joseph Biden")
        finally:
            await gallery.close()

    asyncio.run(scenario())


def test_a_disk_the_kernel_turns_read_only_under_an_open_gallery_says_read_only_and_reads_go_on(
    tmp_path: Path, faces: dict
) -> None:
    """ext4's errors=remount-ro under open files: statvfs still says read-write, SQLite says only "disk
    I/O error"; the store, and then the CLI, must still say read-only (tests/disk.py: Ext4)."""
    with mounted_ext4(tmp_path / "ext4", tmp_path / "ext4.img") as failing:
        db = failing.root / "gallery.sqlite"
        make_gallery(db, faces)
        before = counts(db)

        async def scenario(disk: Ext4) -> None:
            gallery = await Gallery.open(db)
            try:
                disk.fail()
                with pytest.raises(GalleryReadOnly) as refused:
                    await gallery.add_face("Kit Harington", faces[NEW_PHOTO], "a" * 64)
                assert str(refused.value).startswith(READ_ONLY)
                assert gallery.photo_count == 3 and await gallery.find("Kit Harington") is None
                assert gallery.rank(faces["joe_biden/biden.jpg"].embedding, 1)[0].name == "Joe Biden"
            finally:
                await gallery.close()

        asyncio.run(scenario(failing))
        listed = lookalike("list", db=db, cwd=tmp_path)
        assert listed.returncode == 0 and "Joe Biden\t1" in listed.stdout, listed.stderr
        added = lookalike("add", "Kit Harington", str(face(NEW_PHOTO)), db=db, cwd=tmp_path)
        assert added.returncode == 1 and READ_ONLY in one_line(added.stderr), added.stderr
        assert counts(db) == before


# Backups


def test_a_backup_onto_a_full_disk_fails_in_one_line_and_leaves_no_file(
    disk: Tmpfs, tmp_path: Path, faces: dict
) -> None:
    db = tmp_path / "gallery.sqlite"
    make_gallery(db, faces)
    disk.fill()
    target = disk.root / "backup.sqlite"
    result = lookalike("backup", str(target), db=db, cwd=tmp_path)
    assert result.returncode == 1
    assert "no space left" in one_line(result.stderr) and "no backup was written" in result.stderr
    assert sorted(p.name for p in disk.root.iterdir()) == ["filler"]  # no partial file, no journal
    disk.free()
    assert lookalike("backup", str(target), db=db, cwd=tmp_path).returncode == 0
    assert counts(target)[:3] == ("ok", 3, 3)
