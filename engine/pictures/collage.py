"""The lookalike answer: the user's face on the left, the best matches as ranked cards on the right."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw

import engine.pictures.reuse as reuse
from engine.fonts import font
from engine.pictures.canvas import (
    ACCENT,
    ACCENT_SOFT,
    ACCENT_TINT,
    CARD,
    CARD_BORDER,
    CONTENT_TOP,
    FACE_PAD,
    FOOTER_H,
    GAP,
    LABEL_H,
    MARGIN,
    RGB,
    TEXT,
    TEXT_SOFT,
    Box,
    CollageText,
    Tile,
    badge,
    blank,
    card,
    clamped_similarity,
    credits_height,
    distance_label,
    draw_credits,
    draw_footer,
    draw_header,
    drawable_name,
    empty_message,
    empty_state,
    face_card,
    face_photo,
    footer_drawn,
    percent_label,
    progress_bar,
)
from engine.pictures.jpeg import encode_jpeg

COLLAGE_W = 1500
FACE_CARD_W = 644  # left column: the user's face card
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
    reuse.photo(canvas, tile, (tx, ty), thumb, 12)  # a gallery photo: cached when the tile has a key
    badge(canvas, (tx + 6 + st.badge // 2, ty + 6 + st.badge // 2), st.badge, rank)

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
    similarity = clamped_similarity(tile)
    used_right = 0.0
    if similarity is not None:
        value = percent_label(similarity)
        vw = reuse.text_length(value_font, value)
        reuse.draw_text(draw, (right, meta_base), value, value_font, TEXT, anchor="rs")
        label = reuse.draw_fitted_text(
            draw,
            (right - vw - 8, meta_base),
            text.similarity,
            meta_font,
            TEXT_SOFT,
            width / 2 - vw - 8,
            anchor="rs",
        )
        used_right = vw + 8 + reuse.text_length(meta_font, label)
        progress_bar(canvas, (left, bar_top, right, bar_bottom), similarity / 100, st.bar_color)
    distance = distance_label(tile)
    if distance is not None:
        dw = reuse.text_length(value_font, distance)
        room = width - used_right - 24
        label = reuse.draw_fitted_text(
            draw, (left, meta_base), text.distance, meta_font, TEXT_SOFT, room - dw - 8
        )
        label_w = reuse.text_length(meta_font, label)
        reuse.draw_text(
            draw, (left + label_w + (8 if label_w else 0), meta_base), distance, value_font, TEXT, anchor="ls"
        )
    reuse.draw_fitted_text(draw, (left, name_base), drawable_name(tile.name), name_font, TEXT, width)


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
    has_footer = footer_drawn(text, bool(rows))
    canvas = blank(COLLAGE_W, CONTENT_TOP + content_h + MARGIN + (FOOTER_H if has_footer else 0) + credits_h)
    draw_header(canvas, text.title)
    face_card(canvas, (MARGIN, CONTENT_TOP), FACE_CARD_W, text.you, 36)
    if not rows:
        box = (MARGIN + FACE_CARD_W + GAP, CONTENT_TOP, COLLAGE_W - MARGIN, CONTENT_TOP + face_h)
        empty_state(canvas, box, empty_message(text))
    for box, st in rows:
        card(canvas, box, st.border, st.border_w, st.fill)
    if has_footer:
        draw_footer(canvas, text.footer, lift=credits_h)
    return canvas


def draw_collage(face: Image.Image, matches: Sequence[Tile], text: CollageText) -> Image.Image:
    """User's face, best matches (0..5 used, best first) and labels -> the result collage as a picture.

    Left: the user's face with `text.you`; right: one card per match with rank badge, name, distance
    (3 decimals) and a similarity bar; the best match is larger and outlined in the accent colour.
    """
    shown = list(matches)[:5]
    credits_h = credits_height(text, bool(shown))
    # The base's key holds only the words it draws, not this answer's credits.
    static = dataclasses.replace(text, distance="", similarity="", credits="")
    canvas = _collage_base(len(shown), static, credits_h).copy()
    # The user's face: fitted afresh on every answer and never cached (nothing of a user is kept).
    face_photo(canvas, (MARGIN, CONTENT_TOP), FACE_CARD_W, face)
    for i, (tile, (box, style)) in enumerate(zip(shown, _rows(len(shown)), strict=True)):
        _match_row(canvas, box, tile, tile.rank or i + 1, text, style)
    if credits_h:
        draw_credits(canvas, text.credits)
    return canvas


def render_collage(face: Image.Image, matches: Sequence[Tile], text: CollageText) -> bytes:
    """User's face, best matches (0..5 used, best first) and labels -> JPEG bytes of `draw_collage`."""
    return encode_jpeg(draw_collage(face, matches, text))


def render_collages(boards: Sequence[tuple[Image.Image, Sequence[Tile]]], text: CollageText) -> bytes:
    """(face, best matches) of each face of a photo and the labels -> one JPEG: each face's collage
    (`draw_collage`), one above the other in the order given."""
    pictures = [draw_collage(face, matches, text) for face, matches in boards]
    if len(pictures) == 1:
        return encode_jpeg(pictures[0])
    # One canvas, one encoding: stacking each face's JPEG would decode and encode every pixel again and
    # lose a JPEG generation.
    stacked = blank(max(p.width for p in pictures), sum(p.height for p in pictures))
    top = 0
    for picture in pictures:
        stacked.paste(picture, (0, top))
        top += picture.height
    return encode_jpeg(stacked)
