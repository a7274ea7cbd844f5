"""A similarity % that means the same closeness on any gallery, fitted on the gallery's own distances.

dlib's model puts photos of one person at ≈ 0.37 whatever their origin, but different East-Asian people
at ≈ 0.66 on average against ≈ 0.86 for Western faces (../shared/docs/FIELD-NOTES.md): the fixed curve
centred on dlib's 0.6 tells a Korean user "86 % alike" about almost any other Korean celebrity. So the
curve is fitted on the gallery itself, from two statistics it already holds:

- **the same-person boundary** `boundary`: the distance that best separates pairs of photos of one
  celebrity from pairs of different celebrities (the fewest errors, FRR + FAR, on sampled pairs);
- **the nearest-other distances**: for sampled gallery photos, the distance to the nearest photo of
  another celebrity (in the whole gallery, one blocked pass over its matrix) — where a typical query finds its nearest other celebrity in *this* gallery.

    similarity(d) = 100 · [ W · S(d) + (1 − W) · 1 / (1 + exp(SLOPE · (d − boundary))) ]

S(d) is the share of nearest-other distances above d (linear between stored quantiles): a match as close
as a gallery photo's nearest other celebrity scores about 50 % on that half, whatever the gallery. The
logistic half is today's curve moved to the gallery's own boundary: the person's own photos (well below
it) still score high, and it keeps the % strictly decreasing where S is flat. Both halves fall with d,
so the % is monotonic within a gallery.

Too small a gallery to fit (fewer than `MIN_CELEBRITIES` celebrities or fewer than `MIN_PAIRED` with two
photos or more) keeps today's fixed curve, and says so (`fitted` is False, `reason` tells why).

`reason` is English (the CLI, the logs); `reason_code` and `reason_params` say the same without words, for
the bot and the admin app to put in the admin's language (`REASONS`: each code's English template).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from engine.ranking import SAME_PERSON, FaceIndex
from engine.ranking import similarity as fixed_similarity

VERSION = 1
WEIGHT = 0.5  # share of the percentile half
SLOPE = 12.0  # the logistic half's steepness: today's curve's
MIN_CELEBRITIES = 10
MIN_PAIRED = 5  # celebrities with >= 2 photos: the same-person pairs come from them
MAX_QUERIES = 400  # sampled photos whose nearest other celebrity is looked up in the whole index
MAX_PAIR_PHOTOS = 2000  # sampled photos whose pairwise distances give the boundary
BOUNDARY_RANGE = (0.3, 0.75)  # a fitted boundary outside this is a broken gallery: clip it
NEAREST_BLOCK = 16_384  # index rows per matrix product when looking up the nearest others
QUANTILES = 21  # nearest-other distances kept: the 0, 5, ..., 100th percentiles

# Why a calibration is what it is: a stable code → its English line (`str.format` with `reason_params`).
REASONS = {
    "not_fitted": "not fitted yet",
    "other_version": "stored calibration is of another version",
    "unreadable": "stored calibration unreadable",
    "incomplete": "stored calibration incomplete",
    "too_small": (
        "too small to fit: {celebrities} celebrities, {paired} with several photos "
        "(needs {min_celebrities} and {min_paired})"
    ),
    "fitted": "fitted on {celebrities} celebrities, {photos} photos",
}
_TOO_SMALL = re.compile(
    r"^too small to fit: (\d+) celebrities, (\d+) with several photos \(needs (\d+) and (\d+)\)$"
)


def because(code: str, **params: int) -> dict:
    """A Calibration's reason fields for `code`: the English `reason`, `reason_code`, `reason_params`."""
    return {"reason": REASONS[code].format(**params), "reason_code": code, "reason_params": params}


@dataclass(frozen=True)
class Calibration:
    """How distances become a similarity % on one gallery: fitted, or today's fixed curve."""

    fitted: bool = False
    boundary: float = SAME_PERSON
    nearest_other: tuple[float, ...] = ()  # sorted quantiles of the nearest-other distances
    weight: float = WEIGHT
    slope: float = SLOPE
    celebrities: int = 0
    photos: int = 0
    reason: str = REASONS["not_fitted"]  # English, for the CLI and the logs
    version: int = VERSION
    extra: dict = field(default_factory=dict, compare=False)  # figures for /stats (medians, pairs)
    reason_code: str = "not_fitted"  # a key of REASONS ('' when unknown: show `reason`)
    reason_params: dict = field(default_factory=dict, compare=False)  # its numbers (celebrities, ...)

    def similarity(self, distance: float) -> float:
        """Distance → similarity % (0..100), strictly decreasing in the distance."""
        if not self.fitted:
            return fixed_similarity(distance)
        logistic = 1.0 / (1.0 + math.exp(max(-60.0, min(60.0, self.slope * (distance - self.boundary)))))
        return 100.0 * (self.weight * self._share_above(distance) + (1.0 - self.weight) * logistic)

    def _share_above(self, distance: float) -> float:
        """The share of the gallery's nearest-other distances above `distance` (interpolated)."""
        q = self.nearest_other
        if distance <= q[0]:
            return 1.0
        if distance >= q[-1]:
            return 0.0
        levels = np.linspace(1.0, 0.0, len(q))
        return float(np.interp(distance, q, levels))

    @property
    def half_point(self) -> float:
        """The distance that scores 50 % (bisection: the curve is monotonic)."""
        low, high = 0.0, 2.0
        for _ in range(50):
            mid = (low + high) / 2
            low, high = (mid, high) if self.similarity(mid) > 50.0 else (low, mid)
        return (low + high) / 2

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> Calibration:
        """A stored calibration; the fixed curve for nothing stored or an older/unreadable version."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            if data.get("version") != VERSION:
                return cls(**because("other_version"))
            data["nearest_other"] = tuple(float(v) for v in data.get("nearest_other", ()))
            if "reason_code" not in data:  # stored before the codes: the same facts, from the line
                data.update(_coded(data))
            calibration = cls(**data)
        except (ValueError, TypeError, AttributeError):
            return cls(**because("unreadable"))
        if calibration.fitted and len(calibration.nearest_other) < 2:
            return cls(**because("incomplete"))
        return calibration


def _coded(data: dict) -> dict:
    """The reason code and numbers of a calibration stored with its English line only."""
    if data.get("fitted"):
        return because(
            "fitted", celebrities=int(data.get("celebrities", 0)), photos=int(data.get("photos", 0))
        )
    small = _TOO_SMALL.match(str(data.get("reason", "")))
    if small:
        keys = ("celebrities", "paired", "min_celebrities", "min_paired")
        return because("too_small", **dict(zip(keys, map(int, small.groups()), strict=True)))
    return {"reason_code": "", "reason_params": {}}  # no code: shown as the English line


def fit(vectors: np.ndarray, labels: Sequence[str] | np.ndarray, seed: int = 0) -> Calibration:
    """Fit on embeddings and their celebrity labels (tests, benchmarks): see `fit_index`."""
    codes, _ = _codes(labels)
    index = FaceIndex(approximate_above=None)
    index.extend(np.arange(len(codes)), codes, vectors)
    return fit_index(index, seed=seed)


def fit_index(index: FaceIndex, seed: int = 0) -> Calibration:
    """Fit on a gallery's index: pairs from a sample of photos, nearest others from the whole index.

    At most `MAX_PAIR_PHOTOS` photos give the pairs and `MAX_QUERIES` the nearest-other distances, so a
    refit costs a few matrix products and one blocked read of the matrix however large the gallery.
    """
    celebs = index.celebrity_ids.copy()
    n = len(celebs)
    _, counts = np.unique(celebs, return_counts=True)
    celebrities, paired = len(counts), int((counts >= 2).sum())
    if celebrities < MIN_CELEBRITIES or paired < MIN_PAIRED:
        return Calibration(
            celebrities=celebrities,
            photos=n,
            **because(
                "too_small",
                celebrities=celebrities,
                paired=paired,
                min_celebrities=MIN_CELEBRITIES,
                min_paired=MIN_PAIRED,
            ),
        )
    rng = np.random.default_rng(seed)
    # Both samples are copied out first, together with their labels: the bot may add or remove photos
    # while a refit runs in its thread, and rows move when photos are removed.
    _, inverse, counts = np.unique(celebs, return_inverse=True, return_counts=True)
    paired_rows = np.flatnonzero(counts[inverse] >= 2)
    pair_rows = np.sort(_sample(paired_rows, MAX_PAIR_PHOTOS, rng))
    query_rows = _sample(np.arange(n), MAX_QUERIES, rng)
    vectors = index.vectors
    pairs = (vectors[pair_rows].astype(np.float64), celebs[pair_rows])
    queries = (vectors[query_rows].copy(), celebs[query_rows])
    boundary, same_median, diff_median = _boundary(*pairs)
    nearest = _nearest_other(index, *queries)
    quantiles = np.quantile(nearest, np.linspace(0.0, 1.0, QUANTILES))
    quantiles = np.maximum.accumulate(quantiles)  # strictly sorted for interpolation
    return Calibration(
        fitted=True,
        boundary=round(boundary, 4),
        nearest_other=tuple(round(float(v), 4) for v in quantiles),
        celebrities=celebrities,
        photos=n,
        **because("fitted", celebrities=celebrities, photos=n),
        extra={
            "same_median": round(same_median, 4),
            "different_median": round(diff_median, 4),
            "nearest_other_median": round(float(np.median(nearest)), 4),
        },
    )


def _codes(labels: Sequence[str] | np.ndarray) -> tuple[np.ndarray, list[str]]:
    names = sorted({str(v) for v in labels})
    lookup = {name: i for i, name in enumerate(names)}
    return np.array([lookup[str(v)] for v in labels], dtype=np.int64), names


def _sample(rows: np.ndarray, most: int, rng: np.random.Generator) -> np.ndarray:
    return rows if len(rows) <= most else rng.choice(rows, most, replace=False)


def _boundary(x: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """(boundary, median same-person distance, median different-people distance) over the pairs of the
    sampled photos `x` (of celebrities with several photos: same-person pairs are the rarer kind)."""
    sq = np.einsum("ij,ij->i", x, x)
    distances = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0))
    upper = np.triu_indices(len(x), 1)
    pair_d = distances[upper]
    same = labels[upper[0]] == labels[upper[1]]
    same_d, diff_d = np.sort(pair_d[same]), np.sort(pair_d[~same])
    if len(same_d) == 0 or len(diff_d) == 0:
        return SAME_PERSON, float("nan"), float("nan")
    # Errors at each candidate threshold t: same pairs above t (missed) + different pairs at or below t.
    candidates = np.linspace(*BOUNDARY_RANGE, 91)
    missed = 1.0 - np.searchsorted(same_d, candidates, side="right") / len(same_d)
    confused = np.searchsorted(diff_d, candidates, side="right") / len(diff_d)
    errors = missed + confused
    best = candidates[errors <= errors.min() + 1e-9]
    return float(np.median(best)), float(np.median(same_d)), float(np.median(diff_d))


def _nearest_other(index: FaceIndex, queries: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The distance from each query photo to the nearest photo of another celebrity, in the whole index.

    One pass over the index's matrix, a block of rows at a time, for all queries at once (a matrix
    product per block): reading the matrix once instead of once per query (5-10x faster at 200k photos).
    """
    vectors, celebs = index.vectors, index.celebrity_ids  # views: a concurrent add does not move them
    q = np.asarray(queries, np.float32)
    qq = np.einsum("ij,ij->i", q, q)
    best = np.full(len(q), np.inf, dtype=np.float32)
    for start in range(0, len(celebs), NEAREST_BLOCK):
        block = vectors[start : start + NEAREST_BLOCK]
        d2 = np.einsum("ij,ij->i", block, block)[None, :] - 2.0 * (q @ block.T) + qq[:, None]
        d2[labels[:, None] == celebs[start : start + NEAREST_BLOCK][None, :]] = np.inf
        np.minimum(best, d2.min(axis=1), out=best)
    found = np.isfinite(best)
    return (
        np.sqrt(np.maximum(best[found], 0.0)).astype(np.float64) if found.any() else np.array([SAME_PERSON])
    )


def distance_samples(index: FaceIndex, most: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """For a plot of the fit: (same-person pair distances, nearest-other distances) of at most `most`
    sampled photos each, drawn as `fit_index` draws them (empty arrays for an empty index)."""
    celebs = index.celebrity_ids.copy()
    if len(celebs) == 0:
        return np.array([]), np.array([])
    rng = np.random.default_rng(seed)
    _, inverse, counts = np.unique(celebs, return_inverse=True, return_counts=True)
    pair_rows = np.sort(_sample(np.flatnonzero(counts[inverse] >= 2), most, rng))
    x, labels = index.vectors[pair_rows].astype(np.float64), celebs[pair_rows]
    upper = np.triu_indices(len(x), 1)
    same = labels[upper[0]] == labels[upper[1]]
    same_d = np.linalg.norm(x[upper[0][same]] - x[upper[1][same]], axis=1)
    query_rows = _sample(np.arange(len(celebs)), most, rng)
    nearest = _nearest_other(index, index.vectors[query_rows].copy(), celebs[query_rows])
    if len(np.unique(celebs)) < 2:
        nearest = np.array([])  # no other celebrity: _nearest_other's stand-in value is no measurement
    return same_d, nearest
