"""An approximate nearest-photo graph (HNSW, faiss `IndexHNSWFlat`) for galleries of millions of photos.

It only proposes candidates: `FaceIndex` re-scores each one exactly from its float32 matrix, so a
distance shown is never the graph's. Keys are `FaceIndex`'s row serial numbers, added in increasing
order: a graph position leads to its key by indexing, a key to its position by binary search. faiss's
HNSW cannot delete, so removed rows become tombstones, filtered out of each answer; `FaceIndex` rebuilds
the graph when too many pile up.

Parameters, measured by bench/ann.py on synthetic dlib-shaped vectors: the hard case, since a user's face
is nobody in the gallery and its nearest photos are barely nearer than the rest (in 128 dimensions,
every identity drawn independently). faiss, M 32, efConstruction 64, 2 cores: built at ~3,200 photos/s
at 1M (5 min, 757 MB), ~2,100-2,700 at 2M (12-15 min, 1.5 GB). recall@5 of distinct celebrities against
the exact ranking, by ef:
- 1M: 2048 0.981, 3072 0.992, 4096 0.996;
- 2M: 2048 0.956, 3072 0.977, 4096 0.988, 5120 0.992, 6144 0.995.
Query time is about 10 ms per 1000 of ef here. Also tried: usearch 2.26 (HNSW with deletion, f16
storage): M 16 reached only 0.986 at ef 4096 at 1M; M 32 took 1.6x as long as faiss to build and answered
~2x slower at the same recall.
"""

from __future__ import annotations

import numpy as np

CONNECTIVITY = 32  # HNSW's M: links per node (64 on the bottom layer)
EXPANSION_ADD = 64  # efConstruction
# ef (candidates explored, and asked for, per query) grows with the graph: at a fixed ef recall falls as
# photos are added (ef 4096: 0.996 at 1M, 0.988 at 2M), and 3072 per million kept recall@5 >= 0.99.
EXPANSION_PER_MILLION = 3072
EXPANSION_MIN = 1024


class HnswGraph:
    """faiss's HNSW over Euclidean distance, keyed by increasing non-negative integers."""

    def __init__(
        self,
        dim: int,
        *,
        connectivity: int = CONNECTIVITY,
        expansion_add: int = EXPANSION_ADD,
        expansion_search: int | None = None,
    ) -> None:
        import faiss  # imported here: only galleries past the threshold need it

        self._faiss = faiss
        self._index = faiss.IndexHNSWFlat(dim, connectivity)
        self._index.hnsw.efConstruction = expansion_add
        self.expansion_search = expansion_search  # None: by size, `EXPANSION_PER_MILLION`
        self._keys = np.empty(1024, dtype=np.int64)  # by graph position
        self._alive = np.empty(1024, dtype=bool)
        self._size = 0
        self._dead = 0

    def __len__(self) -> int:
        """Live (not removed) entries."""
        return self._size - self._dead

    @property
    def expansion(self) -> int:
        """The ef a search uses: `expansion_search` if set, else by size (a multiple of 256)."""
        if self.expansion_search is not None:
            return self.expansion_search
        wanted = EXPANSION_PER_MILLION * len(self) / 1e6
        return max(EXPANSION_MIN, -(-int(wanted) // 256) * 256)

    @property
    def removed_fraction(self) -> float:
        return self._dead / self._size if self._size else 0.0

    @property
    def memory_bytes(self) -> int:
        """Vectors (float32) and links, as faiss holds them."""
        hnsw = self._index.hnsw
        # faiss-cpu's bundled stub lacks HNSW.neighbors and .offsets; the SWIG object has them.
        neighbors, offsets = hnsw.neighbors, hnsw.offsets  # type: ignore[attr-defined]
        links = neighbors.size() * 4 + offsets.size() * 8 + hnsw.levels.size() * 4
        return int(self._index.ntotal * self._index.d * 4 + links + self._keys.nbytes + self._alive.nbytes)

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Insert rows; keys must be larger than every key added before. Uses every core (OpenMP)."""
        keys = np.asarray(keys, dtype=np.int64)
        if keys.size == 0:
            return
        if self._size and keys[0] <= self._keys[self._size - 1]:
            raise ValueError("keys must increase")
        end = self._size + keys.size
        if end > self._keys.size:
            capacity = max(end, 2 * self._keys.size)
            self._keys = np.resize(self._keys, capacity)
            self._alive = np.resize(self._alive, capacity)
        self._index.add(np.ascontiguousarray(vectors, dtype=np.float32).reshape(keys.size, -1))
        self._keys[self._size : end] = keys
        self._alive[self._size : end] = True
        self._size = end

    def remove(self, keys: np.ndarray) -> None:
        """Tombstone rows: they stay in the graph as waypoints, but are never returned again."""
        keys = np.asarray(keys, dtype=np.int64)
        if keys.size == 0 or self._size == 0:
            return
        known = self._keys[: self._size]
        at = np.searchsorted(known, keys)
        inside = at < self._size
        at = at[inside][known[at[inside]] == keys[inside]]
        newly = np.unique(at[self._alive[at]])
        self._alive[newly] = False
        self._dead += int(newly.size)

    def search(self, query: np.ndarray, count: int) -> np.ndarray:
        """Keys of about the `count` nearest live rows (approximate)."""
        params = self._faiss.SearchParametersHNSW()  # type: ignore[attr-defined]  # in faiss, not its stub
        params.efSearch = max(self.expansion, count)
        _, positions = self._index.search(
            np.asarray(query, dtype=np.float32).reshape(1, -1), count, params=params
        )
        found = positions[0]
        found = found[found >= 0]
        return self._keys[found[self._alive[found]]]
