"""Result images for the bot, drawn with Pillow only: lookalike collage, group-game board, twin-check pairs.

Every function takes PIL images, names and numbers and returns JPEG bytes that Telegram accepts as a
photo (<= 10 MB, width + height <= 10000, aspect ratio <= 20). Every visible word comes from
`CollageText`, so the caller picks the language; names and labels may be Korean.
"""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from engine.fonts import clean_text, fit_text, font

__all__ = [
    "TELEGRAM_MAX_BYTES",
    "TELEGRAM_MAX_RATIO",
    "TELEGRAM_MAX_SIDE_SUM",
    "CollageText",
    "Tile",
    "render_board",
    "render_collage",
    "render_pairs",
]

# Telegram's limits for a photo (sendPhoto): file size, width + height, and aspect ratio.
TELEGRAM_MAX_BYTES = 10 * 1024 * 1024
TELEGRAM_MAX_SIDE_SUM = 10_000
TELEGRAM_MAX_RATIO = 20.0

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

# Bicubic, not Lanczos: ~30% less time; on the bot's 256 px thumbnails (enlarged to 612, shrunk to 140 and
# 88) it differs by ~1 level of 255 on average inside the photo, about the JPEG's own noise at quality 90.
PHOTO_RESAMPLE = Image.Resampling.BICUBIC


@dataclass(frozen=True)
class Tile:
    """One face with its caption numbers; `similarity` is a percentage 0..100."""

    image: Image.Image
    name: str
    distance: float | None = None
    similarity: float | None = None
    rank: int | None = None


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
    # reducing_gap makes shrinking very large photos fast with no visible loss.
    resized = rgb.resize((w, h), PHOTO_RESAMPLE, reducing_gap=3.0)
    if (w, h) == (size, size):  # a square thumbnail (the bot's always are) needs no padding
        return resized
    cell = Image.new("RGB", (size, size), PHOTO_PAD)
    cell.paste(resized, ((size - w) // 2, (size - h) // 2))
    return cell


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


def _rounded(canvas: Image.Image, box: Box, radius: int, fill: RGB) -> None:
    """Canvas, box (x0, y0, x1, y1 exclusive) -> paints an anti-aliased rounded rectangle."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if w < 1 or h < 1:
        return
    radius = min(radius, w // 2, h // 2)
    _paste_rounded(canvas, fill, (x0, y0), (w, h), radius)


def _card(canvas: Image.Image, box: Box, border: RGB = CARD_BORDER, width: int = 1, fill: RGB = CARD) -> None:
    """Canvas and box -> a rounded card (white by default) with a `width`-px border of colour `border`."""
    x0, y0, x1, y1 = box
    _rounded(canvas, box, RADIUS, border)
    _rounded(canvas, (x0 + width, y0 + width, x1 - width, y1 - width), RADIUS - width, fill)


def _photo(canvas: Image.Image, image: Image.Image, xy: tuple[int, int], size: int, radius: int) -> None:
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
    _rounded(
        patch, (c - r, c - r, c - r + diameter, c - r + diameter), diameter, MEDALS.get(rank, BADGE_OTHER)
    )
    label = str(rank)
    size = round(diameter * (0.5 if len(label) < 3 else 0.38))
    ImageDraw.Draw(patch).text((c, c), label, font=font(size, "Bold"), fill=CARD, anchor="mm")
    return patch, _round_mask(outer, outer, c)


def _badge(canvas: Image.Image, center: tuple[int, int], diameter: int, rank: int) -> None:
    """Canvas, centre, diameter and rank -> a medal-coloured disc with a white ring and the rank number."""
    patch, mask = _badge_patch(diameter, rank)
    canvas.paste(patch, (center[0] - patch.width // 2, center[1] - patch.height // 2), mask)


def _bar(canvas: Image.Image, box: Box, fraction: float, color: RGB) -> None:
    """Canvas, box and a fraction 0..1 -> a pill-shaped progress bar (track plus filled part)."""
    x0, y0, x1, y1 = box
    h = y1 - y0
    _rounded(canvas, box, h // 2, TRACK)
    fraction = min(1.0, max(0.0, fraction))
    if fraction > 0:
        # Never narrower than the bar is tall, so small values still show a round dot.
        filled = max(h, round((x1 - x0) * fraction))
        _rounded(canvas, (x0, y0, x0 + filled, y1), h // 2, color)


def _text(
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


def _name(text: str) -> str:
    """A user-supplied name -> something drawable ("?" when nothing printable is left)."""
    return clean_text(text) or "?"


def _similarity(tile: Tile) -> float | None:
    """Tile -> its similarity clamped to 0..100, or None when missing / not a number."""
    s = tile.similarity
    if s is None or not math.isfinite(s):
        return None
    return min(100.0, max(0.0, float(s)))


def _percent(value: float) -> str:
    """Similarity 0..100 -> label like "87.3%" (no decimals at the ends of the scale)."""
    return f"{value:.0f}%" if value in (0.0, 100.0) else f"{value:.1f}%"


def _distance(tile: Tile) -> str | None:
    """Tile -> its distance with 3 decimals, or None when missing / not a number."""
    d = tile.distance
    return None if d is None or not math.isfinite(d) else f"{d:.3f}"


TITLE_SIZE = 44
TITLE_BASELINE = MARGIN + round(TITLE_SIZE * 0.95)
CONTENT_TOP = TITLE_BASELINE + 24 + 28  # title, accent underline, breathing room


def _header(canvas: Image.Image, title: str) -> None:
    """Canvas and title -> draws the title (shortened to the canvas width) with an accent underline."""
    draw = ImageDraw.Draw(canvas)
    face = font(TITLE_SIZE, "Bold")
    _text(draw, (MARGIN, TITLE_BASELINE), title, face, TEXT, canvas.width - 2 * MARGIN)
    _rounded(canvas, (MARGIN, TITLE_BASELINE + 18, MARGIN + 56, TITLE_BASELINE + 24), 3, ACCENT)


def _footer(canvas: Image.Image, text: str, lift: int = 0) -> None:
    """Canvas and text -> draws a small grey line at the bottom margin, `lift` px higher (nothing for blank
    text)."""
    if clean_text(text):
        draw = ImageDraw.Draw(canvas)
        y = canvas.height - MARGIN + 6 - lift
        _text(draw, (MARGIN, y), text, font(20, "Regular"), TEXT_SOFT, canvas.width - 2 * MARGIN)


FOOTER_H = 40  # extra canvas height reserved for the footer line
CREDITS_H = 28  # extra canvas height reserved for the photo credits line


def _credits_height(text: CollageText, has_content: bool) -> int:
    return CREDITS_H if has_content and clean_text(text.credits) else 0


def _credits(canvas: Image.Image, text: str) -> None:
    """Canvas and credits -> draws them in a smaller grey line at the very bottom, shortened to fit."""
    if clean_text(text):
        draw = ImageDraw.Draw(canvas)
        y = canvas.height - MARGIN + 6
        _text(draw, (MARGIN, y), text, font(16, "Regular"), TEXT_SOFT, canvas.width - 2 * MARGIN)


def _footer_drawn(text: CollageText, has_content: bool) -> bool:
    """Labels and whether there is anything to show -> True when the footer line gets drawn.

    With nothing to show and no `empty` message, the footer is the empty-state message instead.
    """
    return bool(clean_text(text.footer)) and (has_content or bool(clean_text(text.empty)))


def _empty_message(text: CollageText) -> str:
    """Labels -> the message for an empty result: `empty`, else `footer` (may be blank: icon only)."""
    return text.empty if clean_text(text.empty) else text.footer


def _empty_state(canvas: Image.Image, box: Box, message: str) -> None:
    """Canvas, box and message -> a card with a neutral "nothing here" icon and the centred message."""
    _card(canvas, box)
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2 - (24 if clean_text(message) else 0)
    # Icon: grey ring with a dash — reads as "none" in any language.
    r, ring = 40, 6
    _rounded(canvas, (cx - r, cy - r, cx + r, cy + r), r, TRACK)
    _rounded(canvas, (cx - r + ring, cy - r + ring, cx + r - ring, cy + r - ring), r, CARD)
    _rounded(canvas, (cx - 18, cy - 3, cx + 18, cy + 3), 3, TEXT_SOFT)
    if clean_text(message):
        draw = ImageDraw.Draw(canvas)
        _text(draw, (cx, cy + r + 44), message, font(28, "Medium"), TEXT_SOFT, x1 - x0 - 48, anchor="ms")


def _blank(width: int, height: int) -> Image.Image:
    """Width and height -> a fresh canvas in the background colour."""
    return Image.new("RGB", (width, height), BACKGROUND)


# --- Telegram-safe JPEG ----------------------------------------------------------------------------------


def _telegram_shape(image: Image.Image) -> Image.Image:
    """Image -> the same image padded (aspect > 20) and/or shrunk (width + height > 10000) to fit."""
    # Rounding after a shrink can tip the ratio just over the limit, so repeat until both hold.
    while True:
        w, h = image.size
        if max(w, h) > TELEGRAM_MAX_RATIO * min(w, h):
            # Pad the short side with background rather than distort or crop the content.
            nw = max(w, math.ceil(h / TELEGRAM_MAX_RATIO))
            nh = max(h, math.ceil(w / TELEGRAM_MAX_RATIO))
            padded = _blank(nw, nh)
            padded.paste(image, ((nw - w) // 2, (nh - h) // 2))
            image = padded
        elif w + h > TELEGRAM_MAX_SIDE_SUM:
            scale = (TELEGRAM_MAX_SIDE_SUM - 2) / (w + h)
            size = (max(1, math.floor(w * scale)), max(1, math.floor(h * scale)))
            image = image.resize(size, Image.Resampling.LANCZOS)
        else:
            return image


def _encode_jpeg(image: Image.Image) -> bytes:
    """Finished canvas -> JPEG bytes guaranteed to meet Telegram's photo limits."""
    image = _telegram_shape(image if image.mode == "RGB" else image.convert("RGB"))  # no 4.5 MB copy
    quality = 90
    while True:
        buffer = io.BytesIO()
        # 4:4:4 chroma keeps thin coloured text and bars crisp. No optimize: same pixels, and its second
        # Huffman pass cost a third of the encode (~5 ms a collage) to save ~9% of ~230 KB.
        image.save(buffer, "JPEG", quality=quality, subsampling=0, optimize=False)
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


# --- render_collage --------------------------------------------------------------------------------------

COLLAGE_W = 1500
FACE_CARD_W = 644  # left column: the user's face card
FACE_PAD = 16
LABEL_H = 72
ROW_GAP = 14


@dataclass(frozen=True)
class _RowStyle:
    """Sizes for one match row; the first (best) match gets the larger style."""

    height: int
    pad: int
    name_size: int
    meta_size: int
    bar_h: int
    badge: int
    border: RGB
    border_w: int
    fill: RGB
    bar_color: RGB
    centre_name: bool  # tall row: centre the name above the numbers; short row: keep it at the top


_BEST = _RowStyle(172, 16, 38, 20, 14, 44, ACCENT, 3, ACCENT_TINT, ACCENT, True)
_OTHER = _RowStyle(118, 15, 26, 18, 10, 34, CARD_BORDER, 1, CARD, ACCENT_SOFT, False)


def _match_row(
    canvas: Image.Image, box: Box, tile: Tile, rank: int, text: CollageText, st: _RowStyle
) -> None:
    """Canvas, row box, match, rank, labels and style -> one match card's contents (its empty card is in
    the collage's base): photo, badge, name, numbers, bar."""
    x0, y0, x1, _y1 = box
    thumb = st.height - 2 * st.pad
    tx, ty = x0 + st.pad, y0 + st.pad
    _photo(canvas, tile.image, (tx, ty), thumb, 12)
    _badge(canvas, (tx + 6 + st.badge // 2, ty + 6 + st.badge // 2), st.badge, rank)

    draw = ImageDraw.Draw(canvas)
    left, right = tx + thumb + 22, x1 - 22
    width = right - left
    name_font = font(st.name_size, "Bold")
    meta_font = font(st.meta_size, "Regular")
    value_font = font(st.meta_size, "Bold")
    bar_bottom = ty + thumb - 4
    bar_top = bar_bottom - st.bar_h
    meta_base = bar_top - round(st.meta_size * 0.7)
    name_base = ty + round(st.name_size * 0.95)
    if st.centre_name:  # centre the name's cap height in the space above the numbers line
        meta_top = meta_base - round(st.meta_size * 0.8)
        name_base = (ty + meta_top) // 2 + round(st.name_size * 0.38)

    # Numbers first: the name gets whatever width they leave on its own line.
    similarity = _similarity(tile)
    used_right = 0.0
    if similarity is not None:
        value = _percent(similarity)
        vw = draw.textlength(value, font=value_font)
        draw.text((right, meta_base), value, font=value_font, fill=TEXT, anchor="rs")
        label = _text(
            draw,
            (right - vw - 8, meta_base),
            text.similarity,
            meta_font,
            TEXT_SOFT,
            width / 2 - vw - 8,
            anchor="rs",
        )
        used_right = vw + 8 + meta_font.getlength(label)
        _bar(canvas, (left, bar_top, right, bar_bottom), similarity / 100, st.bar_color)
    distance = _distance(tile)
    if distance is not None:
        dw = draw.textlength(distance, font=value_font)
        room = width - used_right - 24
        label = _text(draw, (left, meta_base), text.distance, meta_font, TEXT_SOFT, room - dw - 8)
        label_w = meta_font.getlength(label)
        draw.text(
            (left + label_w + (8 if label_w else 0), meta_base),
            distance,
            font=value_font,
            fill=TEXT,
            anchor="ls",
        )
    _text(draw, (left, name_base), _name(tile.name), name_font, TEXT, width)


def _face_card(canvas: Image.Image, xy: tuple[int, int], width: int, label: str, label_size: int) -> int:
    """Canvas, top-left, card width and caption -> the big face card without its face; returns its height."""
    x, y = xy
    side = width - 2 * FACE_PAD
    height = FACE_PAD + side + LABEL_H
    _card(canvas, (x, y, x + width, y + height))
    draw = ImageDraw.Draw(canvas)
    _text(
        draw,
        (x + width // 2, y + FACE_PAD + side + LABEL_H // 2),
        label,
        font(label_size, "Bold"),
        TEXT,
        side,
        anchor="mm",
    )
    return height


def _face_photo(canvas: Image.Image, xy: tuple[int, int], width: int, image: Image.Image) -> None:
    """Canvas, the face card's top-left and width, face -> the face pasted into its card."""
    _photo(canvas, image, (xy[0] + FACE_PAD, xy[1] + FACE_PAD), width - 2 * FACE_PAD, 12)


def _rows(count: int) -> list[tuple[Box, _RowStyle]]:
    """Number of matches shown -> each match card's box and style, best first, top down."""
    x0, x1 = MARGIN + FACE_CARD_W + GAP, COLLAGE_W - MARGIN
    rows: list[tuple[Box, _RowStyle]] = []
    y = CONTENT_TOP
    for i in range(count):
        style = _BEST if i == 0 else _OTHER
        rows.append(((x0, y, x1, y + style.height), style))
        y += style.height + ROW_GAP
    return rows


@lru_cache(maxsize=8)
def _collage_base(count: int, text: CollageText, credits_h: int) -> Image.Image:
    """Number of matches, the labels it draws and the credits' height -> what every such collage shares:
    canvas, header, face card and caption, empty match cards (or the empty state), footer.

    Drawn once per language and layout (~4 ms of a collage otherwise), kept as ~6 MB images; callers draw
    on a copy.
    """
    rows = _rows(count)
    face_h = FACE_PAD + (FACE_CARD_W - 2 * FACE_PAD) + LABEL_H
    content_h = max(face_h, rows[-1][0][3] - CONTENT_TOP if rows else 0)
    has_footer = _footer_drawn(text, bool(rows))
    canvas = _blank(COLLAGE_W, CONTENT_TOP + content_h + MARGIN + (FOOTER_H if has_footer else 0) + credits_h)
    _header(canvas, text.title)
    _face_card(canvas, (MARGIN, CONTENT_TOP), FACE_CARD_W, text.you, 36)
    if not rows:
        box = (MARGIN + FACE_CARD_W + GAP, CONTENT_TOP, COLLAGE_W - MARGIN, CONTENT_TOP + face_h)
        _empty_state(canvas, box, _empty_message(text))
    for box, st in rows:
        _card(canvas, box, st.border, st.border_w, st.fill)
    if has_footer:
        _footer(canvas, text.footer, lift=credits_h)
    return canvas


def render_collage(face: Image.Image, matches: Sequence[Tile], text: CollageText) -> bytes:
    """User's face, best matches (0..5 used, best first) and labels -> JPEG bytes of the result collage.

    Left: the user's face with `text.you`; right: one card per match with rank badge, name, distance
    (3 decimals) and a similarity bar; the best match is larger and outlined in the accent colour.
    """
    shown = list(matches)[:5]
    credits_h = _credits_height(text, bool(shown))
    # The base's key holds only the words it draws, not this answer's credits.
    static = dataclasses.replace(text, distance="", similarity="", credits="")
    canvas = _collage_base(len(shown), static, credits_h).copy()
    _face_photo(canvas, (MARGIN, CONTENT_TOP), FACE_CARD_W, face)
    for i, (tile, (box, style)) in enumerate(zip(shown, _rows(len(shown)), strict=True)):
        _match_row(canvas, box, tile, tile.rank or i + 1, text, style)
    if credits_h:
        _credits(canvas, text.credits)
    return _encode_jpeg(canvas)


# --- render_board ----------------------------------------------------------------------------------------

BOARD_W = 1500
TARGET_CARD_W = 420
CELL_GAP = 16


def _board_columns(count: int) -> int:
    """Number of entries -> grid columns (more columns for big groups keeps the image from getting tall)."""
    return 4 if count <= 12 else 5 if count <= 25 else 6


@dataclass(frozen=True)
class _CellStyle:
    """Sizes for one player cell of the board grid."""

    width: int
    pad: int
    name_size: int
    value_size: int
    bar_h: int
    badge: int

    @property
    def photo(self) -> int:
        """-> side of the face square."""
        return self.width - 2 * self.pad

    @property
    def height(self) -> int:
        """-> total cell height: photo, name line, bar line."""
        return self.pad + self.photo + round(self.name_size * 1.9) + round(self.value_size * 1.5) + self.pad


def _cell_style(width: int) -> _CellStyle:
    """Cell width in px -> proportional paddings and font sizes (readable down to ~140 px cells)."""
    pad = 12 if width >= 200 else 9
    name = max(15, round(width / 10.5))
    return _CellStyle(width, pad, name, max(13, name - 4), 10 if width >= 200 else 8, max(28, width // 6))


def _player_cell(canvas: Image.Image, box: Box, tile: Tile, rank: int, st: _CellStyle) -> None:
    """Canvas, cell box, player tile, rank and style -> photo with badge, name, similarity bar and %."""
    x0, y0, x1, _y1 = box
    best = rank == 1
    _card(canvas, box, ACCENT if best else CARD_BORDER, 3 if best else 1, ACCENT_TINT if best else CARD)
    px, py = x0 + st.pad, y0 + st.pad
    _photo(canvas, tile.image, (px, py), st.photo, 10)
    _badge(canvas, (px + 5 + st.badge // 2, py + 5 + st.badge // 2), st.badge, rank)

    draw = ImageDraw.Draw(canvas)
    name_base = py + st.photo + round(st.name_size * 1.45)
    _text(draw, (px, name_base), _name(tile.name), font(st.name_size, "Bold"), TEXT, st.photo)
    similarity = _similarity(tile)
    if similarity is not None:
        value_font = font(st.value_size, "Bold")
        line_mid = name_base + round(st.name_size * 0.45) + round(st.value_size * 0.75)
        # Reserve the width of "100%" so every bar in the grid has the same length.
        reserve = draw.textlength("100%", font=value_font) + 8
        draw.text((x1 - st.pad, line_mid), f"{similarity:.0f}%", font=value_font, fill=TEXT, anchor="rm")
        bar = (
            px,
            line_mid - st.bar_h // 2,
            x1 - st.pad - round(reserve),
            line_mid - st.bar_h // 2 + st.bar_h,
        )
        _bar(canvas, bar, similarity / 100, ACCENT if best else ACCENT_SOFT)


def render_board(target: Tile, entries: Sequence[Tile], text: CollageText) -> bytes:
    """Target celebrity and players (0..50, any order) -> JPEG bytes of the group-game leaderboard.

    Players are ranked by their `rank` if every entry has one, else by similarity (highest first),
    else kept in the given order; they wrap into a grid of 4-6 columns to the right of the target.
    """
    players = _ranked(entries)
    top = CONTENT_TOP
    target_h = FACE_PAD + (TARGET_CARD_W - 2 * FACE_PAD) + LABEL_H
    x0 = MARGIN + TARGET_CARD_W + GAP
    grid_w = BOARD_W - MARGIN - x0
    cols = _board_columns(len(players))
    st = _cell_style((grid_w - CELL_GAP * (cols - 1)) // cols)
    rows = math.ceil(len(players) / cols)
    grid_h = rows * st.height + CELL_GAP * max(0, rows - 1)
    has_footer = _footer_drawn(text, bool(players))
    canvas = _blank(BOARD_W, top + max(target_h, grid_h) + MARGIN + (FOOTER_H if has_footer else 0))
    _header(canvas, text.title)
    _face_card(canvas, (MARGIN, top), TARGET_CARD_W, target.name, 30)
    _face_photo(canvas, (MARGIN, top), TARGET_CARD_W, target.image)

    if not players:
        _empty_state(canvas, (x0, top, BOARD_W - MARGIN, top + target_h), _empty_message(text))
    for i, (rank, tile) in enumerate(players):
        cx = x0 + (i % cols) * (st.width + CELL_GAP)
        cy = top + (i // cols) * (st.height + CELL_GAP)
        _player_cell(canvas, (cx, cy, cx + st.width, cy + st.height), tile, rank, st)
    if has_footer:
        _footer(canvas, text.footer)
    return _encode_jpeg(canvas)


def _ranked(entries: Sequence[Tile]) -> list[tuple[int, Tile]]:
    """Players -> (rank, tile) pairs, closest first (explicit ranks, else similarity, else given order)."""
    tiles = list(entries)
    if tiles and all(t.rank is not None for t in tiles):
        return sorted(((t.rank or 0, t) for t in tiles), key=lambda rt: rt[0])
    if tiles and all(_similarity(t) is not None for t in tiles):
        # Stable sort: equal similarities keep the caller's order.
        tiles.sort(key=lambda t: -(_similarity(t) or 0.0))
    return [(i + 1, t) for i, t in enumerate(tiles)]


# --- render_pairs ----------------------------------------------------------------------------------------

PAIRS_W = 1200
PAIR_FACE = 176
PAIR_COL = 260
PAIR_PAD = 18
PAIR_NAME = 24
PAIR_ROW_H = PAIR_PAD + PAIR_FACE + 12 + round(PAIR_NAME * 1.4) + PAIR_PAD
PAIR_GAP = 16


def _pair_row(canvas: Image.Image, box: Box, a: Tile, b: Tile, text: CollageText, best: bool) -> None:
    """Canvas, row box, the two tiles, labels and highlight flag -> faces at both ends, numbers between."""
    x0, y0, x1, y1 = box
    _card(canvas, box, ACCENT if best else CARD_BORDER, 3 if best else 1, ACCENT_TINT if best else CARD)
    draw = ImageDraw.Draw(canvas)
    name_font = font(PAIR_NAME, "Bold")
    for tile, col_x in ((a, x0 + PAIR_PAD), (b, x1 - PAIR_PAD - PAIR_COL)):
        fx = col_x + (PAIR_COL - PAIR_FACE) // 2
        _photo(canvas, tile.image, (fx, y0 + PAIR_PAD), PAIR_FACE, 12)
        name_base = y0 + PAIR_PAD + PAIR_FACE + 12 + round(PAIR_NAME * 0.95)
        _text(draw, (col_x + PAIR_COL // 2, name_base), _name(tile.name), name_font, TEXT, PAIR_COL, "ms")

    mid_l, mid_r = x0 + PAIR_PAD + PAIR_COL + 24, x1 - PAIR_PAD - PAIR_COL - 24
    cx, cy = (mid_l + mid_r) // 2, (y0 + y1) // 2
    label_font = font(20, "Regular")
    similarity = _similarity(a)
    if similarity is not None:
        _text(draw, (cx, cy - 52), text.similarity, label_font, TEXT_SOFT, mid_r - mid_l, "ms")
        draw.text(
            (cx, cy + 4),
            _percent(similarity),
            font=font(48, "Bold"),
            fill=ACCENT if best else TEXT,
            anchor="ms",
        )
        half = min(180, (mid_r - mid_l) // 2)
        _bar(
            canvas,
            (cx - half, cy + 20, cx + half, cy + 34),
            similarity / 100,
            ACCENT if best else ACCENT_SOFT,
        )
    distance = _distance(a)
    if distance is not None:
        line = f"{clean_text(text.distance)} {distance}".strip()
        y = cy + 70 if similarity is not None else cy + 8
        _text(draw, (cx, y), line, label_font, TEXT_SOFT, mid_r - mid_l, "ms")


def _best_pair(rows: Sequence[tuple[Tile, Tile]]) -> int | None:
    """Pairs -> index of the first most similar pair, or None with fewer than two pairs / no numbers."""
    scored = [(s, -i) for i, (a, _b) in enumerate(rows) if (s := _similarity(a)) is not None]
    if len(rows) < 2 or not scored:
        return None
    return -max(scored)[1]


def render_pairs(pairs: Sequence[tuple[Tile, Tile]], text: CollageText) -> bytes:
    """Face pairs (each pair's numbers on its first Tile) and labels -> JPEG bytes, one row per pair.

    With two or more pairs the most similar one is outlined in the accent colour.
    """
    rows = list(pairs)
    top = CONTENT_TOP
    body_h = len(rows) * PAIR_ROW_H + PAIR_GAP * max(0, len(rows) - 1) if rows else 360
    has_footer = _footer_drawn(text, bool(rows))
    canvas = _blank(PAIRS_W, top + body_h + MARGIN + (FOOTER_H if has_footer else 0))
    _header(canvas, text.title)
    if not rows:
        _empty_state(canvas, (MARGIN, top, PAIRS_W - MARGIN, top + body_h), _empty_message(text))
    best = _best_pair(rows)
    y = top
    for i, (a, b) in enumerate(rows):
        _pair_row(canvas, (MARGIN, y, PAIRS_W - MARGIN, y + PAIR_ROW_H), a, b, text, i == best)
        y += PAIR_ROW_H + PAIR_GAP
    if has_footer:
        _footer(canvas, text.footer)
    return _encode_jpeg(canvas)
