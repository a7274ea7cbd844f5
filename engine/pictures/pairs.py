"""The /twins answer: one row per pair of faces, the numbers between them, the closest pair outlined."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageDraw

from engine.fonts import clean_text, font
from engine.pictures.canvas import (
    ACCENT,
    ACCENT_SOFT,
    ACCENT_TINT,
    CARD,
    CARD_BORDER,
    CONTENT_TOP,
    FOOTER_H,
    MARGIN,
    TEXT,
    TEXT_SOFT,
    Box,
    CollageText,
    Tile,
    blank,
    card,
    clamped_similarity,
    distance_label,
    draw_footer,
    draw_header,
    draw_text,
    drawable_name,
    empty_message,
    empty_state,
    footer_drawn,
    percent_label,
    photo,
    progress_bar,
)
from engine.pictures.jpeg import encode_jpeg

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
    card(canvas, box, ACCENT if best else CARD_BORDER, 3 if best else 1, ACCENT_TINT if best else CARD)
    draw = ImageDraw.Draw(canvas)
    name_font = font(PAIR_NAME, "Bold")
    for tile, col_x in ((a, x0 + PAIR_PAD), (b, x1 - PAIR_PAD - PAIR_COL)):
        fx = col_x + (PAIR_COL - PAIR_FACE) // 2
        photo(canvas, tile.image, (fx, y0 + PAIR_PAD), PAIR_FACE, 12)
        name_base = y0 + PAIR_PAD + PAIR_FACE + 12 + round(PAIR_NAME * 0.95)
        draw_text(
            draw,
            (col_x + PAIR_COL // 2, name_base),
            drawable_name(tile.name),
            name_font,
            TEXT,
            PAIR_COL,
            "ms",
        )

    mid_l, mid_r = x0 + PAIR_PAD + PAIR_COL + 24, x1 - PAIR_PAD - PAIR_COL - 24
    cx, cy = (mid_l + mid_r) // 2, (y0 + y1) // 2
    label_font = font(20, "Regular")
    similarity = clamped_similarity(a)
    if similarity is not None:
        draw_text(draw, (cx, cy - 52), text.similarity, label_font, TEXT_SOFT, mid_r - mid_l, "ms")
        draw.text(
            (cx, cy + 4),
            percent_label(similarity),
            font=font(48, "Bold"),
            fill=ACCENT if best else TEXT,
            anchor="ms",
        )
        half = min(180, (mid_r - mid_l) // 2)
        progress_bar(
            canvas,
            (cx - half, cy + 20, cx + half, cy + 34),
            similarity / 100,
            ACCENT if best else ACCENT_SOFT,
        )
    distance = distance_label(a)
    if distance is not None:
        line = f"{clean_text(text.distance)} {distance}".strip()
        y = cy + 70 if similarity is not None else cy + 8
        draw_text(draw, (cx, y), line, label_font, TEXT_SOFT, mid_r - mid_l, "ms")


def _best_pair(rows: Sequence[tuple[Tile, Tile]]) -> int | None:
    """Pairs -> index of the first most similar pair, or None with fewer than two pairs / no numbers."""
    scored = [(s, -i) for i, (a, _b) in enumerate(rows) if (s := clamped_similarity(a)) is not None]
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
    has_footer = footer_drawn(text, bool(rows))
    canvas = blank(PAIRS_W, top + body_h + MARGIN + (FOOTER_H if has_footer else 0))
    draw_header(canvas, text.title)
    if not rows:
        empty_state(canvas, (MARGIN, top, PAIRS_W - MARGIN, top + body_h), empty_message(text))
    best = _best_pair(rows)
    y = top
    for i, (a, b) in enumerate(rows):
        _pair_row(canvas, (MARGIN, y, PAIRS_W - MARGIN, y + PAIR_ROW_H), a, b, text, i == best)
        y += PAIR_ROW_H + PAIR_GAP
    if has_footer:
        draw_footer(canvas, text.footer)
    return encode_jpeg(canvas)
