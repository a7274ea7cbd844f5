"""Growing the gallery: photos offered under a name are checked, embedded and stored — or refused with a reason.

Shared by the CLI (`lookalike add`, `lookalike import`) and the bot's admin commands. The embedding itself
is done by whatever `Analyzer` the caller passes (a worker pool in the bot, the same pool in the CLI).
"""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

import numpy as np

from engine.audit import outlier_line, photo_distance
from engine.faces import Analysis, FaceRejected, gallery_face
from engine.images import ImageError, read_source
from engine.pool import Busy, WorkerCrashed
from store.gallery import Added, Credit, Gallery, content_hash
from store.names import InvalidName, clean_name


class Analyzer(Protocol):
    """Photo bytes → its faces. Curation asks for the thorough search (`thorough=True`): a second, smaller
    face that the quick pass may miss must still refuse a photo as `several_faces`."""

    def __call__(self, data: bytes, *, thorough: bool = ...) -> Awaitable[Analysis]: ...


CREDITS_FILE = "credits.csv"  # beside the photos: path,author,license,license_url,source
CREDITS_COLUMNS = ("path", "author", "license", "license_url", "source")
MAX_CREDITS_BYTES = 5 * 1024 * 1024
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})


def curation_status(error: ImageError | FaceRejected) -> str:
    """A refusal's code for curation: an image in a format not served is a bad image here."""
    return "bad_image" if error.code == "unsupported" else error.code


@dataclass(frozen=True)
class Outcome:
    """What happened to one offered photo. status: added, duplicate, or a refusal code
    (no_face, several_faces, face_too_small, bad_image, too_large, not_found, invalid_name, busy).

    `outlier`: for an added photo far from the celebrity's other photos (engine/audit.py), its median
    distance to them; it is kept, with this warning, for an admin to check (`lookalike audit`)."""

    source: str
    status: str
    name: str
    detail: str = ""
    outlier: float | None = None
    photo_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("added", "duplicate")


@dataclass
class Summary:
    """Outcomes of a batch, counted by status."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(o.status for o in self.outcomes)

    @property
    def added(self) -> int:
        return self.counts["added"]

    @property
    def duplicates(self) -> int:
        return self.counts["duplicate"]

    @property
    def rejected(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def suspects(self) -> list[Outcome]:
        """Added photos far from their celebrity's other photos (kept, with a warning)."""
        return [o for o in self.outcomes if o.outlier is not None]


async def add_photo(
    gallery: Gallery,
    analyze: Analyzer,
    name: str,
    data: bytes,
    source: str = "",
    credit: Credit | None = None,
) -> Outcome:
    """Offer one photo's bytes to the gallery under `name`, with its `credit` (author, licence, page)."""
    try:
        display = clean_name(name)
    except InvalidName as exc:
        return Outcome(source, "invalid_name", name, str(exc))
    digest = content_hash(data)
    owner = await gallery.owner_of(digest)
    if owner is not None:
        return Outcome(source, "duplicate", owner, "this exact photo is already in the gallery")
    try:
        face = gallery_face(await analyze(data, thorough=True))
    except (ImageError, FaceRejected) as exc:
        return Outcome(source, curation_status(exc), display, str(exc))
    except WorkerCrashed:
        return Outcome(source, "bad_image", display, "the photo crashed the face reader")
    except Busy:
        return Outcome(source, "busy", display, "the face workers are busy; try again later")
    added = await gallery.add_face(display, face, digest, source, credit)
    if added.status != "added":
        return Outcome(source, added.status, added.name)
    return Outcome(
        source, "added", added.name, photo_id=added.photo_id, outlier=await _outlier(gallery, added)
    )


async def _outlier(gallery: Gallery, added: Added) -> float | None:
    """The new photo's median distance to the celebrity's other photos, if over the audit's line."""
    photos = await gallery.photos_of(added.name)
    others = [vector for pid, vector in photos if pid != added.photo_id]
    mine = next((vector for pid, vector in photos if pid == added.photo_id), None)
    if mine is None or not others:
        return None
    distance = photo_distance(mine, np.stack(others))
    if distance is None or distance <= outlier_line(gallery.calibration):
        return None
    return round(distance, 4)


async def add_file(
    gallery: Gallery,
    analyze: Analyzer,
    name: str,
    path: Path,
    credit: Credit | None = None,
    source: str | None = None,
) -> Outcome:
    """Offer one photo file (with its credit, if known); unreadable files are refused, not raised.
    `source`: what to record as where the photo came from (default: its path)."""
    try:
        data = read_source(path)
    except ImageError as exc:
        return Outcome(str(path), curation_status(exc), name, exc.message)
    return await add_photo(gallery, analyze, name, data, source=source or str(path), credit=credit)


class CreditsError(ValueError):
    """A credits.csv that cannot be read: nothing is imported until it is fixed or removed."""


def read_credits(folder: Path) -> dict[str, Credit]:
    """`folder/credits.csv` (optional) → {photo path relative to `folder`, with /: its credit}.

    Columns `path,author,license,license_url,source` (a header line; any order; only `path` required)."""
    path = folder / CREDITS_FILE
    if not path.is_file():
        return {}
    if path.stat().st_size > MAX_CREDITS_BYTES:
        raise CreditsError(f"{CREDITS_FILE} is larger than {MAX_CREDITS_BYTES // 1024 // 1024} MB")
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CreditsError(f"{CREDITS_FILE}: {exc}") from None
    if rows and "path" not in rows[0]:
        raise CreditsError(
            f"{CREDITS_FILE}: the first line must name the columns {','.join(CREDITS_COLUMNS)}"
        )
    credits = {}
    for row in rows:
        where = (row.get("path") or "").strip().replace("\\", "/")
        if where:
            credits[PurePosixPath(where).as_posix()] = Credit(
                author=(row.get("author") or "").strip(),
                license=(row.get("license") or "").strip(),
                license_url=(row.get("license_url") or "").strip(),
                source_page=(row.get("source") or "").strip(),
            )
    return credits


def photos_to_import(folder: Path) -> Iterator[tuple[str, Path]]:
    """(name, photo) pairs of a folder in either layout, in a stable order.

    `DIR/<name>/<photos>` (several photos per celebrity) and the notebook's `DIR/<name>.jpg`
    (one photo each; a trailing `_2`, `-3` … is not part of the name, so `iu_2.jpg` is another IU photo).
    Hidden files and folders are skipped; nothing outside `folder` is followed.
    """
    root = folder.resolve()
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.is_symlink():
            continue
        if entry.is_dir():
            for photo in sorted(entry.rglob("*"), key=lambda p: str(p)):
                if _importable(photo, root):
                    yield entry.name, photo
        elif _importable(entry, root):
            yield _name_from_file(entry), entry


def _importable(path: Path, root: Path) -> bool:
    if any(part.startswith(".") for part in path.relative_to(root).parts if part) or path.is_symlink():
        return False
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and path.resolve().is_relative_to(root)


def _name_from_file(path: Path) -> str:
    """`아이유.jpg` → 아이유; `iu_2.jpg`/`iu-2.jpg` → iu; underscores elsewhere become spaces."""
    stem = path.stem
    base, sep, tail = stem.rpartition("_") if "_" in stem else stem.rpartition("-")
    if sep and base and tail.isdigit():
        stem = base
    return stem.replace("_", " ")


async def import_folder(
    gallery: Gallery,
    analyze: Analyzer,
    folder: Path,
    progress: Callable[[Outcome], object] | None = None,
    concurrency: int = 2,
    origin: str | None = None,
) -> Summary:
    """Import every photo below `folder` (either layout), with the credits of `folder/credits.csv` if
    there is one; idempotent through content hashes. A credits.csv that cannot be read → `CreditsError`.

    Up to `concurrency` photos are embedded at once (one per worker); the writes stay one at a time.
    Each photo's recorded source is its path, or `origin/<path inside folder>` when `origin` is given
    (a zip unpacked into a temporary folder: the folder's name would mean nothing later).
    """
    limit = asyncio.Semaphore(concurrency)
    credits = read_credits(folder)

    async def offer(name: str, path: Path) -> Outcome:
        where = path.relative_to(folder).as_posix()
        source = f"{origin}/{where}" if origin else None
        async with limit:
            return await add_file(gallery, analyze, name, path, credits.get(where), source)

    summary = Summary()
    offers = [asyncio.ensure_future(offer(n, p)) for n, p in photos_to_import(folder)]
    try:
        for next_done in asyncio.as_completed(offers):
            outcome = await next_done
            summary.outcomes.append(outcome)
            if progress:
                progress(outcome)
    except BaseException:
        # One failure (a full disk, a cancel) ends the import: the other photos are not offered after it.
        for pending in offers:
            pending.cancel()
        await asyncio.gather(*offers, return_exceptions=True)
        raise
    summary.outcomes.sort(key=lambda o: o.source)
    return summary
