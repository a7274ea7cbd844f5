"""The celebrity gallery: one SQLite file (through aiosqlite) and its in-memory `FaceIndex`.

Celebrities have unique names (case-insensitive, any script) and several photos each. A photo row keeps
its content hash (no duplicates), its embedding as a float32 BLOB, a JPEG face thumbnail for collages and
where it came from. The index is loaded once at open and kept current on every add and remove.
Long on purpose: `Gallery` is the one owner of the file, so every statement that reads or changes it stands
here, beside the transaction that turns the disk's faults into `GalleryFault`s.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
import numpy as np

from engine.calibration import Calibration
from engine.faces import Face
from engine.ranking import DIM, FaceIndex
from store.gallery_file import (
    GalleryDiskFull,
    GalleryReadOnly,
    connect_read_only,
    inspect_gallery,
    write_fault,
)
from store.names import InvalidName, clean_name, name_key
from store.schema import MIGRATIONS, migrate

CALIBRATION_KEY = "calibration"  # the fitted Calibration, as JSON, in gallery_value
LOAD_CHUNK = 8192  # rows per fetch when loading the index: 4 MB of embeddings at a time
READ_ONLY = "read_only"  # why a gallery was opened read-only: its filesystem (or file) cannot be written
DISK_FULL = "disk_full"  # ... or its disk had no room for the files SQLite needs to read it in WAL mode


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
    """A celebrity as listed: name, photo count, Wikidata item (or None) and other names."""

    name: str
    photos: int
    wikidata: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Credit:
    """Who made a gallery photo and under which licence, and the page it came from (for attribution)."""

    author: str = ""
    license: str = ""
    license_url: str = ""
    source_page: str = ""


@dataclass(frozen=True)
class PhotoRecord:
    """A stored photo without its pixels: whose it is, where it came from, its credit, audit decision."""

    photo_id: int
    name: str
    source: str
    credit: Credit
    kept: bool
    added_at: float


@dataclass(frozen=True)
class Added:
    """What happened to one photo offered to the gallery: `added` or `duplicate`."""

    status: str
    name: str
    photo_id: int


def _remove_debris(path: Path) -> None:
    """Remove what a failed first open left of a new gallery (the file and its -wal/-shm)."""
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(OSError):
            leftover.unlink()


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
        # How distances become a similarity % (store/calibrate.py fits it); the fixed curve until then.
        self.calibration = Calibration()
        # Called after every change of the photos (adds, removals): e.g. to schedule a refit.
        self.on_change: list[Callable[[], None]] = []
        # Why the file was opened read-only (READ_ONLY, DISK_FULL), or "" when it can be written.
        self.read_only_reason = ""

    @classmethod
    async def open(cls, path: str | Path) -> Gallery:
        """Open (creating if needed) the gallery file, migrate its schema and load the index.

        The file is inspected first without writing to it (store/gallery_file.py): anything but a
        gallery of this version or older → `GalleryUnusable`, the file left as it was. A gallery that
        cannot be written (read-only filesystem; or a full disk with no room for the -shm file SQLite's
        WAL readers need) opens read-only: reads work, changes raise `GalleryReadOnly` / `GalleryDiskFull`.
        """
        target = str(path)
        if target == ":memory:":
            return await cls._connect(target, target)
        file = inspect_gallery(Path(target))
        if file.read_only:
            if not file.exists:
                raise GalleryReadOnly(target, "there is no gallery file and none can be made there")
            if file.version < len(MIGRATIONS):
                raise GalleryReadOnly(
                    target, f"its schema {file.version} needs an upgrade that cannot be written"
                )
            return await cls._connect(target, connect_read_only(file.path), READ_ONLY)
        try:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            return await cls._connect(target, target)
        except (sqlite3.Error, OSError) as exc:
            fault = write_fault(target, exc)
            if fault is None:
                raise
            if not file.exists:
                _remove_debris(Path(target))  # never leave an empty file that would later be refused
            elif isinstance(fault, GalleryDiskFull) and file.version == len(MIGRATIONS):
                return await cls._connect(target, connect_read_only(file.path), DISK_FULL)
            raise fault from None

    @classmethod
    async def _connect(cls, path: str, address: str, read_only: str = "") -> Gallery:
        """Connect to `address` (a path, or a read-only URI when `read_only` says why), set the file up
        when it can be written (WAL, migrations) and load the index."""
        db = await aiosqlite.connect(address, isolation_level=None, uri=bool(read_only))
        try:
            if not read_only:
                await db.execute("PRAGMA journal_mode=WAL")
                await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA foreign_keys=ON")
            await db.execute("PRAGMA busy_timeout=5000")
            if not read_only:
                await migrate(db)
            gallery = cls(db, path)
            gallery.read_only_reason = read_only
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
        self.calibration = Calibration.from_json(await self.value(CALIBRATION_KEY))

    # Reading

    @property
    def read_only(self) -> bool:
        """Whether this gallery was opened read-only (every change is refused)."""
        return bool(self.read_only_reason)

    @property
    def photo_count(self) -> int:
        return len(self.index)

    @property
    def celebrity_count(self) -> int:
        # Every stored celebrity has at least one photo (created with its first, removed whole), so this is
        # the name table's size: no pass over the index on each reply's footer.
        return len(self._names)

    def rank(self, embedding: np.ndarray, k: int = 5) -> list[Match]:
        """The k nearest distinct celebrities, nearest first, with the gallery's calibrated similarity."""
        calibration = self.calibration
        return [
            Match(
                self._names[hit.celebrity_id],
                hit.distance,
                calibration.similarity(hit.distance),
                hit.photo_id,
            )
            for hit in self.index.rank(embedding, k)
        ]

    def name_of(self, celebrity_id: int) -> str | None:
        """The stored name of a celebrity id of the index (None if it is gone)."""
        return self._names.get(celebrity_id)

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Every row of a read, in one trip to the connection's thread (iterating an aiosqlite cursor
        takes one a row, and each trip waits for the event loop: a busy bot's answers wait for them)."""
        return list(await self._db.execute_fetchall(sql, params))

    async def _row(self, sql: str, params: Sequence[Any] = ()) -> Any | None:
        """The first row of a read (None without one), in one trip."""
        rows = await self._rows(sql, params)
        return rows[0] if rows else None

    async def kept_photos(self) -> set[int]:
        """Ids of the photos an admin kept after an audit (never reported again)."""
        return {pid for (pid,) in await self._rows("SELECT id FROM photo WHERE kept != 0")}

    def _changed(self) -> None:
        for listener in list(self.on_change):
            listener()

    async def celebrities(self) -> list[Celebrity]:
        """Every celebrity with its photo count, Wikidata item and aliases, by name."""
        aliases: dict[int, list[str]] = {}
        for celeb_id, alias in await self._rows("SELECT celebrity_id, name FROM alias ORDER BY name_key"):
            aliases.setdefault(celeb_id, []).append(alias)
        sql = (
            "SELECT c.id, c.name, COUNT(p.id), c.wikidata FROM celebrity c "
            "LEFT JOIN photo p ON p.celebrity_id = c.id GROUP BY c.id ORDER BY c.name_key"
        )
        return [
            Celebrity(name, count, wikidata, tuple(aliases.get(celeb_id, ())))
            for celeb_id, name, count, wikidata in await self._rows(sql)
        ]

    async def aliases_of(self, name: str) -> list[str]:
        """A celebrity's other names (empty for an unknown name)."""
        row = await self._celebrity_row(name)
        if row is None:
            return []
        sql = "SELECT name FROM alias WHERE celebrity_id = ? ORDER BY name_key"
        return [alias for (alias,) in await self._rows(sql, (row[0],))]

    async def find_wikidata(self, item: str) -> str | None:
        """The name of the celebrity built from Wikidata item `item` (Q…), or None."""
        row = await self._row("SELECT name FROM celebrity WHERE wikidata = ?", (item.upper(),))
        return row[0] if row else None

    async def photo(self, photo_id: int) -> PhotoRecord | None:
        """One stored photo's record (no pixels), or None if it is gone."""
        records = await self._photo_records("WHERE p.id = ?", (photo_id,))
        return records[0] if records else None

    async def photos(self, photo_ids: Sequence[int]) -> dict[int, PhotoRecord]:
        """The records of these photos by id, in one read (a photo gone meanwhile is left out)."""
        ids = list(dict.fromkeys(photo_ids))
        if not ids:
            return {}
        records = await self._photo_records(f"WHERE p.id IN ({', '.join('?' * len(ids))})", tuple(ids))
        return {record.photo_id: record for record in records}

    async def photo_records(self, name: str | None = None) -> list[PhotoRecord]:
        """Every photo's record (of one celebrity, by name or alias, when `name` is given), by id."""
        if name is None:
            return await self._photo_records("", ())
        row = await self._celebrity_row(name)
        return [] if row is None else await self._photo_records("WHERE p.celebrity_id = ?", (row[0],))

    async def _photo_records(self, where: str, params: tuple) -> list[PhotoRecord]:
        sql = (
            "SELECT p.id, c.name, p.source, p.author, p.license, p.license_url, p.source_page, p.kept, "
            f"p.added_at FROM photo p JOIN celebrity c ON c.id = p.celebrity_id {where} ORDER BY p.id"
        )
        return [
            PhotoRecord(pid, name, source, Credit(author, lic, lic_url, page), bool(kept), added)
            for pid, name, source, author, lic, lic_url, page, kept, added in await self._rows(sql, params)
        ]

    async def value(self, key: str) -> str | None:
        """A value stored with the gallery (e.g. its fitted calibration, as JSON), or None."""
        row = await self._row("SELECT value FROM gallery_value WHERE key = ?", (key,))
        return row[0] if row else None

    async def distinct_pairs(self) -> set[frozenset[str]]:
        """Pairs of celebrities an admin has declared different people (the audit stops asking)."""
        sql = (
            "SELECT a.name, b.name FROM distinct_pair d JOIN celebrity a ON a.id = d.first_id "
            "JOIN celebrity b ON b.id = d.second_id"
        )
        async with self._db.execute(sql) as cursor:
            return {frozenset((a, b)) async for a, b in cursor}

    async def find(self, name: str) -> str | None:
        """The stored spelling of `name`, or None if no such celebrity."""
        row = await self._celebrity_row(name)
        return row[1] if row else None

    async def thumbnail(self, photo_id: int) -> bytes | None:
        """The JPEG face thumbnail of a photo."""
        row = await self._row("SELECT thumbnail FROM photo WHERE id = ?", (photo_id,))
        return row[0] if row else None

    async def thumbnails(self, photo_ids: Sequence[int]) -> dict[int, bytes]:
        """The JPEG face thumbnails of these photos by id, in one read (a photo gone meanwhile is left
        out)."""
        ids = list(dict.fromkeys(photo_ids))
        if not ids:
            return {}
        sql = f"SELECT id, thumbnail FROM photo WHERE id IN ({', '.join('?' * len(ids))})"
        return {pid: thumbnail for pid, thumbnail in await self._rows(sql, ids)}

    async def photos_of(self, name: str) -> list[tuple[int, np.ndarray]]:
        """(photo id, embedding) of every photo of a celebrity."""
        row = await self._celebrity_row(name)
        if row is None:
            return []
        sql = "SELECT id, embedding FROM photo WHERE celebrity_id = ? ORDER BY id"
        return [
            (pid, np.frombuffer(blob, dtype=np.float32)) for pid, blob in await self._rows(sql, (row[0],))
        ]

    async def owner_of(self, data_hash: str) -> str | None:
        """The celebrity a photo (by content hash) is already stored under, or None."""
        sql = "SELECT c.name FROM photo p JOIN celebrity c ON c.id = p.celebrity_id WHERE p.sha256 = ?"
        row = await self._row(sql, (data_hash,))
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
        starting a transaction inside another's. A full or read-only disk → `GalleryDiskFull` /
        `GalleryReadOnly`, with nothing changed (a failed COMMIT is rolled back too, so the next change
        works as soon as there is room again)."""
        self._refuse_changes_if_read_only()
        async with self._write_lock:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._fault(exc) from None
            try:
                yield self._db
            except BaseException as exc:
                await self._rollback()
                fault = write_fault(self.path, exc) if isinstance(exc, (sqlite3.Error, OSError)) else None
                if fault is not None:
                    raise fault from None
                raise
            try:
                await self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                await self._rollback()
                raise self._fault(exc) from None

    async def write(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """One statement as a transaction of its own, in one trip to the connection's thread; the rows it
        returns (`RETURNING`). SQLite makes a statement outside BEGIN atomic, so a failed one changes
        nothing; faults as `transaction`'s. For the small writes every answer makes (its job row), where
        BEGIN and COMMIT would be two more trips through the event loop."""
        self._refuse_changes_if_read_only()
        async with self._write_lock:  # never inside another coroutine's open transaction
            try:
                return list(await self._db.execute_fetchall(sql, params))
            except sqlite3.Error as exc:
                raise self._fault(exc) from None

    def _refuse_changes_if_read_only(self) -> None:
        """Raise `GalleryDiskFull` / `GalleryReadOnly` when the gallery was opened without writes."""
        if self.read_only_reason:
            raise (
                GalleryDiskFull(self.path)
                if self.read_only_reason == DISK_FULL
                else GalleryReadOnly(self.path)
            )

    async def _rollback(self) -> None:
        # The transaction may already be gone (e.g. SQLite rolled it back itself on a full disk).
        with contextlib.suppress(sqlite3.Error):
            if self._db.in_transaction:
                await self._db.execute("ROLLBACK")

    def _fault(self, error: sqlite3.Error) -> Exception:
        """What to raise for a failed write: the disk's fault when it is one, else the error itself."""
        return write_fault(self.path, error) or error

    async def add_face(
        self, name: str, face: Face, data_hash: str, source: str = "", credit: Credit | None = None
    ) -> Added:
        """Store one photo's face under `name` (a name or an alias; a new name creates the celebrity).

        `source` is where the photo came from (a file path, a URL); `credit` its author and licence.
        A known content hash is a duplicate and changes nothing."""
        credit = credit or Credit()
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
                "INSERT INTO photo (celebrity_id, sha256, embedding, thumbnail, source, added_at, "
                "author, license, license_url, source_page) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    celeb_id,
                    data_hash,
                    np.asarray(face.embedding, dtype=np.float32).tobytes(),
                    face.thumbnail,
                    source[:1000],
                    now,
                    credit.author[:500],
                    credit.license[:200],
                    credit.license_url[:1000],
                    credit.source_page[:1000],
                ),
            )
            photo_id = cursor.lastrowid
        assert celeb_id is not None and photo_id is not None
        self._names[celeb_id] = stored_name
        self.index.add(photo_id, celeb_id, face.embedding)
        self._changed()
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
        self._changed()
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
            # One of its own aliases becoming its name stops being an alias.
            await db.execute(
                "DELETE FROM alias WHERE celebrity_id = ? AND name_key = ?", (row[0], name_key(display))
            )
            await db.execute(
                "UPDATE celebrity SET name = ?, name_key = ? WHERE id = ?",
                (display, name_key(display), row[0]),
            )
        self._names[row[0]] = display
        return display

    async def add_aliases(self, name: str, aliases: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
        """Give a celebrity other names; returns (stored aliases, [(alias, why not stored)]).

        An alias already this celebrity's is skipped quietly; one that names another celebrity, or is
        empty or too long once cleaned, is refused with a reason. Unknown `name` → GalleryError."""
        added: list[str] = []
        refused: list[tuple[str, str]] = []
        async with self.transaction() as db:
            row = await self._celebrity_row(name)
            if row is None:
                raise GalleryError("unknown_name", f"no celebrity called {clean_name(name)!r}")
            for raw in aliases:
                try:
                    alias = clean_name(raw)
                except InvalidName as exc:
                    refused.append((raw, str(exc)))
                    continue
                owner = await self._celebrity_row(alias)
                if owner is not None:
                    if owner[0] != row[0]:
                        refused.append((alias, f"{owner[1]!r} is already called that"))
                    continue
                await db.execute(
                    "INSERT INTO alias (celebrity_id, name, name_key) VALUES (?, ?, ?)",
                    (row[0], alias, name_key(alias)),
                )
                added.append(alias)
        return added, refused

    async def remove_alias(self, name: str, alias: str) -> bool:
        """Drop one of a celebrity's aliases; whether it was there. Unknown `name` → GalleryError."""
        async with self.transaction() as db:
            row = await self._celebrity_row(name)
            if row is None:
                raise GalleryError("unknown_name", f"no celebrity called {clean_name(name)!r}")
            cursor = await db.execute(
                "DELETE FROM alias WHERE celebrity_id = ? AND name_key = ?", (row[0], name_key(alias))
            )
            return cursor.rowcount > 0

    async def set_wikidata(self, name: str, item: str) -> None:
        """Record the Wikidata item (Q…) a celebrity was built from. Taken by another → GalleryError."""
        item = item.upper()
        async with self.transaction() as db:
            row = await self._celebrity_row(name)
            if row is None:
                raise GalleryError("unknown_name", f"no celebrity called {clean_name(name)!r}")
            async with db.execute(
                "SELECT name FROM celebrity WHERE wikidata = ? AND id != ?", (item, row[0])
            ) as c:
                other = await c.fetchone()
            if other is not None:
                raise GalleryError("wikidata_taken", f"{other[0]!r} is already Wikidata item {item}")
            await db.execute("UPDATE celebrity SET wikidata = ? WHERE id = ?", (item, row[0]))

    async def remove_photo(self, photo_id: int) -> str | None:
        """Delete one photo; the celebrity goes too when it was their last. Returns whose it was (or None)."""
        async with self.transaction() as db:
            async with db.execute("SELECT celebrity_id FROM photo WHERE id = ?", (photo_id,)) as cursor:
                row = await cursor.fetchone()
            if row is None:
                return None
            celeb_id = row[0]
            await db.execute("DELETE FROM photo WHERE id = ?", (photo_id,))
            async with db.execute("SELECT COUNT(*) FROM photo WHERE celebrity_id = ?", (celeb_id,)) as cursor:
                left = (await cursor.fetchone())[0]  # type: ignore[index]
            if left == 0:
                await db.execute("DELETE FROM celebrity WHERE id = ?", (celeb_id,))
        name = self._names[celeb_id]
        self.index.remove_photos(np.array([photo_id]))
        if left == 0:
            self._names.pop(celeb_id, None)
        self._changed()
        return name

    async def keep_photo(self, photo_id: int, kept: bool = True) -> bool:
        """Mark a photo as checked by an admin (the audit no longer reports it); whether it exists."""
        async with self.transaction() as db:
            cursor = await db.execute("UPDATE photo SET kept = ? WHERE id = ?", (int(kept), photo_id))
            return cursor.rowcount > 0

    async def mark_distinct(self, first: str, second: str) -> None:
        """Record that two celebrities are different people (the audit no longer pairs them)."""
        async with self.transaction() as db:
            rows = [await self._celebrity_row(n) for n in (first, second)]
            for raw, row in zip((first, second), rows, strict=True):
                if row is None:
                    raise GalleryError("unknown_name", f"no celebrity called {clean_name(raw)!r}")
            a, b = sorted(r[0] for r in rows)  # type: ignore[index]
            if a != b:
                await db.execute(
                    "INSERT OR IGNORE INTO distinct_pair (first_id, second_id) VALUES (?, ?)", (a, b)
                )

    async def set_value(self, key: str, value: str) -> None:
        """Store a value with the gallery (replacing any earlier one)."""
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO gallery_value (key, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, value, time.time()),
            )

    async def _celebrity_row(self, name: str) -> tuple[int, str] | None:
        """(id, stored name) of the celebrity called `name`, by name or by alias."""
        key = name_key(name)
        row = await self._row("SELECT id, name FROM celebrity WHERE name_key = ?", (key,))
        if row is None:
            sql = "SELECT c.id, c.name FROM alias a JOIN celebrity c ON c.id = a.celebrity_id WHERE a.name_key = ?"
            row = await self._row(sql, (key,))
        return (row[0], row[1]) if row else None

    async def integrity_ok(self) -> bool:
        """SQLite's own integrity check, run at start."""
        async with self._db.execute("PRAGMA quick_check") as cursor:
            row = await cursor.fetchone()
        return row is not None and row[0] == "ok"
