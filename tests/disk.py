"""Real filesystems for the disk-fault tests: a small tmpfs (filled up, freed, remounted read-only), a
small ext4 on a loop device that the kernel turns read-only under a running bot, and small real
galleries on them. Mounting needs root (these machines and CI run as root): elsewhere the tests that need
it are skipped, with the reason."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
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


class Ext4:
    """A small ext4 in an image file, mounted on a loop device with `errors=remount-ro`.

    A filesystem cannot be remounted read-only while a process holds a file on it open for writing
    (`mount -o remount,ro` says "mount point is busy"), and a running bot always holds its gallery, -wal
    and -shm so. What does turn a disk read-only under a running program is the kernel itself, when the
    filesystem meets an error: `fail()` raises one (ext4's sysfs trigger_fs_error), as a failing disk
    would. It stays read-only until unmounted and checked (no `remount,rw`)."""

    def __init__(self, root: Path, device: str) -> None:
        self.root = root
        self.device = device  # e.g. loop3

    def fail(self) -> None:
        trigger = Path("/sys/fs/ext4") / self.device / "trigger_fs_error"
        trigger.write_text("lookalike test: the gallery's disk fails\n")


@contextlib.contextmanager
def mounted_ext4(root: Path, image: Path, size: str = "16M") -> Iterator[Ext4]:
    """An ext4 of `size` in `image`, mounted at `root` (errors=remount-ro) for the length of the block;
    the test is skipped, with the reason, where that cannot be done (no root, no loop devices, no mkfs)."""
    if shutil.which("mkfs.ext4") is None:
        pytest.skip("no mkfs.ext4 here (e2fsprogs)")
    subprocess.run(["truncate", "-s", size, str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True)
    root.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-o", "loop,errors=remount-ro", str(image), str(root)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount an ext4 image here (needs root and a loop device): {done.stderr.strip()}")
    try:
        source = subprocess.run(
            ["findmnt", "-no", "SOURCE", str(root)], capture_output=True, text=True, check=True
        ).stdout.strip()
        device = Path(source).name
        if not (Path("/sys/fs/ext4") / device / "trigger_fs_error").exists():
            pytest.skip("this kernel has no ext4 trigger_fs_error")
        yield Ext4(root, device)
    finally:
        unmount(root)


def real_faces(models: FaceModels) -> dict[str, Face]:
    """The largest face of each test photo (PHOTOS and NEW_PHOTO), through the real models."""
    return {p: models.analyze(face(p)).faces[0] for p in (*PHOTOS, NEW_PHOTO)}
