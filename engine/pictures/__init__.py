"""Result images for the bot, drawn with Pillow only: lookalike collage, group-game board, twin-check pairs.

Every renderer takes PIL images, names and numbers and returns JPEG bytes that Telegram accepts as a
photo (<= 10 MB, width + height <= 10000, aspect ratio <= 20). Every visible word comes from
`CollageText`, so the caller picks the language; names and labels may be Korean.

One module per picture (`collage`, `board`, `pairs`), what they share in `canvas`, the JPEG in `jpeg`.
"""

from engine.pictures.board import render_board
from engine.pictures.canvas import CollageText, Tile
from engine.pictures.collage import render_collage, render_collages
from engine.pictures.jpeg import TELEGRAM_MAX_BYTES, TELEGRAM_MAX_RATIO, TELEGRAM_MAX_SIDE_SUM
from engine.pictures.pairs import render_pairs

__all__ = [
    "TELEGRAM_MAX_BYTES",
    "TELEGRAM_MAX_RATIO",
    "TELEGRAM_MAX_SIDE_SUM",
    "CollageText",
    "Tile",
    "render_board",
    "render_collage",
    "render_collages",
    "render_pairs",
]
