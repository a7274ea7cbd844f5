"""bench/run.py's ranking figures: `FaceIndex.rank` against a plain read pass over the same matrix (the
memory floor), faiss `IndexFlatL2`, and the notebook's `sorted(dict.items(), key=norm)` at 100k."""

from __future__ import annotations

import contextlib
import ctypes
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import (  # noqa: E402
    PHOTOS_PER_CELEBRITY,
    Shape,
    interleaved,
    log,
    median_ms,
    synth_gallery,
    synth_queries,
)
from engine.pool import default_workers  # noqa: E402
from engine.ranking import DIM, FaceIndex  # noqa: E402

TOP = 5
FAISS_K = 50  # enough nearest photos to hold 5 distinct celebrities at 10 photos each
STREAM_CHUNK = 65536  # rows per task of the threaded read pass (32 MB)


def stream_passes(
    matrix: np.ndarray, workers: int, pool: ThreadPoolExecutor
) -> dict[str, Callable[[], object]]:
    """Plain read passes over the matrix: the floor any query must pay. The fastest one counts.

    `sum`: numpy's pairwise sum on one core. `threaded_sum`: the same on row chunks across `workers`
    threads (numpy releases the GIL), since a single core does not saturate the memory bus here.
    """

    def threaded_sum() -> float:
        starts = range(0, matrix.shape[0], STREAM_CHUNK)
        return sum(pool.map(lambda s: float(matrix[s : s + STREAM_CHUNK].sum()), starts))

    passes: dict[str, Callable[[], object]] = {"sum": matrix.sum}
    if workers > 1:
        passes[f"threaded_sum_{workers}"] = threaded_sum
    return passes


def distinct_celebrities(labels: np.ndarray, celebs: np.ndarray, k: int) -> list[int]:
    """The first k distinct celebrities among photo rows listed nearest first."""
    seen: list[int] = []
    for row in labels.tolist():
        celeb = int(celebs[row])
        if celeb not in seen:
            seen.append(celeb)
            if len(seen) == k:
                break
    return seen


class OpenBlasThreads:
    """Set OpenBLAS's thread count for a while (as threadpoolctl would), for the 1-thread comparison.

    Found by name among the libraries this process has loaded; None when there is no such OpenBLAS.
    Only the bench does this: the project leaves numpy's threading as it is.
    """

    def __init__(self, lib: ctypes.CDLL, prefix: str) -> None:
        self._set = getattr(lib, f"{prefix}set_num_threads{_suffix(prefix)}")
        self._get = getattr(lib, f"{prefix}get_num_threads{_suffix(prefix)}")

    @classmethod
    def find(cls) -> OpenBlasThreads | None:
        with contextlib.suppress(OSError):
            with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
                paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
            for path in sorted(paths):
                lib = ctypes.CDLL(path)
                for prefix in ("scipy_openblas_", "openblas_"):
                    with contextlib.suppress(AttributeError):
                        return cls(lib, prefix)
        return None

    @contextlib.contextmanager
    def limit(self, threads: int) -> Iterator[None]:
        before = self._get()
        self._set(threads)
        try:
            yield
        finally:
            self._set(before)


def _suffix(prefix: str) -> str:
    # scipy-openblas (numpy's wheels) builds with 64-bit integers and a "64_" symbol suffix.
    return "64_" if prefix.startswith("scipy") else ""


def _every_round(run: Callable[[], object]) -> Callable[[int], object]:
    """A contender that takes no input -> one `interleaved` can call with the round (which it ignores)."""
    return lambda _round: run()


def measure_ranking(n: int, rounds: int, shape: Shape, rng: np.random.Generator) -> dict:
    """FaceIndex.rank at n against a plain read pass and faiss IndexFlatL2, interleaved."""
    import faiss  # a dev dependency: imported here, not when a worker process loads this module

    workers = default_workers()
    started = time.perf_counter()
    vectors, celebs = synth_gallery(n, shape, rng)
    index = FaceIndex(capacity=n)
    index.extend(np.arange(n), celebs, vectors)
    del vectors
    matrix = index.vectors
    flat = faiss.IndexFlatL2(DIM)
    flat.add(matrix)
    norms = np.linalg.norm(matrix[:100_000], axis=1)
    log(
        f"ranking: {n:,} synthetic photos ({n // PHOTOS_PER_CELEBRITY:,} celebrities), |x| "
        f"{norms.min():.2f}..{norms.max():.2f} mean {norms.mean():.2f} (demo: {shape.norms[0]:.2f}.."
        f"{shape.norms[2]:.2f} mean {shape.norms[1]:.2f}); built in {time.perf_counter() - started:.1f} s"
    )
    queries = synth_queries(rounds + 1, shape, rng)
    with ThreadPoolExecutor(workers) as pool:
        streams = stream_passes(matrix, workers, pool)
        contenders: dict[str, Callable[[int], object]] = {
            "rank": lambda r: index.rank(queries[r], TOP),
            "faiss": lambda r: flat.search(queries[r][None, :], FAISS_K),
        }
        blas = OpenBlasThreads.find()
        if blas is not None and workers > 1:  # does OpenBLAS's threading help one matrix-vector product?

            def rank_1thread(r: int) -> object:
                with blas.limit(1):
                    return index.rank(queries[r], TOP)

            contenders["rank_1thread"] = rank_1thread
        contenders.update({f"stream:{name}": _every_round(f) for name, f in streams.items()})
        for warm in contenders.values():  # first touches: page faults, thread start-up, buffers
            warm(rounds)
        times = interleaved(contenders, rounds)
    stream_name = min(streams, key=lambda name: statistics.median(times[f"stream:{name}"]))
    checked = queries[:20]
    agree = sum(
        [h.celebrity_id for h in index.rank(q, TOP)]
        == distinct_celebrities(flat.search(q[None, :], FAISS_K)[1][0], celebs, TOP)
        for q in checked
    )
    result = {
        "n": n,
        "ms": median_ms(times["rank"]),
        "stream_ms": median_ms(times[f"stream:{stream_name}"]),
        "stream_how": stream_name,
        "stream_ms_each": {name: median_ms(times[f"stream:{name}"]) for name in streams},
        "ms_openblas_1thread": median_ms(times["rank_1thread"]) if "rank_1thread" in times else None,
        "faiss_flat_ms": median_ms(times["faiss"]),
        "faiss_k": FAISS_K,
        "faiss_threads": faiss.omp_get_max_threads(),
        "rounds": rounds,
        "top5_same_as_faiss": f"{agree}/{len(checked)}",
    }
    log(
        f"ranking at {n:,}: rank {result['ms']} ms (OpenBLAS on 1 thread: "
        f"{result['ms_openblas_1thread']} ms), read pass {result['stream_ms']} ms ({stream_name}; "
        f"each: {result['stream_ms_each']}), faiss IndexFlatL2 k={FAISS_K} {result['faiss_flat_ms']} ms; "
        f"top 5 as faiss's for {agree}/{len(checked)} queries"
    )
    return result


def measure_100k(rounds: int, seed_rounds: int, shape: Shape, rng: np.random.Generator) -> dict:
    """FaceIndex.rank at 100k against the notebook's sort of a name → embedding dict."""
    n = 100_000
    vectors, celebs = synth_gallery(n, shape, rng)
    index = FaceIndex(capacity=n)
    index.extend(np.arange(n), celebs, vectors)
    # The notebook: one photo per name, face_recognition's float64 embeddings, a sort by distance.
    notebook = {f"celebrity {i}": v.astype(np.float64) for i, v in enumerate(vectors)}
    queries = synth_queries(rounds + 1, shape, rng)

    def seed_sort(r: int) -> object:
        q = queries[r].astype(np.float64)
        return sorted(notebook.items(), key=lambda kv: np.linalg.norm(kv[1] - q))[:TOP]

    index.rank(queries[rounds], TOP)
    step = max(1, rounds // seed_rounds)
    times = interleaved(
        {"rank": lambda r: index.rank(queries[r], TOP), "seed": seed_sort}, rounds, every={"seed": step}
    )
    result = {"ms_100k": median_ms(times["rank"]), "seed_sort_ms_100k": median_ms(times["seed"])}
    log(
        f"ranking at 100,000: rank {result['ms_100k']} ms ({len(times['rank'])} queries), notebook sort "
        f"{result['seed_sort_ms_100k']} ms ({len(times['seed'])} queries, interleaved)"
    )
    return result


# Pipeline
