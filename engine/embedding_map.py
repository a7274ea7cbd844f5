"""A 2-D map of the face-embedding space: PCA with numpy, scatter plot drawn with Pillow (no matplotlib).

`pca_2d` fits the projection on the gallery's 128-D embeddings; `render_map` draws the projected points
coloured by name, with the user's own embedding as a distinct star, and returns PNG bytes.
"""

from __future__ import annotations

import colorsys
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.fonts import clean_text, fit_text, font

__all__ = ["PCA", "pca_2d", "render_map"]


# --- PCA -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PCA:
    """A fitted 2-component PCA: `transform` projects new vectors onto the same plane as the fit data."""

    mean_: np.ndarray  # (d,) centre of the fitted vectors
    components_: np.ndarray  # (2, d) unit rows; a row is all zeros when the data has fewer dimensions
    explained_variance_ratio_: np.ndarray = field(default_factory=lambda: np.zeros(2))  # (2,) in 0..1

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """(d,) or (n, d) vectors -> (2,) or (n, 2) float64 coordinates in the fitted PCA plane."""
        v = np.asarray(vectors, dtype=np.float64)
        if v.shape[-1] != self.mean_.shape[0]:
            raise ValueError(f"expected vectors of length {self.mean_.shape[0]}, got shape {v.shape}")
        return (v - self.mean_) @ self.components_.T


def pca_2d(vectors: np.ndarray) -> tuple[np.ndarray, PCA]:
    """(n, d) embeddings, n >= 1 -> ((n, 2) float64 coordinates, the fitted PCA).

    SVD of the centred data, as numpy computes it; each axis's sign is fixed so its largest loading is
    positive (stable across runs). n = 1 or 2 (or identical vectors) give zero, never NaN, coordinates
    and variance ratios for the directions the data does not span.
    """
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"expected a non-empty (n, d) array, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("embeddings contain NaN or infinity")
    mean = x.mean(axis=0)
    centred = x - mean
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)

    components = np.zeros((2, x.shape[1]))
    k = min(2, vt.shape[0])
    components[:k] = vt[:k]
    for row in components:
        pivot = row[np.argmax(np.abs(row))]
        if pivot < 0:
            row *= -1.0

    variance = singular**2
    ratio = np.zeros(2)
    total = variance.sum()
    if total > 0:  # all-identical vectors have no variance to explain
        ratio[:k] = variance[:k] / total
    pca = PCA(mean_=mean, components_=components, explained_variance_ratio_=ratio)
    return centred @ components.T, pca


# --- drawing ---------------------------------------------------------------------------------------------

SS = 2  # everything is drawn at 2x and reduced: anti-aliased markers and lines for free
WIDTH, HEIGHT = 1400, 1000
LEGEND_W = 300
LEGEND_MAX = 12  # a legend beyond this many names would be a wall of text; labels carry the names
PLOT_BG = (255, 255, 255)
PAGE_BG = (248, 249, 251)
GRID = (234, 236, 240)
FRAME = (210, 214, 222)
TEXT = (28, 32, 44)
TEXT_SOFT = (107, 114, 128)
QUERY = (17, 17, 17)
QUERY_RING = (230, 57, 70)
# Tableau 10: well-separated colours for the first names; more come from golden-angle hues.
PALETTE = [
    (78, 121, 167), (242, 142, 43), (225, 87, 89), (118, 183, 178), (89, 161, 79),
    (237, 201, 72), (176, 122, 161), (255, 157, 167), (156, 117, 95), (186, 176, 172),
]  # fmt: skip

Box = tuple[float, float, float, float]


def _colour(i: int) -> tuple[int, int, int]:
    """Index of a distinct name -> its colour (palette first, then evenly spread hues)."""
    if i < len(PALETTE):
        return PALETTE[i]
    r, g, b = colorsys.hsv_to_rgb((i * 0.618034) % 1.0, 0.55 + 0.2 * (i % 2), 0.75)
    return round(r * 255), round(g * 255), round(b * 255)


def _nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Axis range -> round tick values (steps of 1, 2 or 5 x 10^k) inside it."""
    span = hi - lo
    raw = span / max(1, target)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _tick_label(value: float, ticks: Sequence[float]) -> str:
    """Tick value and all ticks -> its label with just enough decimals for the step, true minus sign."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    text = f"{value:.{decimals}f}"
    if float(text) == 0:  # no "-0.0"
        text = f"{0:.{decimals}f}"
    return text.replace("-", "\u2212")


def _range(values: np.ndarray) -> tuple[float, float]:
    """Coordinates along one axis -> padded (lo, hi); a zero span is widened so nothing divides by 0."""
    lo, hi = float(values.min()), float(values.max())
    if hi - lo <= 1e-12:  # a single point (or all identical): show a unit box around it
        lo, hi = lo - 1.0, hi + 1.0
    span = hi - lo
    return lo - 0.08 * span, hi + 0.08 * span


@dataclass(frozen=True)
class _Frame:
    """Where the plot sits on the (2x) canvas and which data ranges it shows."""

    box: Box
    x_range: tuple[float, float]
    y_range: tuple[float, float]

    def to_px(self, x: float, y: float) -> tuple[float, float]:
        """Data coordinates -> canvas pixels (y grows upward in data, downward on screen)."""
        x0, y0, x1, y1 = self.box
        (a, b), (c, d) = self.x_range, self.y_range
        return x0 + (x - a) / (b - a) * (x1 - x0), y1 - (y - c) / (d - c) * (y1 - y0)


def _frame(pts: np.ndarray, query: np.ndarray | None, legend: bool) -> _Frame:
    """Finite (n, 2) points, optional query point and legend flag -> the plot frame (2x canvas pixels)."""
    right = (WIDTH - 40 - (LEGEND_W if legend else 0)) * SS
    every = np.vstack([pts, query[None, :]]) if query is not None and np.isfinite(query).all() else pts
    if len(every) == 0:
        every = np.zeros((1, 2))
    return _Frame((130 * SS, 100 * SS, right, (HEIGHT - 100) * SS), _range(every[:, 0]), _range(every[:, 1]))


def _overlaps(box: Box, others: Sequence[Box]) -> bool:
    """Box and placed boxes -> True when it intersects any of them."""
    x0, y0, x1, y1 = box
    return any(x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1 for b in others)


def _inside(box: Box, outer: Box) -> bool:
    """Box and container -> True when the box lies completely inside the container."""
    return box[0] >= outer[0] and box[1] >= outer[1] and box[2] <= outer[2] and box[3] <= outer[3]


def _place_label(
    at: tuple[float, float],
    gap: float,
    text: str,
    face: ImageFont.FreeTypeFont,
    placed: list[Box],
    area: Box,
) -> tuple[tuple[float, float], str] | None:
    """Point, clearance, text and already placed boxes -> first free spot around the point.

    Returns the (xy, anchor) to draw at and records its box, or None when every spot collides.
    The box is the text's line box (advance x ascender..descender), measured once: cheaper than asking
    FreeType for an ink box per candidate, and a little roomier.
    """
    width = face.getlength(text)
    ascent, descent = face.getmetrics()
    height = ascent + descent
    x, y = at
    d = gap * 0.7  # diagonal offsets at the same clearance
    for xy, anchor in (
        ((x + gap, y), "lm"), ((x - gap, y), "rm"), ((x, y - gap), "md"), ((x, y + gap), "ma"),
        ((x + d, y - d), "ld"), ((x + d, y + d), "la"), ((x - d, y - d), "rd"), ((x - d, y + d), "ra"),
    ):  # fmt: skip
        left = xy[0] - width * {"l": 0.0, "m": 0.5, "r": 1.0}[anchor[0]]
        top = xy[1] - height * {"a": 0.0, "m": 0.5, "d": 1.0}[anchor[1]]
        box = (left - 5 * SS, top, left + width + 5 * SS, top + height)  # side room between neighbours
        if _inside(box, area) and not _overlaps(box, placed):
            placed.append(box)
            return xy, anchor
    return None


def _star(centre: tuple[float, float], outer: float, inner: float) -> list[tuple[float, float]]:
    """Centre and radii -> the 10 vertices of a five-pointed star, point up."""
    cx, cy = centre
    pts = []
    for i in range(10):
        r = outer if i % 2 == 0 else inner
        a = -math.pi / 2 + i * math.pi / 5
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return pts


def _draw_query(draw: ImageDraw.ImageDraw, at: tuple[float, float]) -> None:
    """Draw and canvas position -> the query marker: a red ring around a black star with a white edge."""
    cx, cy = at
    ring = 22 * SS
    draw.ellipse((cx - ring, cy - ring, cx + ring, cy + ring), outline=QUERY_RING, width=3 * SS)
    draw.polygon(_star(at, 17 * SS, 7 * SS), fill=QUERY, outline=(255, 255, 255), width=2 * SS)


def _draw_axes(canvas: Image.Image, frame: _Frame, labels: tuple[str, str]) -> None:
    """Canvas, plot frame and axis titles -> white plot area, grid, ticks with values, axis titles."""
    draw = ImageDraw.Draw(canvas)
    x0, y0, x1, y1 = frame.box
    draw.rectangle(frame.box, fill=PLOT_BG, outline=FRAME, width=SS)
    tick_font = font(15 * SS, "Regular")
    xt = _nice_ticks(*frame.x_range)
    yt = _nice_ticks(*frame.y_range)
    for v in xt:
        px, _ = frame.to_px(v, frame.y_range[0])
        draw.line((px, y0 + SS, px, y1 - SS), fill=GRID, width=SS)
        draw.text((px, y1 + 8 * SS), _tick_label(v, xt), font=tick_font, fill=TEXT_SOFT, anchor="ma")
    for v in yt:
        _, py = frame.to_px(frame.x_range[0], v)
        draw.line((x0 + SS, py, x1 - SS, py), fill=GRID, width=SS)
        draw.text((x0 - 8 * SS, py), _tick_label(v, yt), font=tick_font, fill=TEXT_SOFT, anchor="rm")
    axis_font = font(18 * SS, "Medium")
    draw.text(((x0 + x1) / 2, y1 + 40 * SS), labels[0], font=axis_font, fill=TEXT, anchor="ma")
    # Vertical axis title: drawn on its own strip and rotated.
    strip = Image.new("L", (int(y1 - y0), 40 * SS), 0)
    ImageDraw.Draw(strip).text(
        (strip.width / 2, strip.height / 2), labels[1], font=axis_font, fill=255, anchor="mm"
    )
    rotated = strip.rotate(90, expand=True)
    canvas.paste(TEXT, (int(x0 - 95 * SS), int(y0)), rotated)


def _axis_titles(pca: PCA | None) -> tuple[str, str]:
    """Fitted PCA (optional) -> ("PC1 (41.2%)", "PC2 (17.9%)"), or plain "PC1"/"PC2" without it."""
    if pca is None:
        return "PC1", "PC2"
    r = pca.explained_variance_ratio_
    return f"PC1 ({100 * r[0]:.1f}%)", f"PC2 ({100 * r[1]:.1f}%)"


def _draw_legend(
    canvas: Image.Image,
    box: Box,
    entries: Sequence[tuple[str, tuple[int, int, int]]],
    query_label: str | None,
) -> None:
    """Canvas, legend box, (name, colour) entries and optional query label -> the legend panel."""
    draw = ImageDraw.Draw(canvas)
    x0, y0, x1, _ = box
    face = font(17 * SS, "Regular")
    row = 30 * SS
    y = y0 + 10 * SS
    if query_label is not None:
        _draw_query_small(draw, (x0 + 14 * SS, y + row / 2))
        draw.text(
            (x0 + 34 * SS, y + row / 2),
            fit_text(query_label, face, x1 - x0 - 34 * SS) or "?",
            font=font(17 * SS, "Bold"),
            fill=TEXT,
            anchor="lm",
        )
        y += row + 6 * SS
    for name, colour in entries:
        r = 7 * SS
        cx, cy = x0 + 14 * SS, y + row / 2
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour, outline=(255, 255, 255), width=SS)
        draw.text(
            (x0 + 34 * SS, cy),
            fit_text(name, face, x1 - x0 - 34 * SS) or "?",
            font=face,
            fill=TEXT,
            anchor="lm",
        )
        y += row


def _draw_query_small(draw: ImageDraw.ImageDraw, at: tuple[float, float]) -> None:
    """Draw and position -> a legend-sized query marker (ring + star)."""
    cx, cy = at
    ring = 11 * SS
    draw.ellipse((cx - ring, cy - ring, cx + ring, cy + ring), outline=QUERY_RING, width=2 * SS)
    draw.polygon(_star(at, 9 * SS, 4 * SS), fill=QUERY)


def _marker_radius(n: int) -> int:
    """Number of points -> dot radius in px (smaller dots for crowded plots)."""
    return int(np.clip(12 - 1.2 * math.log2(max(n, 1)), 4, 9))


def render_map(
    points: np.ndarray,
    names: Sequence[str],
    query: np.ndarray | None,
    query_label: str,
    title: str,
    *,
    pca: PCA | None = None,
) -> bytes:
    """2-D points with one name each, optional query point, labels -> PNG bytes of a labelled scatter plot.

    `points` are (n, 2) coordinates from `pca_2d`; `query` is a (2,) point (or a raw embedding when `pca`
    is given, projected here). Points sharing a name share a colour; each name is written once next to
    its most central point where it does not collide with other labels; the query is a ringed star with
    its own label. Pass `pca` to show the explained variance on the axis titles. A legend lists the names
    when there are at most 12.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(names) != len(pts):
        raise ValueError(f"{len(pts)} points but {len(names)} names")
    q = None if query is None else np.asarray(query, dtype=np.float64).ravel()
    if q is not None and q.size != 2:
        if pca is None:
            raise ValueError("query must be a 2-D point (or pass pca= to project an embedding)")
        q = pca.transform(q)
    keep = np.asarray(np.isfinite(pts).all(axis=1))  # a NaN point cannot be placed; drop it rather than fail
    pts, shown_names = pts[keep], [clean_text(n) or "?" for n, k in zip(names, keep, strict=True) if k]

    distinct = list(dict.fromkeys(shown_names))
    colours = {name: _colour(i) for i, name in enumerate(distinct)}
    legend = len(distinct) <= LEGEND_MAX

    canvas = Image.new("RGB", (WIDTH * SS, HEIGHT * SS), PAGE_BG)
    draw = ImageDraw.Draw(canvas)
    title_font = font(30 * SS, "Bold")
    draw.text(
        (40 * SS, 34 * SS),
        fit_text(title, title_font, (WIDTH - 80) * SS),
        font=title_font,
        fill=TEXT,
        anchor="lt",
    )

    frame = _frame(pts, q, legend)
    right = frame.box[2]
    _draw_axes(canvas, frame, _axis_titles(pca))

    radius = _marker_radius(len(pts)) * SS
    pixels = [frame.to_px(x, y) for x, y in pts]
    for (px, py), name in zip(pixels, shown_names, strict=True):
        draw.ellipse(
            (px - radius, py - radius, px + radius, py + radius),
            fill=colours[name],
            outline=(255, 255, 255),
            width=SS,
        )

    placed: list[Box] = []
    label_font = font(16 * SS, "Medium")
    inner = (frame.box[0] + 4 * SS, frame.box[1] + 4 * SS, frame.box[2] - 4 * SS, frame.box[3] - 4 * SS)
    if q is not None and np.isfinite(q).all():
        at = frame.to_px(*q)
        _draw_query(draw, at)
        placed.append((at[0] - 24 * SS, at[1] - 24 * SS, at[0] + 24 * SS, at[1] + 24 * SS))
        q_text = fit_text(query_label, font(18 * SS, "Bold"), 320 * SS)
        if q_text:
            spot = _place_label(at, 28 * SS, q_text, font(18 * SS, "Bold"), placed, inner)
            if spot:
                draw.text(
                    spot[0],
                    q_text,
                    font=font(18 * SS, "Bold"),
                    fill=QUERY,
                    anchor=spot[1],
                    stroke_width=3 * SS,
                    stroke_fill=PLOT_BG,
                )
    for name in distinct:
        _label_group(draw, pts, pixels, shown_names, name, colours[name], label_font, radius, placed, inner)

    if legend:
        lx = right + 24 * SS
        _draw_legend(
            canvas,
            (lx, frame.box[1], (WIDTH - 20) * SS, frame.box[3]),
            [(n, colours[n]) for n in distinct],
            query_label if q is not None else None,
        )

    out = io.BytesIO()
    canvas.reduce(SS).save(out, "PNG")
    return out.getvalue()


def _label_group(
    draw: ImageDraw.ImageDraw,
    pts: np.ndarray,
    pixels: Sequence[tuple[float, float]],
    names: Sequence[str],
    name: str,
    colour: tuple[int, int, int],
    face: ImageFont.FreeTypeFont,
    radius: float,
    placed: list[Box],
    area: Box,
) -> None:
    """One name's points -> its label written once, next to the point nearest the group's centre."""
    idx = [i for i, n in enumerate(names) if n == name]
    centre = pts[idx].mean(axis=0)
    best = min(idx, key=lambda i: float(np.sum((pts[i] - centre) ** 2)))
    text = fit_text(name, face, 220 * SS)
    if not text:
        return
    spot = _place_label(pixels[best], radius + 4 * SS, text, face, placed, area)
    if spot:
        # Darker shade of the group colour keeps the link to the dots while staying readable on white.
        ink = tuple(int(c * 0.6) for c in colour)
        draw.text(
            spot[0], text, font=face, fill=ink, anchor=spot[1], stroke_width=2 * SS, stroke_fill=PLOT_BG
        )
