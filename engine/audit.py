"""Find wrong gallery photos and double names from the gallery's own distances (no Telegram, no SQLite).

**An outlier** is a photo far from its celebrity's other photos: its *median* distance to them is above
the gallery's same-person boundary (`Calibration.boundary`: ≈ 0.49 on East-Asian galleries, ≈ 0.62 on
Western ones, dlib's 0.6 while the gallery is too small to fit). Only a celebrity with at least
`MIN_OTHERS` other photos is judged, and the worst photo is taken out before the others are judged again,
so one wrong photo among three does not drag the two right ones over the line with it.

**A double name** (two names, one person: romanised and Hangul spellings) is a pair of celebrities whose
photos lie as close as one person's: the median distance across their photos is below the *double-name
line*, halfway between the gallery's median same-person distance and its boundary (different people
of one population rarely come that close on the median of all their photos; lookalikes are left alone).
Candidates come from the celebrities' mean embeddings (the centroid distance never exceeds the root mean
square of the cross distances), so the audit does not compare every pair of photos.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from engine.calibration import Calibration

MIN_OTHERS = 2  # a photo is judged against at least this many other photos of its celebrity
FIXED_SAME_MEDIAN = 0.38  # photos of one person lie at ≈ 0.37-0.40 (FIELD-NOTES): for unfitted galleries


@dataclass(frozen=True)
class Outlier:
    """A photo far from its celebrity's other photos: its median distance to them."""

    celebrity: int
    photo_id: int
    distance: float


@dataclass(frozen=True)
class SamePerson:
    """Two celebrities whose photos lie as close as one person's: the median distance across them."""

    first: int
    second: int
    distance: float


def outlier_line(calibration: Calibration) -> float:
    """The median distance to a celebrity's other photos above which a photo is reported."""
    return calibration.boundary


def same_person_line(calibration: Calibration) -> float:
    """The median cross distance below which two celebrities are reported as one person."""
    same = (
        calibration.extra.get("same_median", FIXED_SAME_MEDIAN) if calibration.fitted else FIXED_SAME_MEDIAN
    )
    return (float(same) + calibration.boundary) / 2


def photo_distance(photo: np.ndarray, others: np.ndarray) -> float | None:
    """A photo's median distance to its celebrity's other photos; None when there are too few to judge."""
    if len(others) < MIN_OTHERS:
        return None
    return float(np.median(np.linalg.norm(np.asarray(others, np.float64) - photo, axis=1)))


def find_outliers(
    vectors: np.ndarray,
    celebrities: np.ndarray,
    photo_ids: np.ndarray,
    line: float,
    kept: Collection[int] = (),
) -> list[Outlier]:
    """Photos whose median distance to their celebrity's other photos is above `line`, worst first.

    Per celebrity, the worst photo over the line is reported and left out, then the rest judged again.
    Photos in `kept` (an admin checked them) are never reported; over the line, they are left out too.
    """
    kept_set = set(kept)
    found: list[Outlier] = []
    order = np.argsort(celebrities, kind="stable")
    bounds = np.flatnonzero(np.diff(celebrities[order])) + 1
    for rows in np.split(order, bounds):
        if len(rows) <= MIN_OTHERS:
            continue
        found += _peel(
            vectors[rows].astype(np.float64), photo_ids[rows], int(celebrities[rows[0]]), line, kept_set
        )
    return sorted(found, key=lambda o: -o.distance)


def _peel(x: np.ndarray, ids: np.ndarray, celebrity: int, line: float, kept: set[int]) -> list[Outlier]:
    """One celebrity's outliers: take out the worst over the line until none is, or too few are left."""
    distances = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=2)
    alive = np.ones(len(x), dtype=bool)
    found = []
    while alive.sum() > MIN_OTHERS:
        live = np.flatnonzero(alive)
        sub = distances[np.ix_(live, live)]
        scores = np.array([np.median(np.delete(sub[i], i)) for i in range(len(live))])
        worst = int(np.argmax(scores))
        if scores[worst] <= line:
            break
        # A kept photo (an admin checked it) is taken out silently: an odd but right photo must not
        # drag the others over the line either.
        if int(ids[live[worst]]) not in kept:
            found.append(Outlier(celebrity, int(ids[live[worst]]), float(scores[worst])))
        alive[live[worst]] = False
    return found


def find_same_person(
    vectors: np.ndarray,
    celebrities: np.ndarray,
    line: float,
    distinct: Collection[frozenset[int]] = (),
) -> list[SamePerson]:
    """Pairs of celebrities whose median cross distance is below `line`, closest first.

    Pairs in `distinct` (an admin said they are different people) are skipped.
    """
    ids, inverse = np.unique(celebrities, return_inverse=True)
    if len(ids) < 2:
        return []
    x = np.asarray(vectors, np.float64)
    centroids = np.zeros((len(ids), x.shape[1]))
    np.add.at(centroids, inverse, x)
    centroids /= np.bincount(inverse)[:, None]
    groups = [x[inverse == i] for i in range(len(ids))]
    found = []
    for a, b in _close_centroids(centroids, line):
        pair = frozenset((int(ids[a]), int(ids[b])))
        if pair in distinct:
            continue
        cross = np.linalg.norm(groups[a][:, None, :] - groups[b][None, :, :], axis=2)
        median = float(np.median(cross))
        if median < line:
            found.append(SamePerson(int(ids[a]), int(ids[b]), median))
    return sorted(found, key=lambda p: p.distance)


def _close_centroids(centroids: np.ndarray, line: float, chunk: int = 2048) -> list[tuple[int, int]]:
    """Index pairs (a < b) of centroids closer than `line`, a block of rows at a time."""
    sq = np.einsum("ij,ij->i", centroids, centroids)
    pairs = []
    for start in range(0, len(centroids), chunk):
        block = centroids[start : start + chunk]
        d2 = sq[start : start + chunk, None] + sq[None, :] - 2.0 * block @ centroids.T
        rows, cols = np.nonzero(d2 < line * line)
        rows = rows + start
        keep = rows < cols
        pairs += list(zip(rows[keep].tolist(), cols[keep].tolist(), strict=True))
    return pairs
