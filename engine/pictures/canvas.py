"""What every answer picture is drawn with (Pillow, and OpenCV for enlarging photos): palette, sizes, the inputs (`Tile`, `CollageText`)
and the shapes (rounded cards, fitted photos, rank badges, progress bars, shortened text, header, footer,
credits, the empty state). The pictures themselves are `collage.py`, `board.py` and `pairs.py` beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.fonts import clean_text, fit_text, font

RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]

# Palette: light neutral canvas, white cards, one indigo accent, medal colours for the podium.
BACKGROUND: RGB = (244, 245, 248)
CARD: RGB = (255, 255, 255)
CARD_BORDER: RGB = (224, 227, 233)
PHOTO_PAD: RGB = (233, 236, 241)
TEXT: RGB = (28, 32, 44)
TEXT_SOFT: RGB = (107, 114, 128)
ACCENT: RGB = (79, 70, 229)
ACCENT_SOFT: RGB = (129, 140, 248)
ACCENT_TINT: RGB = (246, 246, 255)  # background of the highlighted (best) card
TRACK: RGB = (229, 231, 236)
MEDALS: dict[int, RGB] = {1: (234, 170, 0), 2: (148, 160, 178), 3: (196, 120, 58)}
BADGE_OTHER: RGB = (88, 96, 112)

MARGIN = 40
GAP = 32
RADIUS = 16

# Shrinking (the bot's 256 px thumbnails to 140 and 88): bicubic, not Lanczos, ~30% less time for ~1 level
# of 255 on average inside the photo, about the JPEG's own noise at quality 90.
PHOTO_RESAMPLE = Image.Resampling.BICUBIC
# Enlarging (the user's 256 px face to 612): bilinear, two thirds of bicubic's time for the collage's
# largest resize; a thumbnail enlarged 2.4x holds no edge that bicubic's sharper kernel would keep.
PHOTO_UPSCALE = Image.Resampling.BILINEAR
# OpenCV's bilinear enlargement samples the same points as Pillow's (pixel centres) and gives its pixels
# within one level of 255, in a seventh of the time: Pillow's resampler has no SIMD path.
_OPENCV_UPSCALE = {Image.Resampling.BILINEAR: cv2.INTER_LINEAR}


@dataclass(frozen=True)
class Tile:
    """One face with its caption numbers; `similarity` is a percentage 0..100.

    `cache_key` identifies the pixels of a photo every user shares (a gallery thumbnail, e.g. a digest of
    its JPEG): the drawing process may then keep it fitted to a size (`reuse.fitted_photo`). Never set it
    for a user's face: nothing of a user is kept beyond the answer being drawn.
    """

    image: Image.Image
    name: str
    distance: float | None = None
    similarity: float | None = None
    rank: int | None = None
    cache_key: bytes | None = None


@dataclass(frozen=True)
class CollageText:
    """Every word drawn on the images (so the bot can pass Korean or English).

    `empty` is the message drawn when there is nothing to show; when blank, `footer` is used instead,
    and when both are blank only a language-neutral icon is drawn. `credits` is the small last line that
    credits the gallery photos shown (e.g. "Photos: A. Author (CC BY-SA 4.0), …"), shortened to fit.
    """

    title: str
    you: str
    distance: str
    similarity: str
    footer: str = ""
    empty: str = ""
    credits: str = ""


# --- small drawing helpers -------------------------------------------------------------------------------


def _to_rgb(image: Image.Image, background: RGB) -> Image.Image:
    """Image of any mode -> RGB image (itself if RGB); transparency is flattened onto `background`, deep
    greys rescaled."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        grey = image.convert("F") if image.mode == "F" else image.convert("I")
        lo, hi = grey.getextrema()
        assert isinstance(lo, int | float) and isinstance(hi, int | float)  # one band: a (min, max) pair
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        return grey.point(lambda v: (v - lo) * scale).convert("L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (*background, 255))
        flat.alpha_composite(rgba)
        return flat.convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")  # no copy: callers only read it


def _fit_square(image: Image.Image, size: int) -> Image.Image:
    """Image and a side length -> size x size RGB image: whole picture kept (aspect kept), padded."""
    if image.width < 1 or image.height < 1:
        return Image.new("RGB", (size, size), PHOTO_PAD)
    rgb = _to_rgb(image, PHOTO_PAD)
    scale = size / max(rgb.width, rgb.height)
    w, h = max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))
    resized = _enlarged(rgb, (w, h)) if scale > 1 else _shrunk(rgb, (w, h))
    if (w, h) == (size, size):  # a square thumbnail (the bot's always are) needs no padding
        return resized
    cell = Image.new("RGB", (size, size), PHOTO_PAD)
    cell.paste(resized, ((size - w) // 2, (size - h) // 2))
    return cell


def _enlarged(rgb: Image.Image, size: tuple[int, int]) -> Image.Image:
    """An RGB image and a larger (width, height) -> the image enlarged with `PHOTO_UPSCALE`."""
    interpolation = _OPENCV_UPSCALE.get(PHOTO_UPSCALE)
    if interpolation is None:
        return rgb.resize(size, PHOTO_UPSCALE)
    return Image.fromarray(cv2.resize(np.asarray(rgb), size, interpolation=interpolation))


def _shrunk(rgb: Image.Image, size: tuple[int, int]) -> Image.Image:
    """An RGB image and a smaller (width, height) -> the image shrunk with `PHOTO_RESAMPLE`."""
    # reducing_gap makes shrinking very large photos fast with no visible loss.
    return rgb.resize(size, PHOTO_RESAMPLE, reducing_gap=3.0)


@lru_cache(maxsize=256)
def _round_mask(width: int, height: int, radius: int) -> Image.Image:
    """Size and corner radius -> an anti-aliased "L" mask of a rounded rectangle (drawn 4x, reduced)."""
    ss = 4
    big = Image.new("L", (width * ss, height * ss), 0)
    ImageDraw.Draw(big).rounded_rectangle(
        (0, 0, width * ss - 1, height * ss - 1), radius=radius * ss, fill=255
    )
    return big.reduce(ss)


def _corners(width: int, height: int, side: int) -> tuple[Box, Box, Box, Box]:
    """Size and a side -> the boxes of the four side x side corners (top-left, top-right, bottom-...)."""
    return (
        (0, 0, side, side),
        (width - side, 0, width, side),
        (0, height - side, side, height),
        (width - side, height - side, width, height),
    )


@lru_cache(maxsize=256)
def _mask_corners(width: int, height: int, radius: int) -> tuple[int, tuple[Image.Image, ...]]:
    """Size and corner radius -> (side, the mask's four corners) where the mask outside those corners is
    fully opaque; side 0 when the corners would meet (a disc, a pill: all of it is corners)."""
    mask = _round_mask(width, height, radius)
    side = radius
    while 2 * side < min(width, height):
        rest = mask.copy()
        for box in _corners(width, height, side):
            rest.paste(255, box)
        if rest.getextrema()[0] == 255:
            return side, tuple(mask.crop(box) for box in _corners(width, height, side))
        side += 1  # anti-aliasing may reach a pixel past the radius
    return 0, ()


# A masked paste costs ~12 ns per pixel for a colour, ~3 ns for an image; a plain one almost nothing, but
# every paste costs ~15 us of overhead: below these areas one masked paste beats seven plain ones.
_SPLIT_COLOUR_AREA = 8_192
_SPLIT_IMAGE_AREA = 65_536


def _paste_rounded(
    canvas: Image.Image, source: RGB | Image.Image, xy: tuple[int, int], size: tuple[int, int], radius: int
) -> None:
    """Canvas, a colour or an image of `size`, top-left corner and radius -> pasted as a rounded rectangle.

    Same pixels as pasting through the whole `_round_mask`; large areas paste only their four corners
    through the mask and the opaque cross between them plainly.
    """
    w, h = size
    x, y = xy
    image = source if isinstance(source, Image.Image) else None
    side, masks = _mask_corners(w, h, radius)
    if not side or w * h < (_SPLIT_IMAGE_AREA if image else _SPLIT_COLOUR_AREA):
        canvas.paste(source, (x, y, x + w, y + h), _round_mask(w, h, radius))
        return
    c = side
    # The cross: a full-height middle band, then the left and right bands between the corners.
    for box in ((c, 0, w - c, h), (0, c, c, h - c), (w - c, c, w, h - c)):
        canvas.paste(image.crop(box) if image else source, (x + box[0], y + box[1], x + box[2], y + box[3]))
    for box, mask in zip(_corners(w, h, c), masks, strict=True):
        canvas.paste(image.crop(box) if image else source, (x + box[0], y + box[1]), mask)


def rounded(canvas: Image.Image, box: Box, radius: int, fill: RGB) -> None:
    """Canvas, box (x0, y0, x1, y1 exclusive) -> paints an anti-aliased rounded rectangle."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if w < 1 or h < 1:
        return
    radius = min(radius, w // 2, h // 2)
    _paste_rounded(canvas, fill, (x0, y0), (w, h), radius)


def card(canvas: Image.Image, box: Box, border: RGB = CARD_BORDER, width: int = 1, fill: RGB = CARD) -> None:
    """Canvas and box -> a rounded card (white by default) with a `width`-px border of colour `border`."""
    x0, y0, x1, y1 = box
    rounded(canvas, box, RADIUS, border)
    rounded(canvas, (x0 + width, y0 + width, x1 - width, y1 - width), RADIUS - width, fill)


def photo(canvas: Image.Image, image: Image.Image, xy: tuple[int, int], size: int, radius: int) -> None:
    """Canvas, face image, top-left corner and side -> pastes the face fitted into a rounded square."""
    _paste_rounded(canvas, _fit_square(image, size), xy, (size, size), min(radius, size // 2))


@lru_cache(maxsize=128)
def _badge_patch(diameter: int, rank: int) -> tuple[Image.Image, Image.Image]:
    """Diameter and rank -> the badge drawn once on white: its picture and the mask of its outer disc.

    Pasted through that mask it gives the same pixels as drawing the white disc, the medal disc and the
    number on the canvas: the medal and the number stay where the white disc is opaque.
    """
    ring = max(2, diameter // 14)
    outer = diameter + 2 * ring
    patch = Image.new("RGB", (outer, outer), CARD)
    c, r = outer // 2, diameter // 2
    rounded(
        patch, (c - r, c - r, c - r + diameter, c - r + diameter), diameter, MEDALS.get(rank, BADGE_OTHER)
    )
    label = str(rank)
    size = round(diameter * (0.5 if len(label) < 3 else 0.38))
    ImageDraw.Draw(patch).text((c, c), label, font=font(size, "Bold"), fill=CARD, anchor="mm")
    return patch, _round_mask(outer, outer, c)


def badge(canvas: Image.Image, center: tuple[int, int], diameter: int, rank: int) -> None:
    """Canvas, centre, diameter and rank -> a medal-coloured disc with a white ring and the rank number."""
    patch, mask = _badge_patch(diameter, rank)
    canvas.paste(patch, (center[0] - patch.width // 2, center[1] - patch.height // 2), mask)


def progress_bar(canvas: Image.Image, box: Box, fraction: float, color: RGB) -> None:
    """Canvas, box and a fraction 0..1 -> a pill-shaped progress bar (track plus filled part)."""
    x0, y0, x1, y1 = box
    h = y1 - y0
    rounded(canvas, box, h // 2, TRACK)
    fraction = min(1.0, max(0.0, fraction))
    if fraction > 0:
        # Never narrower than the bar is tall, so small values still show a round dot.
        filled = max(h, round((x1 - x0) * fraction))
        rounded(canvas, (x0, y0, x0 + filled, y1), h // 2, color)


def draw_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    face: ImageFont.FreeTypeFont,
    fill: RGB,
    max_width: float,
    anchor: str = "ls",
) -> str:
    """Draw, position, text, font, colour and a width limit -> draws the shortened text; returns it."""
    shown = fit_text(text, face, max_width)
    if shown:
        draw.text(xy, shown, font=face, fill=fill, anchor=anchor)
    return shown


def drawable_name(text: str) -> str:
    """A user-supplied name -> something drawable ("?" when nothing printable is left)."""
    return clean_text(text) or "?"


def clamped_similarity(tile: Tile) -> float | None:
    """Tile -> its similarity clamped to 0..100, or None when missing / not a number."""
    s = tile.similarity
    if s is None or not math.isfinite(s):
        return None
    return min(100.0, max(0.0, float(s)))


def percent_label(value: float) -> str:
    """Similarity 0..100 -> label like "87.3%" (no decimals at the ends of the scale)."""
    return f"{value:.0f}%" if value in (0.0, 100.0) else f"{value:.1f}%"


def distance_label(tile: Tile) -> str | None:
    """Tile -> its distance with 3 decimals, or None when missing / not a number."""
    d = tile.distance
    return None if d is None or not math.isfinite(d) else f"{d:.3f}"


TITLE_SIZE = 44
TITLE_BASELINE = MARGIN + round(TITLE_SIZE * 0.95)
CONTENT_TOP = TITLE_BASELINE + 24 + 28  # title, accent underline, breathing room


def draw_header(canvas: Image.Image, title: str) -> None:
    """Canvas and title -> draws the title (shortened to the canvas width) with an accent underline."""
    draw = ImageDraw.Draw(canvas)
    face = font(TITLE_SIZE, "Bold")
    draw_text(draw, (MARGIN, TITLE_BASELINE), title, face, TEXT, canvas.width - 2 * MARGIN)
    rounded(canvas, (MARGIN, TITLE_BASELINE + 18, MARGIN + 56, TITLE_BASELINE + 24), 3, ACCENT)


def draw_footer(canvas: Image.Image, text: str, lift: int = 0) -> None:
    """Canvas and text -> draws a small grey line at the bottom margin, `lift` px higher (nothing for blank
    text)."""
    if clean_text(text):
        draw = ImageDraw.Draw(canvas)
        y = canvas.height - MARGIN + 6 - lift
        draw_text(draw, (MARGIN, y), text, font(20, "Regular"), TEXT_SOFT, canvas.width - 2 * MARGIN)


FOOTER_H = 40  # extra canvas height reserved for the footer line
CREDITS_H = 28  # extra canvas height reserved for the photo credits line


def credits_height(text: CollageText, has_content: bool) -> int:
    """Labels and whether there is anything to show -> the extra height the credits line needs (0 or
    `CREDITS_H`)."""
    return CREDITS_H if has_content and clean_text(text.credits) else 0


def draw_credits(canvas: Image.Image, text: str) -> None:
    """Canvas and credits -> draws them in a smaller grey line at the very bottom, shortened to fit."""
    if clean_text(text):
        draw = ImageDraw.Draw(canvas)
        y = canvas.height - MARGIN + 6
        draw_text(draw, (MARGIN, y), text, font(16, "Regular"), TEXT_SOFT, canvas.width - 2 * MARGIN)


def footer_drawn(text: CollageText, has_content: bool) -> bool:
    """Labels and whether there is anything to show -> True when the footer line gets drawn.

    With nothing to show and no `empty` message, the footer is the empty-state message instead.
    """
    return bool(clean_text(text.footer)) and (has_content or bool(clean_text(text.empty)))


def empty_message(text: CollageText) -> str:
    """Labels -> the message for an empty result: `empty`, else `footer` (may be blank: icon only)."""
    return text.empty if clean_text(text.empty) else text.footer


def empty_state(canvas: Image.Image, box: Box, message: str) -> None:
    """Canvas, box and message -> a card with a neutral "nothing here" icon and the centred message."""
    card(canvas, box)
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2 - (24 if clean_text(message) else 0)
    # Icon: grey ring with a dash — reads as "none" in any language.
    r, ring = 40, 6
    rounded(canvas, (cx - r, cy - r, cx + r, cy + r), r, TRACK)
    rounded(canvas, (cx - r + ring, cy - r + ring, cx + r - ring, cy + r - ring), r, CARD)
    rounded(canvas, (cx - 18, cy - 3, cx + 18, cy + 3), 3, TEXT_SOFT)
    if clean_text(message):
        draw = ImageDraw.Draw(canvas)
        draw_text(draw, (cx, cy + r + 44), message, font(28, "Medium"), TEXT_SOFT, x1 - x0 - 48, anchor="ms")


def blank(width: int, height: int) -> Image.Image:
    """Width and height -> a fresh canvas in the background colour."""
    return Image.new("RGB", (width, height), BACKGROUND)


# --- the face card (the collage's user, the board's target) ----------------------------------------------

FACE_PAD = 16
LABEL_H = 72


def face_card(canvas: Image.Image, xy: tuple[int, int], width: int, label: str, label_size: int) -> int:
    """Canvas, top-left, card width and caption -> the big face card without its face; returns its height."""
    x, y = xy
    side = width - 2 * FACE_PAD
    height = FACE_PAD + side + LABEL_H
    card(canvas, (x, y, x + width, y + height))
    draw = ImageDraw.Draw(canvas)
    draw_text(
        draw,
        (x + width // 2, y + FACE_PAD + side + LABEL_H // 2),
        label,
        font(label_size, "Bold"),
        TEXT,
        side,
        anchor="mm",
    )
    return height


def face_photo(canvas: Image.Image, xy: tuple[int, int], width: int, image: Image.Image) -> None:
    """Canvas, the face card's top-left and width, face -> the face pasted into its card."""
    photo(canvas, image, (xy[0] + FACE_PAD, xy[1] + FACE_PAD), width - 2 * FACE_PAD, 12)
