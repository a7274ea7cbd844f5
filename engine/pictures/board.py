"""The group game's leaderboard: the target celebrity on the left, the players in a ranked grid."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw

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
    TEXT,
    Box,
    CollageText,
    Tile,
    badge,
    blank,
    card,
    clamped_similarity,
    draw_footer,
    draw_header,
    draw_text,
    drawable_name,
    empty_message,
    empty_state,
    face_card,
    face_photo,
    footer_drawn,
    photo,
    progress_bar,
)
from engine.pictures.jpeg import encode_jpeg

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
    card(canvas, box, ACCENT if best else CARD_BORDER, 3 if best else 1, ACCENT_TINT if best else CARD)
    px, py = x0 + st.pad, y0 + st.pad
    photo(canvas, tile.image, (px, py), st.photo, 10)
    badge(canvas, (px + 5 + st.badge // 2, py + 5 + st.badge // 2), st.badge, rank)

    draw = ImageDraw.Draw(canvas)
    name_base = py + st.photo + round(st.name_size * 1.45)
    draw_text(draw, (px, name_base), drawable_name(tile.name), font(st.name_size, "Bold"), TEXT, st.photo)
    similarity = clamped_similarity(tile)
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
        progress_bar(canvas, bar, similarity / 100, ACCENT if best else ACCENT_SOFT)


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
    has_footer = footer_drawn(text, bool(players))
    canvas = blank(BOARD_W, top + max(target_h, grid_h) + MARGIN + (FOOTER_H if has_footer else 0))
    draw_header(canvas, text.title)
    face_card(canvas, (MARGIN, top), TARGET_CARD_W, target.name, 30)
    face_photo(canvas, (MARGIN, top), TARGET_CARD_W, target.image)

    if not players:
        empty_state(canvas, (x0, top, BOARD_W - MARGIN, top + target_h), empty_message(text))
    for i, (rank, tile) in enumerate(players):
        cx = x0 + (i % cols) * (st.width + CELL_GAP)
        cy = top + (i // cols) * (st.height + CELL_GAP)
        _player_cell(canvas, (cx, cy, cx + st.width, cy + st.height), tile, rank, st)
    if has_footer:
        draw_footer(canvas, text.footer)
    return encode_jpeg(canvas)


def _ranked(entries: Sequence[Tile]) -> list[tuple[int, Tile]]:
    """Players -> (rank, tile) pairs, closest first (explicit ranks, else similarity, else given order)."""
    tiles = list(entries)
    if tiles and all(t.rank is not None for t in tiles):
        return sorted(((t.rank or 0, t) for t in tiles), key=lambda rt: rt[0])
    if tiles and all(clamped_similarity(t) is not None for t in tiles):
        # Stable sort: equal similarities keep the caller's order.
        tiles.sort(key=lambda t: -(clamped_similarity(t) or 0.0))
    return [(i + 1, t) for i, t in enumerate(tiles)]
