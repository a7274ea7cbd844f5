"""Rank gallery celebrities by face distance, vectorised over one contiguous float32 matrix.

A celebrity's distance is the distance to its nearest photo (the "min" rule). On ../shared/faces it ranks
every identity first, like the mean and centroid rules (bench/aggregation.py: 22/22 each, leaving out the
near-duplicates of each query; mean margins min 0.37, mean 0.36, centroid 0.40 on that small set). It
keeps a real nearest photo to show, and a celebrity with several looks is not averaged into none.
Distances are Euclidean, as dlib's model was trained: |x - q|^2 = |x|^2 - 2 x·q + |q|^2, with |x|^2
precomputed and |q|^2 added only to the hits (it does not change the order), so one query is one
matrix-vector product, one add and a partition: about one read of the matrix (bench/run.py).

Past `APPROXIMATE_ABOVE` photos, that one read (25-45 ms per million photos here, linear) is worth
avoiding, so a query goes through an HNSW graph (engine/ann.py) instead: the graph proposes a few thousand
nearest photos, each is re-scored exactly from the matrix, and the same nearest-photo rule picks the
celebrities (recall@5 >= 0.99 against the exact ranking, bench/ann.py). The graph is built in a
background thread once the gallery crosses the threshold and kept in step with adds and removals; until it
has caught up, queries take the exact path, which is always right.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np

from engine.ann import HnswGraph

DIM = 128
SAME_PERSON = 0.6  # dlib's trained threshold: below it, the same person

# Galleries of at least this many photos rank through the HNSW graph. Measured by bench/ann.py on this
# machine (2 cores, other work running), on synthetic dlib-shaped embeddings with queries of strangers,
# the graph at recall@5 >= 0.99 (its ef grows with the gallery, engine/ann.py) against the exact pass:
# 100k: 12 ms vs 5 ms (the exact pass wins); 1M: 31 ms vs 42 ms (1.35x); 2M: 1.4-1.5x (e.g. 136 ms vs
# 186 ms under load). Only 1.35x at 1M does not pay for the graph: 5 min of both cores to build and
# +0.75 GB per million photos. At 2M the exact pass reaches 50-80 ms (quiet to loaded), half of a face's
# encoding, and grows linearly; from there the graph's 1.4-1.5x is worth its ~12-15 min background build
# (queries stay exact until it is ready).
APPROXIMATE_ABOVE = 2_000_000
# The graph is asked for as many candidates as it explores (its `expansion`); when they hold fewer
# than k celebrities (a crowd of one celebrity's photos around the query), it widens like the exact path,
# up to this many, and then the exact pass is about as cheap.
APPROXIMATE_WIDEST = 16_384
BUILD_CHUNK = 65_536  # rows added to the graph per step of the background build
REBUILD_ABOVE = 0.2  # share of removed rows (tombstones in the graph) past which the graph is rebuilt
SYNC_ADD = 64  # adds of up to this many rows go into a built graph at once (~ms each); more go to
# the builder thread, and queries take the exact path until it has caught up


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

    With at least `approximate_above` photos (None: never), queries go through an HNSW graph built in
    a background thread (`background=False`: built inside the add that crosses the threshold). Each row
    has a serial number, increasing with insertion and kept through compaction: the graph's key.
    """

    def __init__(
        self,
        capacity: int = 1024,
        *,
        approximate_above: int | None = APPROXIMATE_ABOVE,
        background: bool = True,
    ) -> None:
        self._vectors = np.empty((capacity, DIM), dtype=np.float32)
        self._norms = np.empty(capacity, dtype=np.float32)
        self._photos = np.empty(capacity, dtype=np.int64)
        self._celebs = np.empty(capacity, dtype=np.int64)
        self._serials = np.empty(capacity, dtype=np.int64)
        self._n = 0
        self._next_serial = 0
        self._scratch = threading.local()  # each thread's score buffer, reused across queries
        self.approximate_above = approximate_above
        self._background = background
        # The graph and its bookkeeping; changes to rows and to the graph happen under this lock.
        self._lock = threading.RLock()
        self._graph: HnswGraph | None = None
        self._graph_upto = 0  # every live row with a serial below this is in the graph
        self._graph_ready = False  # caught up with every row: queries may use it
        self._builder: threading.Thread | None = None
        self._pending_removals: list[np.ndarray] = []  # serials removed while the builder was adding

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

    @property
    def approximate(self) -> bool:
        """Whether queries go through the graph now (past the threshold, and the graph caught up)."""
        return self._graph_ready and self._past_threshold()

    @property
    def graph(self) -> HnswGraph | None:
        """The HNSW graph, once the gallery has crossed the threshold (for benchmarks and tuning)."""
        return self._graph

    def wait_approximate(self, timeout: float | None = None) -> bool:
        """Wait for a background build or catch-up to finish; whether queries now use the graph."""
        builder = self._builder
        if builder is not None:
            builder.join(timeout)
        return self.approximate

    def extend(self, photo_ids: np.ndarray, celebrity_ids: np.ndarray, vectors: np.ndarray) -> None:
        """Append rows in bulk (loading a gallery, importing a folder)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, DIM)
        count = vectors.shape[0]
        with self._lock:
            self._reserve(self._n + count)
            end = self._n + count
            self._vectors[self._n : end] = vectors
            self._norms[self._n : end] = np.einsum("ij,ij->i", vectors, vectors)
            self._photos[self._n : end] = photo_ids
            self._celebs[self._n : end] = celebrity_ids
            self._serials[self._n : end] = np.arange(self._next_serial, self._next_serial + count)
            self._next_serial += count
            self._n = end
            self._update_graph(count)

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
        if self._graph_ready and self._past_threshold():
            approximate = self._rank_approximate(q, k)
            if approximate is not None:
                return approximate
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

    def _rank_approximate(self, q: np.ndarray, k: int) -> list[Hit] | None:
        """The graph's candidates re-scored exactly, then the nearest-photo rule; None: use the exact path.

        None when the graph is not usable (dropped or catching up) or when even `APPROXIMATE_WIDEST`
        candidates hold fewer than k celebrities (a crowd of one celebrity's photos around the query).
        """
        with self._lock:
            graph = self._graph
            if graph is None or not self._graph_ready:
                return None
            n = self._n
            serials = self._serials[:n]
            count = min(n, graph.expansion)
            while True:
                keys = graph.search(q, count)
                rows = np.searchsorted(serials, keys)
                found = rows < n
                rows, keys = rows[found], keys[found]
                # Ascending rows, so that the stable sort below breaks ties as the exact path does.
                rows = np.unique(rows[serials[rows] == keys])
                # Exactly the exact path's arithmetic, on the candidates only.
                scores = self._vectors[rows] @ (q * np.float32(-2.0))
                scores += self._norms[rows]
                order = np.argsort(scores, kind="stable")
                picked = _first_per_celebrity(rows[order], self._celebs, k)
                if len(picked) == k or count >= n:
                    break
                if count >= APPROXIMATE_WIDEST:
                    return None
                count = min(n, count * 4)
            qq = float(q @ q)
            at = np.searchsorted(rows, picked)  # rows is sorted: where each picked row's score is
            return [
                Hit(int(self._celebs[i]), int(self._photos[i]), math.sqrt(max(0.0, float(scores[j]) + qq)))
                for i, j in zip(picked, at.tolist(), strict=True)
            ]

    def _past_threshold(self) -> bool:
        return self.approximate_above is not None and self._n >= self.approximate_above

    def _update_graph(self, added: int) -> None:
        """After rows were added (lock held): start, feed or leave the graph."""
        if self._graph is None:
            if not self._past_threshold():
                return
            self._graph = HnswGraph(DIM)
            self._graph_upto = 0
            self._graph_ready = False
        if self._builder is not None:
            return  # it will pick the new rows up
        if self._graph_ready and added <= SYNC_ADD:
            start = self._n - added
            self._graph.add(self._serials[start : self._n], self._vectors[start : self._n])
            self._graph_upto = self._next_serial
            return
        self._graph_ready = False
        if self._background:
            self._builder = threading.Thread(target=self._catch_up, name="face-index-graph", daemon=True)
            self._builder.start()
        else:
            self._catch_up()

    def _catch_up(self) -> None:
        """Add the rows the graph lacks, a chunk at a time, without holding the lock while adding."""
        while True:
            with self._lock:
                graph = self._graph
                if graph is None:
                    self._builder = None
                    return
                start = int(np.searchsorted(self._serials[: self._n], self._graph_upto))
                stop = min(self._n, start + BUILD_CHUNK)
                if start >= stop:
                    self._graph_upto = self._next_serial
                    self._graph_ready = True
                    self._builder = None
                    return
                serials = self._serials[start:stop].copy()
                vectors = self._vectors[start:stop].copy()
            graph.add(serials, vectors)  # slow: rows may be added and removed meanwhile
            with self._lock:
                if self._graph is not graph:
                    continue  # dropped meanwhile: the next turn sees it and stops
                self._graph_upto = int(serials[-1]) + 1
                if self._pending_removals:
                    removed = np.concatenate(self._pending_removals)
                    self._pending_removals.clear()
                    # Rows removed at or past the mark were never added and are gone from the matrix.
                    graph.remove(removed[removed < self._graph_upto])

    def _forget_in_graph(self, removed: np.ndarray) -> None:
        """Rows with these serials left the matrix (lock held): take them out of the graph too."""
        if self._graph is None or removed.size == 0:
            return
        if self._n < (self.approximate_above or 0) // 2:
            # Far below the threshold: free the graph's memory (a rebuild starts past it again).
            self._graph = None
            self._graph_ready = False
            self._pending_removals.clear()
            return
        if self._builder is not None:
            self._pending_removals.append(removed)  # the builder applies them between its chunks
            return
        self._graph.remove(removed[removed < self._graph_upto])
        if self._graph.removed_fraction > REBUILD_ABOVE:
            # Tombstones crowd the answers: build afresh (queries take the exact path meanwhile).
            self._graph = None
            self._graph_ready = False
            self._update_graph(0)

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
        self._serials = _grown(self._serials, capacity)

    def _keep(self, mask: np.ndarray) -> None:
        with self._lock:
            kept = int(mask.sum())
            if kept == self._n:
                return
            removed = self._serials[: self._n][~mask]
            for array in (self._vectors, self._norms, self._photos, self._celebs, self._serials):
                array[:kept] = array[: self._n][mask]
            self._n = kept
            self._forget_in_graph(removed)


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


class Ranked(Protocol):
    @property
    def distance(self) -> float: ...


R = TypeVar("R", bound=Ranked)

# A near-tie, in distance: two selfies of one person lie ~0.38 apart, so celebrities this much closer or
# farther than each other swap places from one selfie to the next. bench/steadiness_space.py --sticky,
# galleries of 37 people: keeping the user's previous #1 within 0.03 of the nearest lifts "the same #1
# for two selfies" from 57 % / 45 % to 79 % / 70 % (East-Asian / Western), top-1 unchanged.
TIE_MARGIN = 0.03


def keep_previous(
    ranking: Sequence[R], previous: Hashable | None, key: Callable[[R], Hashable], margin: float = TIE_MARGIN
) -> list[R]:
    """`ranking` (nearest first) with the `previous` answer moved to the top when it is a near-tie.

    `previous` is compared with `key(item)`; it moves up only when its distance is within `margin` of the
    first item's, and the rest keep their order. Without a previous answer, or when it is not in the
    ranking or not that close, the ranking comes back unchanged (as a new list)."""
    items = list(ranking)
    if previous is None or not items:
        return items
    for index, item in enumerate(items):
        if key(item) == previous:
            if index and item.distance - items[0].distance <= margin:
                return [item, *items[:index], *items[index + 1 :]]
            break
    return items


def nearest_to_mean(vectors: np.ndarray) -> int:
    """Row index of the vector nearest the rows' mean: a celebrity's most typical photo (its cover)."""
    matrix = np.asarray(vectors, dtype=np.float32).reshape(-1, DIM)
    if not len(matrix):
        raise ValueError("no vectors")
    centre = matrix.mean(axis=0)
    return int(np.argmin(((matrix - centre) ** 2).sum(axis=1)))
