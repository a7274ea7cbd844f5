"""The gallery as the admins' Mini App browses it: one page of celebrities at a time, searched by any
name or alias (substring, case- and normalisation-insensitive, any script), each with its cover photo.

Paging and filtering run in SQLite, so a page costs the same with 10 or 10,000 celebrities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.ranking import DIM, nearest_to_mean
from store.gallery import Gallery
from store.names import InvalidName, name_key

MAX_PAGE = 200


@dataclass(frozen=True)
class CatalogueEntry:
    """A celebrity card: name, photo count, other names, and the id of its most typical photo."""

    name: str
    photos: int
    aliases: tuple[str, ...]
    cover_photo_id: int


@dataclass(frozen=True)
class CataloguePage:
    """`total` celebrities match; `entries` are the ones from `offset` on, by name."""

    total: int
    offset: int
    entries: list[CatalogueEntry]


def _search_key(query: str) -> str | None:
    """The comparison key of a search text, or None when it has nothing to search for."""
    try:
        return name_key(query)
    except InvalidName:
        return None


async def search(gallery: Gallery, query: str = "", offset: int = 0, limit: int = 60) -> CataloguePage:
    """One page of the celebrities whose name or an alias contains `query` (every one when it is empty)."""
    key = _search_key(query)
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    where = ""
    params: tuple[str, ...] = ()
    if key is not None:
        where = (
            "WHERE instr(c.name_key, ?) > 0 OR EXISTS "
            "(SELECT 1 FROM alias a WHERE a.celebrity_id = c.id AND instr(a.name_key, ?) > 0)"
        )
        params = (key, key)
    db = gallery.db
    async with db.execute(f"SELECT COUNT(*) FROM celebrity c {where}", params) as cursor:
        total = (await cursor.fetchone() or (0,))[0]
    sql = f"SELECT c.id, c.name FROM celebrity c {where} ORDER BY c.name_key LIMIT ? OFFSET ?"
    async with db.execute(sql, (*params, limit, offset)) as cursor:
        rows = [(celeb_id, name) async for celeb_id, name in cursor]
    ids = [celeb_id for celeb_id, _ in rows]
    aliases = await _aliases(gallery, ids)
    photos = await _photo_vectors(gallery, ids)
    entries = [
        CatalogueEntry(name, len(photos[cid][0]), tuple(aliases.get(cid, ())), _cover(*photos[cid]))
        for cid, name in rows
        if cid in photos  # a celebrity removed between the two reads is left out
    ]
    return CataloguePage(total, offset, entries)


def _cover(photo_ids: list[int], vectors: list[np.ndarray]) -> int:
    return photo_ids[nearest_to_mean(np.stack(vectors))]


async def _aliases(gallery: Gallery, ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    if not ids:
        return found
    marks = ",".join("?" * len(ids))
    sql = f"SELECT celebrity_id, name FROM alias WHERE celebrity_id IN ({marks}) ORDER BY name_key"
    async with gallery.db.execute(sql, ids) as cursor:
        async for celeb_id, alias in cursor:
            found.setdefault(celeb_id, []).append(alias)
    return found


async def _photo_vectors(gallery: Gallery, ids: list[int]) -> dict[int, tuple[list[int], list[np.ndarray]]]:
    """(photo ids, embeddings) of each listed celebrity."""
    found: dict[int, tuple[list[int], list[np.ndarray]]] = {}
    if not ids:
        return found
    marks = ",".join("?" * len(ids))
    sql = f"SELECT id, celebrity_id, embedding FROM photo WHERE celebrity_id IN ({marks}) ORDER BY id"
    async with gallery.db.execute(sql, ids) as cursor:
        async for photo_id, celeb_id, blob in cursor:
            photo_ids, vectors = found.setdefault(celeb_id, ([], []))
            photo_ids.append(photo_id)
            vectors.append(np.frombuffer(blob, dtype=np.float32).reshape(DIM))
    return found
