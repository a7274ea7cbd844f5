"""Rankings → pictures: the collage of a photo's faces and their lookalikes, and the embedding map.

Shared by the CLI and the bot; knows the gallery (for thumbnails) and the texts, nothing of Telegram.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

from bot.texts import Texts
from engine.collage import CollageText, Tile, render_collage
from engine.embedding_map import pca_2d, render_map
from engine.faces import Face
from store.gallery import Gallery, Match

MAX_STACKED = 3  # faces per collage image: more would make each too small to read on a phone


def collage_text(t: Texts, footer: str = "") -> CollageText:
    return CollageText(title=t.title, you=t.you, distance=t.distance, similarity=t.similarity, footer=footer)


def face_image(jpeg: bytes | None) -> Image.Image:
    """A stored JPEG thumbnail as an image (a grey square if the photo has gone meanwhile)."""
    if not jpeg:
        return Image.new("RGB", (256, 256), (200, 200, 200))
    return Image.open(io.BytesIO(jpeg)).convert("RGB")


async def match_tiles(gallery: Gallery, ranking: Sequence[Match]) -> list[Tile]:
    """Each match with its nearest photo's thumbnail."""
    return [
        Tile(
            image=face_image(await gallery.thumbnail(m.photo_id)),
            name=m.name,
            distance=m.distance,
            similarity=m.similarity,
            rank=rank,
        )
        for rank, m in enumerate(ranking, start=1)
    ]


async def collage_for(
    gallery: Gallery, faces: Sequence[Face], rankings: Sequence[Sequence[Match]], t: Texts, footer: str = ""
) -> bytes:
    """One JPEG: for each face (largest first, at most MAX_STACKED) the face beside its lookalikes.

    Thumbnails come from the gallery here; the drawing runs in a thread (Pillow releases the GIL for most
    of it), so the bot's event loop is not held up.
    """
    text = collage_text(t, footer)
    pairs = list(zip(faces, rankings, strict=True))[:MAX_STACKED]
    boards = [(face_image(face.thumbnail), await match_tiles(gallery, ranking)) for face, ranking in pairs]
    return await asyncio.to_thread(_draw_stacked, boards, text)


def _draw_stacked(boards: list[tuple[Image.Image, list[Tile]]], text: CollageText) -> bytes:
    parts = [render_collage(face, tiles, text) for face, tiles in boards]
    return parts[0] if len(parts) == 1 else stack_jpegs(parts)


def stack_jpegs(parts: Sequence[bytes]) -> bytes:
    """Several JPEG images one above the other, as one JPEG (width of the widest)."""
    images = [Image.open(io.BytesIO(p)).convert("RGB") for p in parts]
    width = max(i.width for i in images)
    canvas = Image.new("RGB", (width, sum(i.height for i in images)), (255, 255, 255))
    top = 0
    for image in images:
        canvas.paste(image, (0, top))
        top += image.height
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=88, optimize=True)
    return buffer.getvalue()


def map_for(gallery: Gallery, query: np.ndarray, query_label: str) -> bytes:
    """A PNG of the gallery's embeddings in 2-D (PCA fitted on the gallery) with the query marked."""
    vectors, names = gallery.all_embeddings()
    points, pca = pca_2d(vectors)
    marker = pca.transform(np.asarray(query, dtype=np.float32).reshape(1, -1))[0]
    return render_map(points, names, marker, query_label, "Gallery embeddings (PCA)", pca=pca)
