"""Real filesystems for the disk-fault tests: a small tmpfs (filled up, freed, remounted read-only) and
small real galleries on it. Mounting needs root (these machines and CI run as root): elsewhere the tests
that need it are skipped, with the reason."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.faces import Face, FaceModels
from store.calibrate import refit
from store.gallery import Gallery, content_hash
from tests.paths import face

PHOTOS = ("barack_obama/obama.jpg", "joe_biden/biden.jpg", "rose_leslie/rose_leslie_img1.jpg")
NEW_PHOTO = "kit_harington/kit_harington_john2.jpeg"


class Tmpfs:
    """A small tmpfs mounted at `root` for one test: fill it, free it, make it read-only."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.filler = root / "filler"

    def fill(self) -> None:
        """Write a filler file until the filesystem refuses another byte (unbuffered: no late flush)."""
        with self.filler.open("ab", buffering=0) as out:
            for chunk in (b"\0" * 4096, b"\0"):
                try:
                    while out.write(chunk):
                        pass
                except OSError:
                    pass

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def read_only(self) -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(self.root)], check=True)


def mount_tmpfs(root: Path, size: str = "2m") -> Tmpfs:
    """Mount a tmpfs of `size` at `root`; skip the test (with the reason) where mounting is not allowed."""
    root.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(root)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    return Tmpfs(root)


def unmount(root: Path) -> None:
    """Unmount, lazily if something still holds a file open (never left mounted)."""
    if subprocess.run(["umount", str(root)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(root)], check=False)


def make_gallery(db: Path, faces: dict[str, object]) -> None:
    """A closed gallery at `db` with one celebrity per photo of PHOTOS (calibration fitted and stored)."""

    async def build() -> None:
        gallery = await Gallery.open(db)
        try:
            for relative in PHOTOS:
                name = relative.split("/")[0].replace("_", " ").title()
                await gallery.add_face(name, faces[relative], content_hash(face(relative).read_bytes()))
            await refit(gallery)
        finally:
            await gallery.close()

    asyncio.run(build())


def counts(db: Path) -> tuple[str, int, int, str | None]:
    """(integrity check, celebrities, photos, stored calibration), read without writing to the file."""
    db = db.resolve()  # a link's -wal is beside the file it points to
    uri = f"file:{db}?mode=ro&immutable=1" if not _has_log(db) else f"file:{db}?mode=ro"
    with sqlite3.connect(uri, uri=True) as con:
        return (
            con.execute("PRAGMA integrity_check").fetchone()[0],
            con.execute("SELECT COUNT(*) FROM celebrity").fetchone()[0],
            con.execute("SELECT COUNT(*) FROM photo").fetchone()[0],
            con.execute("SELECT value FROM gallery_value WHERE key = 'calibration'").fetchone()[0],
        )


def game_rows(db: Path) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """The stored rounds (chat, celebrity), entries (chat, player, similarity) and winners (chat, player,
    wins), read without writing to the file."""
    db = db.resolve()
    uri = f"file:{db}?mode=ro&immutable=1" if not _has_log(db) else f"file:{db}?mode=ro"
    with sqlite3.connect(uri, uri=True) as con:
        return (
            con.execute("SELECT chat_id, celebrity FROM game_round ORDER BY chat_id").fetchall(),
            con.execute("SELECT chat_id, player, similarity FROM game_entry ORDER BY chat_id").fetchall(),
            con.execute("SELECT chat_id, player, wins FROM game_winner ORDER BY chat_id").fetchall(),
        )


def _has_log(db: Path) -> bool:
    wal = db.with_name(db.name + "-wal")
    return wal.exists() and wal.stat().st_size > 0


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def beside(db: Path) -> set[str]:
    """The files SQLite may leave next to a database."""
    return {p.name for p in db.parent.iterdir() if p.name.startswith(db.name + "-")}


@contextlib.contextmanager
def mounted_tmpfs(root: Path, size: str = "2m") -> Iterator[Tmpfs]:
    """A tmpfs at `root` for the length of the block, unmounted however the block ends."""
    disk = mount_tmpfs(root, size)
    try:
        yield disk
    finally:
        unmount(root)


def real_faces(models: FaceModels) -> dict[str, Face]:
    """The largest face of each test photo (PHOTOS and NEW_PHOTO), through the real models."""
    return {p: models.analyze(face(p)).faces[0] for p in (*PHOTOS, NEW_PHOTO)}
