"""Noto Sans KR from the `justmytype-intl-cjk` package: cached sizes/weights, glyph checks, text fitting.

The font is a variable font (one `wght` axis, 100..900) whose *default* instance is Thin, so every font
handed out here has a named instance ("Regular", "Bold", ...) selected explicitly.
"""

from __future__ import annotations

import atexit
import contextlib
import struct
import unicodedata
from collections.abc import Iterator
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

from PIL import ImageFont

__all__ = [
    "ELLIPSIS",
    "FONT_PACKAGE",
    "clean_text",
    "fit_text",
    "font",
    "font_path",
    "graphemes",
    "has_glyphs",
    "license_path",
    "weights",
]

FONT_PACKAGE = "justmytype_intl_cjk"
_FONT_DIR = ("fonts", "ofl", "notosanskr")
_FONT_FILE = "NotoSansKR[wght].ttf"
ELLIPSIS = "…"

# Keeps resources extracted for as long as the process lives (only matters for zipped installs).
_resource_stack = contextlib.ExitStack()
atexit.register(_resource_stack.close)


@cache
def _resource(name: str) -> Path:
    """File name inside the font directory -> a real filesystem path (extracted if the package is zipped)."""
    traversable = resources.files(FONT_PACKAGE).joinpath(*_FONT_DIR, name)
    return _resource_stack.enter_context(resources.as_file(traversable))


def font_path() -> Path:
    """-> path of the NotoSansKR variable font file."""
    return _resource(_FONT_FILE)


def license_path() -> Path:
    """-> path of the font's OFL.txt (ship it alongside anything that embeds the font file)."""
    return _resource("OFL.txt")


def _name_str(name: str | bytes) -> str:
    """A variation name as Pillow returns it (bytes, sometimes str) -> plain str."""
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else name


@lru_cache(maxsize=1)
def weights() -> tuple[str, ...]:
    """-> the named instances the font offers, e.g. ("Thin", ..., "Regular", ..., "Bold", "Black")."""
    probe = ImageFont.truetype(str(font_path()), 12)
    return tuple(_name_str(n) for n in probe.get_variation_names())


@lru_cache(maxsize=128)
def font(size: int, weight: str = "Regular") -> ImageFont.FreeTypeFont:
    """Pixel size and named weight (case-insensitive, e.g. "Bold") -> a cached FreeTypeFont.

    The returned object is shared: callers must not change its variation.
    Raises ValueError for a size < 1 or a weight the font does not offer.
    """
    if size < 1:
        raise ValueError(f"font size must be >= 1, got {size}")
    loaded = ImageFont.truetype(str(font_path()), int(size))
    # Pillow returns the names as bytes; match on the decoded form but hand back the raw value.
    for raw in loaded.get_variation_names():
        if _name_str(raw).casefold() == weight.casefold():
            loaded.set_variation_by_name(raw)
            return loaded
    raise ValueError(f"unknown weight {weight!r}; the font offers {', '.join(weights())}")


# --- glyph coverage --------------------------------------------------------------------------------------
#
# Why read the cmap rather than compare rendered masks with the .notdef box: the cmap is the font's own
# statement of which code points map to a glyph, so the answer is exact and independent of size, hinting
# and the layout engine. Mask comparison misjudges characters whose real glyph is blank (U+3000 renders
# nothing, like an empty .notdef would) and depends on how .notdef happens to be drawn. The parser below
# is plain `struct` (no extra dependency) and handles the two formats Unicode fonts use: 12 and 4.


def _table_offset(data: bytes, tag: bytes) -> int:
    """Whole font file bytes and a 4-byte table tag -> the table's offset (KeyError if absent)."""
    (num_tables,) = struct.unpack_from(">H", data, 4)
    for i in range(num_tables):
        entry_tag, _checksum, offset, _length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        if entry_tag == tag:
            return offset
    raise KeyError(tag.decode())


def _format12(data: bytes, at: int) -> set[int]:
    """cmap subtable format 12 at byte offset `at` -> code points mapped to a real glyph (not glyph 0)."""
    (n_groups,) = struct.unpack_from(">I", data, at + 12)
    mapped: set[int] = set()
    for g in range(n_groups):
        start, end, start_glyph = struct.unpack_from(">III", data, at + 16 + 12 * g)
        mapped.update(range(start + (1 if start_glyph == 0 else 0), end + 1))
    return mapped


def _format4(data: bytes, at: int) -> set[int]:
    """cmap subtable format 4 at byte offset `at` -> code points (BMP) mapped to a real glyph."""
    (seg_x2,) = struct.unpack_from(">H", data, at + 6)
    ends_at = at + 14
    starts_at = ends_at + seg_x2 + 2  # +2 skips reservedPad
    deltas_at = starts_at + seg_x2
    range_offsets_at = deltas_at + seg_x2
    mapped: set[int] = set()
    for s in range(seg_x2 // 2):
        (end,) = struct.unpack_from(">H", data, ends_at + 2 * s)
        (start,) = struct.unpack_from(">H", data, starts_at + 2 * s)
        (delta,) = struct.unpack_from(">h", data, deltas_at + 2 * s)
        (range_offset,) = struct.unpack_from(">H", data, range_offsets_at + 2 * s)
        for cp in range(start, end + 1):
            if range_offset == 0:
                glyph = (cp + delta) & 0xFFFF
            else:
                where = range_offsets_at + 2 * s + range_offset + 2 * (cp - start)
                (glyph,) = struct.unpack_from(">H", data, where)
                glyph = (glyph + delta) & 0xFFFF if glyph else 0
            if glyph:
                mapped.add(cp)
    return mapped


@lru_cache(maxsize=1)
def _covered() -> frozenset[int]:
    """-> every code point the font maps to a glyph, read once from its best Unicode cmap subtable."""
    data = font_path().read_bytes()
    cmap = _table_offset(data, b"cmap")
    (n_sub,) = struct.unpack_from(">H", data, cmap + 2)
    subtables: dict[tuple[int, int], int] = {}
    for i in range(n_sub):
        platform, encoding, offset = struct.unpack_from(">HHI", data, cmap + 4 + 8 * i)
        subtables[(platform, encoding)] = cmap + offset
    # Full-repertoire (format 12) tables first, then BMP-only (format 4) ones.
    for key in ((3, 10), (0, 4), (0, 6), (3, 1), (0, 3), (0, 2), (0, 1), (0, 0)):
        at = subtables.get(key)
        if at is None:
            continue
        (fmt,) = struct.unpack_from(">H", data, at)
        if fmt == 12:
            return frozenset(_format12(data, at))
        if fmt == 4:
            return frozenset(_format4(data, at))
    raise RuntimeError(f"{font_path().name} has no Unicode cmap subtable of format 4 or 12")


def has_glyphs(text: str) -> bool:
    """Text -> True when every non-whitespace character has a glyph in the font (no tofu boxes)."""
    covered = _covered()
    return all(ch.isspace() or ord(ch) in covered for ch in text)


# --- display text ----------------------------------------------------------------------------------------


def _displayable(ch: str) -> str:
    """One character -> itself if the font has it, else its drawable decomposition (Ğ -> G), else ""."""
    covered = _covered()
    if ord(ch) in covered:
        return ch
    # A precomposed letter the font lacks often decomposes into a base letter it does have; keep the
    # base (and any marks that exist) rather than lose the whole letter.
    parts = unicodedata.normalize("NFD", ch)
    if len(parts) > 1 and ord(parts[0]) in covered:
        return "".join(p for p in parts if ord(p) in covered)
    return ""


@lru_cache(maxsize=4096)
def clean_text(text: str) -> str:
    """Any user-supplied string -> a single-line string the font can draw.

    NFC-normalises (decomposed Hangul jamo become syllables), turns any whitespace run (newlines, tabs,
    exotic spaces) into one space, drops control/format characters (including bidi overrides and
    isolates, zero-width joiners, private use, unassigned) and characters without a glyph (emoji).
    """
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if ch.isspace():
            if out and out[-1] != " ":
                out.append(" ")
        elif not unicodedata.category(ch).startswith("C") and (shown := _displayable(ch)):
            out.append(shown)
    return "".join(out).strip()


def _joins_previous(ch: str, prev: str) -> bool:
    """Character and the one before it -> True when `ch` continues the same user-perceived character."""
    if unicodedata.category(ch) in ("Mn", "Mc", "Me") or ch == "\u200d" or prev == "\u200d":
        return True
    # Conjoining Hangul jamo: a vowel follows a leading consonant, a trailing consonant follows a vowel.
    is_lead = "\u1100" <= prev <= "\u115f"
    is_vowel = "\u1160" <= ch <= "\u11a7"
    is_trail = "\u11a8" <= ch <= "\u11ff"
    prev_vowel = "\u1160" <= prev <= "\u11a7"
    prev_trail = "\u11a8" <= prev <= "\u11ff"
    return (is_lead and is_vowel) or ((prev_vowel or prev_trail) and is_trail)


def graphemes(text: str) -> Iterator[str]:
    """Text -> its grapheme clusters (approximation: base + combining marks / ZWJ / conjoining jamo)."""
    cluster = ""
    for ch in text:
        if cluster and not _joins_previous(ch, cluster[-1]):
            yield cluster
            cluster = ""
        cluster += ch
    if cluster:
        yield cluster


def fit_text(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> str:
    """Text, font and a pixel width -> the cleaned text, shortened with "…" so it is at most that wide.

    Cuts only between grapheme clusters and never leaves a space before the ellipsis.
    Returns "" when not even the ellipsis fits.
    """
    text = clean_text(text)
    if font.getlength(text) <= max_width:
        return text
    clusters = list(graphemes(text))

    def candidate(n: int) -> str:
        return "".join(clusters[:n]).rstrip() + ELLIPSIS

    # Binary search for the longest prefix that fits: text width grows with the prefix length.
    lo, hi = 0, len(clusters) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if font.getlength(candidate(mid)) <= max_width:
            lo = mid
        else:
            hi = mid - 1
    best = candidate(lo)
    return best if font.getlength(best) <= max_width else ""
