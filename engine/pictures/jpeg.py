"""A finished picture -> JPEG bytes that Telegram accepts as a photo (sendPhoto's limits)."""

from __future__ import annotations

import io
import math

from PIL import Image

from engine.pictures.canvas import blank

# Telegram's limits for a photo (sendPhoto): file size, width + height, and aspect ratio.
TELEGRAM_MAX_BYTES = 10 * 1024 * 1024
TELEGRAM_MAX_SIDE_SUM = 10_000
TELEGRAM_MAX_RATIO = 20.0
# Chroma at half resolution (4:2:0), as Telegram stores every photo it is sent: it re-encodes them, so
# the 4:4:4 sent before reached no one, and cost a third more bytes to upload and ~3 ms more to encode.
SUBSAMPLING = 2


def _telegram_shape(image: Image.Image) -> Image.Image:
    """Image -> the same image padded (aspect > 20) and/or shrunk (width + height > 10000) to fit."""
    # Rounding after a shrink can tip the ratio just over the limit, so repeat until both hold.
    while True:
        w, h = image.size
        if max(w, h) > TELEGRAM_MAX_RATIO * min(w, h):
            # Pad the short side with background rather than distort or crop the content.
            nw = max(w, math.ceil(h / TELEGRAM_MAX_RATIO))
            nh = max(h, math.ceil(w / TELEGRAM_MAX_RATIO))
            padded = blank(nw, nh)
            padded.paste(image, ((nw - w) // 2, (nh - h) // 2))
            image = padded
        elif w + h > TELEGRAM_MAX_SIDE_SUM:
            scale = (TELEGRAM_MAX_SIDE_SUM - 2) / (w + h)
            size = (max(1, math.floor(w * scale)), max(1, math.floor(h * scale)))
            image = image.resize(size, Image.Resampling.LANCZOS)
        else:
            return image


def encode_jpeg(image: Image.Image) -> bytes:
    """Finished canvas -> JPEG bytes guaranteed to meet Telegram's photo limits."""
    image = _telegram_shape(image if image.mode == "RGB" else image.convert("RGB"))  # no 4.5 MB copy
    quality = 90
    while True:
        buffer = io.BytesIO()
        # No optimize: same pixels, and its second Huffman pass cost a third of the encode to save ~9%.
        image.save(buffer, "JPEG", quality=quality, subsampling=SUBSAMPLING, optimize=False)
        data = buffer.getvalue()
        if len(data) <= TELEGRAM_MAX_BYTES:
            break
        if quality > 60:
            quality -= 10
        else:
            image = image.resize(
                (max(1, image.width * 3 // 4), max(1, image.height * 3 // 4)), Image.Resampling.LANCZOS
            )
    w, h = image.size
    assert w + h <= TELEGRAM_MAX_SIDE_SUM and max(w, h) <= TELEGRAM_MAX_RATIO * min(w, h)
    return data
