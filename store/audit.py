"""The gallery's audit: suspect photos and probable double names, with names and sources, for admins.

The rules and their lines are engine/audit.py's, drawn from the gallery's fitted calibration. Photos an
admin kept (`keep_photo`) are never reported; pairs declared different people (`mark_distinct`) neither.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np

from engine.audit import find_outliers, find_same_person, outlier_line, same_person_line
from store.gallery import Gallery


@dataclass(frozen=True)
class SuspectPhoto:
    """A photo far from its celebrity's other photos: whose, which, where it came from, how far."""

    name: str
    photo_id: int
    source: str
    distance: float

    def to_json(self) -> dict:
        return {
            "kind": "outlier",
            "name": self.name,
            "photo_id": self.photo_id,
            "source": self.source,
            "distance": round(self.distance, 4),
        }


@dataclass(frozen=True)
class DoubleName:
    """Two names whose photos lie as close as one person's."""

    names: tuple[str, str]
    distance: float

    def to_json(self) -> dict:
        return {"kind": "same_person", "names": list(self.names), "distance": round(self.distance, 4)}


@dataclass(frozen=True)
class AuditReport:
    outliers: list[SuspectPhoto]
    doubles: list[DoubleName]
    outlier_line: float
    same_person_line: float


async def audit_gallery(gallery: Gallery) -> AuditReport:
    """Audit the whole gallery (the maths in a worker thread: the event loop keeps answering)."""
    vectors = gallery.index.vectors.copy()
    celebs = gallery.index.celebrity_ids.copy()
    photo_ids = gallery.index.photo_ids.copy()
    kept = await gallery.kept_photos()
    distinct_names = await gallery.distinct_pairs()
    ids_by_name = {gallery.name_of(int(c)): int(c) for c in np.unique(celebs)}
    distinct = {
        frozenset(ids_by_name[n] for n in pair)
        for pair in distinct_names
        if all(n in ids_by_name for n in pair)
    }
    calibration = gallery.calibration
    lines = outlier_line(calibration), same_person_line(calibration)
    outliers, pairs = await asyncio.to_thread(
        lambda: (
            find_outliers(vectors, celebs, photo_ids, lines[0], kept),
            find_same_person(vectors, celebs, lines[1], distinct),
        )
    )
    records = [await gallery.photo(o.photo_id) for o in outliers]
    sources = {r.photo_id: r.source for r in records if r is not None}
    suspects = [
        SuspectPhoto(gallery.name_of(o.celebrity) or "?", o.photo_id, sources.get(o.photo_id, ""), o.distance)
        for o in outliers
    ]
    doubles = [
        DoubleName((gallery.name_of(p.first) or "?", gallery.name_of(p.second) or "?"), p.distance)
        for p in pairs
    ]
    return AuditReport(suspects, doubles, *lines)
