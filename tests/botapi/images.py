"""Photos as Telegram stores them: re-encoded JPEG sizes, checks of what a bot uploads."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

from PIL import Image, ImageFile

from tests.botapi.model import PHOTO_JPEG_QUALITY, PHOTO_MAX_SIDE, PHOTO_SMALL_SIDE

# --------------------------------------------------------------------------------------------------
# Images


@dataclass(frozen=True)
class EncodedPhoto:
    """A photo as Telegram stores it: JPEG sizes (bytes, width, height), smallest first."""

    sizes: list[tuple[bytes | Callable[[], bytes], int, int]]
    original_width: int
    original_height: int


# Telegram re-encodes on its own servers: a bench sending the same few photos again and again should not
# spend the bot's cores on it (the result depends on the bytes alone; each send still gets new file ids).
@lru_cache(maxsize=32)
def reencode_photo(data: bytes) -> EncodedPhoto:
    """Re-encode like Telegram: EXIF-less JPEG, no rotation applied, longest side <= 1280."""
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        if image.format == "JPEG":
            image.draft("RGB", (PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
        rgb = _flatten_to_rgb(image)
    sizes = []
    if max(rgb.size) > PHOTO_SMALL_SIDE:
        sizes.append(_encode_jpeg(rgb, PHOTO_SMALL_SIDE))
    sizes.append(_encode_jpeg(rgb, PHOTO_MAX_SIDE))
    return EncodedPhoto(sizes=sizes, original_width=width, original_height=height)


def _checked_size(data: bytes) -> tuple[int, int]:
    """(width, height) of an image Telegram would accept; raises if it does not decode to the end."""
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # importing face_recognition (some tests do) turns it on
    with Image.open(io.BytesIO(data)) as image:
        size = image.size
        image.draft("RGB", (max(1, size[0] // 8), max(1, size[1] // 8)))  # JPEG: decode at 1/8 scale
        image.load()
    return size


def _fitted(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(width, height) scaled to fit within `max_side`, aspect kept (never enlarged)."""
    if max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resized_jpeg(decoded: Callable[[], Image.Image], size: tuple[int, int]) -> Callable[[], bytes]:
    """A function making the JPEG of the decoded image at `size` (once: later calls return the bytes)."""

    @cache
    def make() -> bytes:
        image = decoded()
        if image.size != size:
            image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=PHOTO_JPEG_QUALITY)
        return buffer.getvalue()

    return make


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _encode_jpeg(image: Image.Image, max_side: int) -> tuple[bytes, int, int]:
    copy = image.copy()
    copy.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    copy.save(buffer, "JPEG", quality=PHOTO_JPEG_QUALITY)
    return buffer.getvalue(), copy.width, copy.height


@lru_cache(maxsize=1)
def _sticker_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (512, 512), (255, 200, 0, 255)).save(buffer, "WEBP")
    return buffer.getvalue()


_VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(2048)
