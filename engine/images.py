"""Bytes or a path in, an upright RGB image out — or a clear refusal.

Every guard runs before pixels are decoded: the file size, the format, the pixel count from the header.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import simplejpeg
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

MAX_FILE_BYTES = 20 * 1024 * 1024  # Telegram's download limit for bots, and ours for any file
MAX_PIXELS = 50_000_000  # a 50 MP phone photo decodes to 150 MB of RGB: the most we accept
ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"})

# face_recognition turns this on for the whole process when imported. A truncated upload is a broken
# upload: we refuse it rather than embed a half-grey face. (We never import face_recognition at run time,
# but tests and benches do, so this is set again where decoding happens.)
ImageFile.LOAD_TRUNCATED_IMAGES = False
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ORIENTATION = 0x0112  # the EXIF tag


class ImageError(ValueError):
    """The input cannot be used as a photo. `code` is stable: too_large, bad_image, unsupported (an image
    in a format not served), not_found."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Raised in worker processes: pickle with both arguments.
        return type(self), (self.code, self.message)


@dataclass(frozen=True)
class Photo:
    """A decoded photo: upright RGB pixels (H, W, 3) uint8 and where they came from."""

    pixels: np.ndarray
    format: str

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.pixels.shape[1], self.pixels.shape[0]


def read_source(source: bytes | str | Path) -> bytes:
    """Return the bytes of `source` (bytes as given, or a file read after a size check)."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        path = Path(source)
        if not path.exists():
            raise ImageError("not_found", "no such file")
        if not path.is_file():
            raise ImageError("bad_image", "not a file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImageError("too_large", f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
        data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise ImageError("too_large", f"file larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    if not data:
        raise ImageError("bad_image", "empty file")
    return data


def decode_photo(source: bytes | str | Path) -> Photo:
    """Decode JPEG/PNG/WebP/GIF/BMP/TIFF bytes or a file into an upright RGB `Photo`.

    Applies the EXIF orientation, flattens transparency onto white, takes a GIF's first frame, maps
    grayscale, palette, 16-bit and CMYK to 8-bit RGB. Raises `ImageError` for anything unusable.
    """
    data = read_source(source)
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            # Pillow warns about harmless damage (corrupt EXIF, odd TIFF tags) on stderr, which would break
            # the bot's one-line log; the damage that matters raises. Bomb warnings are errors here.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            _check_header(image)
            pixels = _plain_jpeg(data, image)
            if pixels is None:
                image.load()
                ImageOps.exif_transpose(image, in_place=True)  # in place: a copy of every photo costs ~2 ms
                pixels = np.asarray(_to_rgb(image), dtype=np.uint8)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("too_large", "too many pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(
            "bad_image", "not a readable image (corrupt, truncated or another kind of file)"
        ) from exc
    return Photo(pixels=pixels, format=image.format or "")


def _plain_jpeg(data: bytes, image: Image.Image) -> np.ndarray | None:
    """The pixels of a colour JPEG with no EXIF rotation (every photo Telegram sends), decoded by
    libjpeg-turbo straight into an array: Pillow's own pixels, without its copy into numpy (about half the
    decoding time). None for anything else, or anything libjpeg-turbo warns about (a truncated file, stray
    bytes): Pillow decides those as before."""
    if image.format != "JPEG" or image.mode != "RGB" or image.getexif().get(ORIENTATION, 1) != 1:
        return None
    try:
        return simplejpeg.decode_jpeg(data, colorspace="RGB", strict=True)
    except ValueError:
        return None


def _check_header(image: Image.Image) -> None:
    """Refuse formats we do not serve and pixel counts we will not decode, from the header alone."""
    if image.format not in ALLOWED_FORMATS:
        raise ImageError("unsupported", f"unsupported image format {image.format or 'unknown'}")
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError("bad_image", "image has no pixels")
    if width * height > MAX_PIXELS:
        raise ImageError("too_large", f"{width}x{height} is more than {MAX_PIXELS // 1_000_000} megapixels")


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB; transparency is composited onto white (a sticker-like PNG selfie)."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit grayscale: scale to 8 bits by the actual range so it is not blown out.
        arr = np.asarray(image, dtype=np.float64)
        top = float(arr.max()) or 1.0
        image = Image.fromarray((arr * (255.0 / top)).clip(0, 255).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def encode_jpeg(image: Image.Image | np.ndarray, quality: int = 90) -> bytes:
    """RGB pixels or a PIL image in, JPEG bytes out."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    (image if image.mode == "RGB" else image.convert("RGB")).save(
        buffer, "JPEG", quality=quality, optimize=True
    )
    return buffer.getvalue()
