"""Rank gallery celebrities by face distance, vectorised over one contiguous float32 matrix.

A celebrity's distance is the distance to its nearest photo (the "min" rule). On ../shared/faces it ranks
every identity first, like the mean and centroid rules (bench/aggregation.py: 22/22 each, leaving out the
near-duplicates of each query; mean margins min 0.37, mean 0.36, centroid 0.40 on that small set). It
keeps a real nearest photo to show, and a celebrity with several looks is not averaged into none.
Distances are Euclidean, as dlib's model was trained: |x - q|^2 = |x|^2 - 2 x·q + |q|^2, with |x|^2
precomputed and |q|^2 added only to the hits (it does not change the order), so one query is one
matrix-vector product, one add and a partition: about one read of the matrix (bench/run.py).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

DIM = 128
SAME_PERSON = 0.6  # dlib's trained threshold: below it, the same person


@dataclass(frozen=True)
class Hit:
    """One ranked celebrity: who, how far, and which of its photos was nearest."""

    celebrity_id: int
    photo_id: int
    distance: float

    @property
    def similarity(self) -> float:
        return similarity(self.distance)


def similarity(distance: float) -> float:
    """Distance → similarity % (0..100), monotonic decreasing.

    A logistic curve centred on dlib's 0.6 threshold: 0.6 → 50 %, 0.4 → ~92 %, 0.8 → ~8 %, 0 → ~100 %.
    It reads like a probability of "same person" without claiming to be one.
    """
    return 100.0 / (1.0 + math.exp((distance - SAME_PERSON) * 12.0))


def distance_between(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two embeddings."""
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


class FaceIndex:
    """Embeddings of gallery photos, each labelled with its photo id and celebrity id.

    Rows live in one contiguous float32 matrix that grows by doubling, so adds are amortised O(1) and a
    query reads memory once. Removals compact the matrix (rare: admins do them by hand).
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._vectors = np.empty((capacity, DIM), dtype=np.float32)
        self._norms = np.empty(capacity, dtype=np.float32)
        self._photos = np.empty(capacity, dtype=np.int64)
        self._celebs = np.empty(capacity, dtype=np.int64)
        self._n = 0
        self._scratch = threading.local()  # each thread's score buffer, reused across queries

    def __len__(self) -> int:
        return self._n

    @property
    def vectors(self) -> np.ndarray:
        """The (n, 128) matrix view, in insertion order (read-only use)."""
        return self._vectors[: self._n]

    @property
    def photo_ids(self) -> np.ndarray:
        return self._photos[: self._n]

    @property
    def celebrity_ids(self) -> np.ndarray:
        return self._celebs[: self._n]

    def celebrity_count(self) -> int:
        """How many distinct celebrities have at least one photo."""
        return int(np.unique(self.celebrity_ids).size)

    def extend(self, photo_ids: np.ndarray, celebrity_ids: np.ndarray, vectors: np.ndarray) -> None:
        """Append rows in bulk (loading a gallery, importing a folder)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, DIM)
        count = vectors.shape[0]
        self._reserve(self._n + count)
        end = self._n + count
        self._vectors[self._n : end] = vectors
        self._norms[self._n : end] = np.einsum("ij,ij->i", vectors, vectors)
        self._photos[self._n : end] = photo_ids
        self._celebs[self._n : end] = celebrity_ids
        self._n = end

    def add(self, photo_id: int, celebrity_id: int, vector: np.ndarray) -> None:
        """Append one photo's embedding."""
        self.extend(np.array([photo_id]), np.array([celebrity_id]), np.asarray(vector).reshape(1, DIM))

    def remove_celebrity(self, celebrity_id: int) -> None:
        """Drop every row of one celebrity."""
        self._keep(self.celebrity_ids != celebrity_id)

    def remove_photos(self, photo_ids: np.ndarray) -> None:
        """Drop the rows of these photos."""
        self._keep(~np.isin(self.photo_ids, photo_ids))

    def rank(self, query: np.ndarray, k: int = 5) -> list[Hit]:
        """The k nearest distinct celebrities to `query`, nearest first (fewer if the gallery has fewer)."""
        n = self._n
        if n == 0 or k <= 0:
            return []
        q = np.asarray(query, dtype=np.float32).reshape(DIM)
        scores = self._scores(q)
        celebs = self._celebs[:n]
        # The nearest photos, widening the window until k distinct celebrities appear in it.
        window = min(n, max(4 * k, 32))
        while True:
            nearest = _smallest(scores, window)
            hits = _first_per_celebrity(nearest, celebs, k)
            if len(hits) == k or window == n:
                break
            window = min(n, window * 4)
        # |q|^2 was left out of the scores (it does not change the order): add it back for the few hits.
        qq = float(q @ q)
        return [
            Hit(int(celebs[i]), int(self._photos[i]), math.sqrt(max(0.0, float(scores[i]) + qq)))
            for i in hits
        ]

    def _scores(self, q: np.ndarray) -> np.ndarray:
        """|x|^2 - 2 x·q for every row: the squared distance less |q|^2, in a reused per-thread buffer.

        One matrix-vector product written in place and one add: no (n,)-sized temporaries, so a query
        costs about one read of the matrix (memory bound; OpenBLAS may split it over the cores).
        """
        n = self._n
        buffer: np.ndarray | None = getattr(self._scratch, "buffer", None)
        if buffer is None or buffer.size < n:
            buffer = np.empty(self._vectors.shape[0], dtype=np.float32)
            self._scratch.buffer = buffer
        scores = buffer[:n]
        np.matmul(self._vectors[:n], q * np.float32(-2.0), out=scores)
        scores += self._norms[:n]
        return scores

    def _reserve(self, needed: int) -> None:
        capacity = self._vectors.shape[0]
        if needed <= capacity:
            return
        capacity = max(needed, capacity * 2)
        self._vectors = _grown(self._vectors, capacity)
        self._norms = _grown(self._norms, capacity)
        self._photos = _grown(self._photos, capacity)
        self._celebs = _grown(self._celebs, capacity)

    def _keep(self, mask: np.ndarray) -> None:
        kept = int(mask.sum())
        if kept == self._n:
            return
        for array in (self._vectors, self._norms, self._photos, self._celebs):
            array[:kept] = array[: self._n][mask]
        self._n = kept


def _grown(array: np.ndarray, capacity: int) -> np.ndarray:
    grown = np.empty((capacity, *array.shape[1:]), dtype=array.dtype)
    grown[: array.shape[0]] = array
    return grown


def _smallest(values: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` smallest values, sorted ascending (ties: the earlier row first)."""
    if count >= values.size:
        part = np.arange(values.size)
    else:
        # The count-th smallest value, then every row at or below it: partitioning the float32 values
        # (not argpartition, which writes an int64 index per row) is about 3x faster at 1M rows.
        cutoff = np.partition(values, count - 1)[count - 1]
        part = np.flatnonzero(values <= cutoff)
        if part.size < count:  # NaN scores: they never compare, so fall back to ordering them last
            part = np.argpartition(values, count - 1)[:count]
    return part[np.argsort(values[part], kind="stable")][:count]


def _first_per_celebrity(order: np.ndarray, celebs: np.ndarray, k: int) -> list[int]:
    """Walk rows nearest first; keep each celebrity's first (nearest) row, up to k celebrities."""
    seen: set[int] = set()
    kept: list[int] = []
    for index in order.tolist():
        celeb = int(celebs[index])
        if celeb not in seen:
            seen.add(celeb)
            kept.append(index)
            if len(kept) == k:
                break
    return kept
