"""What repeats between answers, made once per drawing process: gallery photos fitted to a tile's size, and
text (the glyph mask of a string, its width, its shortened form).

A bot's gallery is finite, so the same celebrity photos, names, distances (0.000..1.000), percentages and
labels come back answer after answer. Each cache here is an LRU bounded by an estimate of the memory it
holds, and counts its hits (`stats`).

Privacy: only what every user shares is kept. A photo is cached only when its `Tile.cache_key` is set,
which the service sets for gallery thumbnails alone; a user's face has no key and is always fitted afresh.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from cachetools import LRUCache
from PIL import Image, ImageDraw, ImageFont

import engine.pictures.canvas as canvas
from engine.fonts import fit_text
from engine.pictures.canvas import RGB, Tile

V = TypeVar("V")

# What one entry costs beyond its pixels: the key tuple, the cache's bookkeeping, the Python objects.
ENTRY_OVERHEAD = 400


@dataclass(frozen=True)
class MemoStats:
    """One cache's counters: lookups answered from it, lookups that made the value, entries, bytes held,
    and its bound in bytes."""

    hits: int
    misses: int
    entries: int
    bytes: int
    bound: int

    @property
    def hit_rate(self) -> float:
        """-> hits / lookups (0.0 before any lookup)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class Memo(Generic[V]):
    """A thread-safe LRU bounded by `max_bytes` (each entry counted as `size_of(value) + ENTRY_OVERHEAD`).

    Thread-safe because the bot's draw pool may be threads; the value is made outside the lock (two
    threads missing the same key both make it, and the second store wins: same value).
    """

    def __init__(self, max_bytes: int, size_of: Callable[[V], int]) -> None:
        self.max_bytes = max_bytes
        self._size_of = size_of
        self._lock = threading.Lock()
        self._cache: LRUCache[Hashable, V] = LRUCache(max_bytes, getsizeof=self._entry_bytes)
        self._hits = 0
        self._misses = 0

    def _entry_bytes(self, value: V) -> int:
        """A value -> the bytes its entry is counted as."""
        return self._size_of(value) + ENTRY_OVERHEAD

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        """Key and a maker -> the cached value, or `make()` stored under the key (unless larger than the
        whole bound)."""
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._hits += 1
                return found
            self._misses += 1
        value = make()
        if self._entry_bytes(value) <= self.max_bytes:
            with self._lock:
                self._cache[key] = value
        return value

    def stats(self) -> MemoStats:
        """-> hits, misses, entries and bytes held now."""
        with self._lock:
            return MemoStats(
                self._hits, self._misses, len(self._cache), int(self._cache.currsize), self.max_bytes
            )

    def keys(self) -> list[Hashable]:
        """-> the keys held now (in no particular order)."""
        with self._lock:
            return list(self._cache.keys())

    def clear(self) -> None:
        """Drop every entry and zero the counters."""
        with self._lock:
            self._cache.clear()
            self._hits = self._misses = 0


def _image_bytes(image: Image.Image) -> int:
    """Image -> bytes its pixels take in memory (Pillow keeps RGB as 4 bytes a pixel, L as 1)."""
    return image.width * image.height * (1 if image.mode in ("1", "L", "P") else 4)


def _mask_bytes(entry: tuple[Image.Image, tuple[int, int]]) -> int:
    """A glyph mask and its offset -> bytes held."""
    return _image_bytes(entry[0])


def _text_bytes(value: object) -> int:
    """A width or a shortened string -> bytes held (small: the overhead dominates)."""
    return 4 * len(value) if isinstance(value, str) else 0


# Bounds, 32 MB at most in all. Photos: a 140 px tile is 78 KB in memory (Pillow's 4 bytes a pixel), an
# 88 px one 31 KB, so 8 MB keep ~100-250 tiles of the most recently shown gallery photos. Masks: a name is
# ~5-9 KB at 38 px and ~3-4 KB at 26 px, a number at 20 px ~1 KB: 16 MB keep the names of ~1,500
# celebrities at both sizes and every number (never more than ~40,000 entries: the overhead). Widths and
# shortened strings: at most ~10,000 entries each in 4 MB.
PHOTO_CACHE_BYTES = 8 << 20
MASK_CACHE_BYTES = 16 << 20
LENGTH_CACHE_BYTES = 4 << 20

_photos: Memo[Image.Image] = Memo(PHOTO_CACHE_BYTES, _image_bytes)
_masks: Memo[tuple[Image.Image, tuple[int, int]]] = Memo(MASK_CACHE_BYTES, _mask_bytes)
_lengths: Memo[float] = Memo(LENGTH_CACHE_BYTES, _text_bytes)
_fitted: Memo[str] = Memo(LENGTH_CACHE_BYTES, _text_bytes)


def bound_photos(max_bytes: int) -> None:
    """Bytes -> the fitted photos' cache replaced by an empty one of that bound (to weigh memory against
    hits: `bench/collage_gallery.py --photo-mb`)."""
    global _photos
    _photos = Memo(max_bytes, _image_bytes)


def stats() -> dict[str, MemoStats]:
    """-> each cache's counters: "photos", "masks", "lengths", "fitted"."""
    return {
        "photos": _photos.stats(),
        "masks": _masks.stats(),
        "lengths": _lengths.stats(),
        "fitted": _fitted.stats(),
    }


def photo_keys() -> list[Hashable]:
    """-> the keys of the fitted photos held now: (`Tile.cache_key`, size, filter)."""
    return _photos.keys()


def clear() -> None:
    """Empty every cache and zero its counters (benchmarks' cold runs, tests)."""
    for memo in (_photos, _masks, _lengths, _fitted):
        memo.clear()


# --- photos ----------------------------------------------------------------------------------------------


def fitted_photo(tile: Tile, size: int) -> Image.Image:
    """A match tile and a side -> its photo fitted into a size x size square (read-only: callers paste it).

    Cached under (`tile.cache_key`, size, filters) when the tile has a key — a gallery photo, the same for
    every user; without one (a user's face) it is fitted afresh and nothing of it is kept. On a hit the
    tile's image is never touched, so a lazily opened JPEG is never decoded.
    """
    if tile.cache_key is None:
        return canvas._fit_square(tile.image, size)
    key = (tile.cache_key, size, canvas.PHOTO_RESAMPLE, canvas.PHOTO_UPSCALE)  # a test may change them
    return _photos.get(key, lambda: canvas._fit_square(tile.image, size))


def photo(image: Image.Image, tile: Tile, xy: tuple[int, int], size: int, radius: int) -> None:
    """Canvas, match tile, top-left corner and side -> pastes its photo fitted into a rounded square
    (`canvas.photo`'s pixels, from the cache when the tile has a key)."""
    canvas._paste_rounded(image, fitted_photo(tile, size), xy, (size, size), min(radius, size // 2))


# --- text ------------------------------------------------------------------------------------------------


def text_length(face: ImageFont.FreeTypeFont, text: str) -> float:
    """Font and text -> its advance width in pixels, as `face.getlength(text)` (the font objects are shared
    and never changed, so the font itself is the key)."""
    return _lengths.get((text, face), lambda: face.getlength(text))


def fitted_text(text: str, face: ImageFont.FreeTypeFont, max_width: float) -> str:
    """Text, font and a width -> `engine.fonts.fit_text`'s result (cleaned, shortened with "…")."""
    return _fitted.get((text, face, max_width), lambda: fit_text(text, face, max_width))


def _glyph_mask(
    text: str, face: ImageFont.FreeTypeFont, anchor: str, start: tuple[float, float]
) -> tuple[Image.Image, tuple[int, int]]:
    """Text, font, anchor and the position's fractional part -> the "L" coverage mask Pillow draws through
    and its offset from the position's integer part (what `ImageDraw.text` asks FreeType for)."""
    mask, offset = face.getmask2(text, "L", anchor=anchor, start=start)
    # getmask2 hands back Pillow's core image; wrapped once so it can be pasted through as an Image.
    return Image.Image()._new(mask), offset


def draw_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    face: ImageFont.FreeTypeFont,
    fill: RGB,
    anchor: str = "la",
) -> None:
    """Draw, position, one line of text, font, colour, anchor -> the same pixels as
    `draw.text(xy, text, font=face, fill=fill, anchor=anchor)`, from a cached glyph mask.

    `ImageDraw.text` renders the mask for (text, font, anchor, fractional position) and blends the ink
    through it at the position's integer part plus the mask's offset; `ImageDraw.bitmap` is that blend.
    """
    x, y = xy
    start = (math.modf(x)[0], math.modf(y)[0])
    mask, (dx, dy) = _masks.get((text, face, anchor, start), lambda: _glyph_mask(text, face, anchor, start))
    draw.bitmap((int(x) + dx, int(y) + dy), mask, fill=fill)


def draw_fitted_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    face: ImageFont.FreeTypeFont,
    fill: RGB,
    max_width: float,
    anchor: str = "ls",
) -> str:
    """As `canvas.draw_text` (shortened to `max_width`, drawn, returned), from the caches."""
    shown = fitted_text(text, face, max_width)
    if shown:
        draw_text(draw, xy, shown, face, fill, anchor)
    return shown
