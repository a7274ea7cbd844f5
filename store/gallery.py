"""The celebrity gallery: one SQLite file (through aiosqlite) and its in-memory `FaceIndex`.

Celebrities have unique names (case-insensitive, any script) and several photos each. A photo row keeps
its content hash (no duplicates), its embedding as a float32 BLOB, a JPEG face thumbnail for collages and
where it came from. The index is loaded once at open and kept current on every add and remove.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
import numpy as np

from engine.faces import Face
from engine.ranking import DIM, FaceIndex, similarity
from store.names import clean_name, name_key
from store.schema import migrate

LOAD_CHUNK = 8192  # rows per fetch when loading the index: 4 MB of embeddings at a time


class GalleryError(Exception):
    """An admin action that cannot be done; `code` is stable (unknown_name, name_taken)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Match:
    """A ranked celebrity, ready to show: name, distance, similarity % and its nearest photo."""

    name: str
    distance: float
    similarity: float
    photo_id: int


@dataclass(frozen=True)
class Celebrity:
    name: str
    photos: int


@dataclass(frozen=True)
class Added:
    """What happened to one photo offered to the gallery: `added` or `duplicate`."""

    status: str
    name: str
    photo_id: int


def content_hash(data: bytes) -> str:
    """SHA-256 of a photo's bytes: the same file is never stored twice."""
    return hashlib.sha256(data).hexdigest()


class Gallery:
    """Open with `await Gallery.open(path)`; close with `await gallery.close()` (or `async with`)."""

    def __init__(self, db: aiosqlite.Connection, path: str) -> None:
        self._db = db
        self.path = path
        self.index = FaceIndex()
        self._names: dict[int, str] = {}
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path) -> Gallery:
        """Open (creating if needed) the gallery file, migrate its schema and load the index."""
        target = str(path)
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(target, isolation_level=None)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA foreign_keys=ON")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA busy_timeout=5000")
            await migrate(db)
            gallery = cls(db, target)
            await gallery._load()
        except BaseException:
            await db.close()
            raise
        return gallery

    async def close(self) -> None:
        await self._db.close()

    async def __aenter__(self) -> Gallery:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def db(self) -> aiosqlite.Connection:
        """The connection, for other stores that share this file (games, jobs)."""
        return self._db

    async def _load(self) -> None:
        """Read every photo's embedding into the index, in chunks of `LOAD_CHUNK` rows.

        Rows go straight into the index's preallocated matrix: the peak stays near the matrix itself
        (512 MB at 1M photos) rather than also holding 1M blobs in a list and their joined copy.
        """
        async with self._db.execute("SELECT id, name FROM celebrity") as cursor:
            self._names = {row[0]: row[1] async for row in cursor}
        async with self._db.execute("SELECT COUNT(*) FROM photo") as cursor:
            row = await cursor.fetchone()
        count = row[0] if row else 0
        # Headroom for the photos added while running: untouched pages cost no memory, and the first
        # add does not copy the whole matrix to double it.
        self.index = FaceIndex(capacity=max(1024, count + count // 8))
        async with self._db.execute("SELECT id, celebrity_id, embedding FROM photo ORDER BY id") as cursor:
            while rows := await cursor.fetchmany(LOAD_CHUNK):
                photo_ids, celeb_ids, blobs = zip(*rows, strict=True)
                vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, DIM)
                self.index.extend(np.array(photo_ids), np.array(celeb_ids), vectors)

    # Reading

    @property
    def photo_count(self) -> int:
        return len(self.index)

    @property
    def celebrity_count(self) -> int:
        # Every stored celebrity has at least one photo (created with its first, removed whole), so this is
        # the name table's size: no pass over the index on each reply's footer.
        return len(self._names)

    def rank(self, embedding: np.ndarray, k: int = 5) -> list[Match]:
        """The k nearest distinct celebrities, nearest first."""
        return [
            Match(self._names[hit.celebrity_id], hit.distance, similarity(hit.distance), hit.photo_id)
            for hit in self.index.rank(embedding, k)
        ]

    async def celebrities(self) -> list[Celebrity]:
        """Every celebrity with its photo count, by name."""
        sql = (
            "SELECT c.name, COUNT(p.id) FROM celebrity c LEFT JOIN photo p ON p.celebrity_id = c.id "
            "GROUP BY c.id ORDER BY c.name_key"
        )
        async with self._db.execute(sql) as cursor:
            return [Celebrity(name, count) async for name, count in cursor]

    async def find(self, name: str) -> str | None:
        """The stored spelling of `name`, or None if no such celebrity."""
        row = await self._celebrity_row(name)
        return row[1] if row else None

    async def thumbnail(self, photo_id: int) -> bytes | None:
        """The JPEG face thumbnail of a photo."""
        async with self._db.execute("SELECT thumbnail FROM photo WHERE id = ?", (photo_id,)) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    async def photos_of(self, name: str) -> list[tuple[int, np.ndarray]]:
        """(photo id, embedding) of every photo of a celebrity."""
        row = await self._celebrity_row(name)
        if row is None:
            return []
        sql = "SELECT id, embedding FROM photo WHERE celebrity_id = ? ORDER BY id"
        async with self._db.execute(sql, (row[0],)) as cursor:
            return [(pid, np.frombuffer(blob, dtype=np.float32)) async for pid, blob in cursor]

    async def owner_of(self, data_hash: str) -> str | None:
        """The celebrity a photo (by content hash) is already stored under, or None."""
        sql = "SELECT c.name FROM photo p JOIN celebrity c ON c.id = p.celebrity_id WHERE p.sha256 = ?"
        async with self._db.execute(sql, (data_hash,)) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    def all_embeddings(self) -> tuple[np.ndarray, list[str]]:
        """The (n, 128) matrix and the celebrity name of each row (for maps and exports)."""
        names = [self._names[int(c)] for c in self.index.celebrity_ids]
        return self.index.vectors.copy(), names

    # Writing: each change is one transaction.

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction on the shared connection: committed if the block ends, rolled back if
        it raises. A lock keeps the coroutines that share this connection (gallery, jobs, games) from
        starting a transaction inside another's."""
        async with self._write_lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                # The transaction may already be gone (e.g. the failure was BEGIN itself).
                with contextlib.suppress(sqlite3.Error):
                    await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def add_face(self, name: str, face: Face, data_hash: str, source: str = "") -> Added:
        """Store one photo's face under `name` (creating the celebrity); a known hash is a duplicate."""
        display = clean_name(name)
        key = name_key(display)
        now = time.time()
        async with self.transaction() as db:
            async with db.execute(
                "SELECT p.id, c.name FROM photo p JOIN celebrity c ON c.id = p.celebrity_id WHERE p.sha256 = ?",
                (data_hash,),
            ) as cursor:
                existing = await cursor.fetchone()
            if existing:
                return Added("duplicate", existing[1], existing[0])
            row = await self._celebrity_row(display)
            if row is None:
                cursor = await db.execute(
                    "INSERT INTO celebrity (name, name_key, created_at) VALUES (?, ?, ?)", (display, key, now)
                )
                celeb_id, stored_name = cursor.lastrowid, display
            else:
                celeb_id, stored_name = row
            cursor = await db.execute(
                "INSERT INTO photo (celebrity_id, sha256, embedding, thumbnail, source, added_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    celeb_id,
                    data_hash,
                    np.asarray(face.embedding, dtype=np.float32).tobytes(),
                    face.thumbnail,
                    source[:500],
                    now,
                ),
            )
            photo_id = cursor.lastrowid
        assert celeb_id is not None and photo_id is not None
        self._names[celeb_id] = stored_name
        self.index.add(photo_id, celeb_id, face.embedding)
        return Added("added", stored_name, photo_id)

    async def remove(self, name: str) -> int:
        """Delete a celebrity and its photos; returns how many photos went. Unknown name → GalleryError."""
        async with self.transaction() as db:
            row = await self._celebrity_row(name)
            if row is None:
                raise GalleryError("unknown_name", f"no celebrity called {clean_name(name)!r}")
            celeb_id = row[0]
            cursor = await db.execute("DELETE FROM photo WHERE celebrity_id = ?", (celeb_id,))
            removed = cursor.rowcount
            await db.execute("DELETE FROM celebrity WHERE id = ?", (celeb_id,))
        self.index.remove_celebrity(celeb_id)
        self._names.pop(celeb_id, None)
        return removed

    async def rename(self, old: str, new: str) -> str:
        """Rename a celebrity; returns the stored new name. The new name may differ from the old in case only."""
        display = clean_name(new)
        async with self.transaction() as db:
            row = await self._celebrity_row(old)
            if row is None:
                raise GalleryError("unknown_name", f"no celebrity called {clean_name(old)!r}")
            other = await self._celebrity_row(display)
            if other is not None and other[0] != row[0]:
                raise GalleryError("name_taken", f"{other[1]!r} is already in the gallery")
            await db.execute(
                "UPDATE celebrity SET name = ?, name_key = ? WHERE id = ?",
                (display, name_key(display), row[0]),
            )
        self._names[row[0]] = display
        return display

    async def _celebrity_row(self, name: str) -> tuple[int, str] | None:
        sql = "SELECT id, name FROM celebrity WHERE name_key = ?"
        async with self._db.execute(sql, (name_key(name),)) as cursor:
            row = await cursor.fetchone()
        return (row[0], row[1]) if row else None

    async def integrity_ok(self) -> bool:
        """SQLite's own integrity check, run at start."""
        async with self._db.execute("PRAGMA quick_check") as cursor:
            row = await cursor.fetchone()
        return bool(row) and row[0] == "ok"
