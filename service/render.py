"""Rankings → pictures: the collage of a photo's faces and their lookalikes, and the embedding map.

Shared by the CLI and the bot; knows the gallery (for thumbnails) and the texts, nothing of Telegram.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from engine.embedding_map import pca_2d, render_map
from engine.faces import Face
from engine.pictures import CollageText, Tile, render_board, render_collages, render_pairs
from service.texts import Texts
from store.gallery import Gallery, Match

MAX_STACKED = 3  # faces per collage image: more would make each too small to read on a phone


def collage_text(t: Texts, footer: str = "", credits: str = "") -> CollageText:
    return CollageText(
        title=t.title, you=t.you, distance=t.distance, similarity=t.similarity, footer=footer, credits=credits
    )


async def photo_credits(gallery: Gallery, photo_ids: Sequence[int]) -> list[str]:
    """`Author (licence)` of each credited photo among `photo_ids`, in order, each once."""
    parts: list[str] = []
    records = await gallery.photos(photo_ids)
    for photo_id in dict.fromkeys(photo_ids):
        record = records.get(photo_id)
        if record is None or not (record.credit.author or record.credit.license):
            continue
        author = record.credit.author or "?"
        parts.append(f"{author} ({record.credit.license})" if record.credit.license else author)
    return list(dict.fromkeys(parts))


async def credits_line(gallery: Gallery, rankings: Sequence[Sequence[Match]], t: Texts) -> str:
    """The collage's credit line for the gallery photos it shows ('' when none is credited)."""
    shown = [m.photo_id for ranking in list(rankings)[:MAX_STACKED] for m in ranking]
    parts = await photo_credits(gallery, shown)
    return t.collage_credits.format(credits=", ".join(parts)) if parts else ""


def face_image(jpeg: bytes | None) -> Image.Image:
    """A stored JPEG thumbnail as an image (a grey square if the photo has gone meanwhile)."""
    if not jpeg:
        return Image.new("RGB", (256, 256), (200, 200, 200))
    image = Image.open(io.BytesIO(jpeg))
    image.load()
    return image if image.mode == "RGB" else image.convert("RGB")  # convert("RGB") of RGB is a copy


def gallery_image(jpeg: bytes) -> tuple[Image.Image, bytes]:
    """A gallery thumbnail's JPEG -> the image, opened but not decoded (decoded only if the drawing
    process has no fitted copy of it yet), and the digest the drawing process caches its copies under."""
    return Image.open(io.BytesIO(jpeg)), hashlib.blake2b(jpeg, digest_size=16).digest()


@dataclass(frozen=True)
class Card:
    """A collage tile whose picture is still JPEG bytes: cheap to hand to a worker process to draw.

    `shared`: the picture is a gallery photo, the same for every user, which the drawing process may keep
    fitted to a size; False (the default) for anything of a user's, which is never kept.
    """

    jpeg: bytes | None
    name: str
    distance: float | None = None
    similarity: float | None = None
    rank: int | None = None
    shared: bool = False

    def tile(self) -> Tile:
        """-> the tile to draw: a shared photo keyed by its digest, anything else decoded and unkeyed."""
        if self.shared and self.jpeg:
            image, key = gallery_image(self.jpeg)
            return Tile(image, self.name, self.distance, self.similarity, self.rank, cache_key=key)
        return Tile(face_image(self.jpeg), self.name, self.distance, self.similarity, self.rank)


# Runs a drawing function somewhere off the event loop: asyncio.to_thread (the CLI), or the bot's
# DrawPool.run (its own small pool, so a collage never waits behind other photos' analyses).
Draw = Callable[..., Awaitable[bytes]]


async def match_cards(gallery: Gallery, ranking: Sequence[Match]) -> list[Card]:
    """Each match with its nearest photo's thumbnail (a gallery photo: shared by every user)."""
    thumbnails = await gallery.thumbnails([m.photo_id for m in ranking])
    return [
        Card(thumbnails.get(m.photo_id), m.name, m.distance, m.similarity, rank, shared=True)
        for rank, m in enumerate(ranking, start=1)
    ]


async def collage_for(
    gallery: Gallery,
    faces: Sequence[Face],
    rankings: Sequence[Sequence[Match]],
    t: Texts,
    footer: str = "",
    draw: Draw = asyncio.to_thread,
) -> bytes:
    """One JPEG: for each face (largest first, at most MAX_STACKED) the face beside its lookalikes.

    Thumbnails come from the gallery here; the drawing is done by `draw`, off the event loop.
    """
    pairs = list(zip(faces, rankings, strict=True))[:MAX_STACKED]
    boards = [(face.thumbnail, await match_cards(gallery, ranking)) for face, ranking in pairs]
    credits = await credits_line(gallery, rankings, t)
    return await draw(draw_collages, boards, collage_text(t, footer, credits))


def draw_collages(boards: list[tuple[bytes | None, list[Card]]], text: CollageText) -> bytes:
    """Each (face, matches) board drawn, stacked into one JPEG. The user's faces are decoded here and
    never cached; the matches' shared gallery photos may be (`Card.shared`)."""
    return render_collages([(face_image(face), [c.tile() for c in cards]) for face, cards in boards], text)


def draw_board(target: Card, entries: list[Card], text: CollageText) -> bytes:
    """A game's final board."""
    return render_board(target.tile(), [c.tile() for c in entries], text)


def draw_pairs(pairs: list[tuple[Card, Card]], text: CollageText) -> bytes:
    """A twin check's pairs."""
    return render_pairs([(a.tile(), b.tile()) for a, b in pairs], text)


def map_for(gallery: Gallery, query: np.ndarray, query_label: str) -> bytes:
    """A PNG of the gallery's embeddings in 2-D (PCA fitted on the gallery) with the query marked."""
    vectors, names = gallery.all_embeddings()
    points, pca = pca_2d(vectors)
    marker = pca.transform(np.asarray(query, dtype=np.float32).reshape(1, -1))[0]
    return render_map(points, names, marker, query_label, "Gallery embeddings (PCA)", pca=pca)
