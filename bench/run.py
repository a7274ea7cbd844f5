"""The project against its anchors, side by side in one run.

    uv run python bench/run.py --json      # the full run: a few minutes on 2 cores
    uv run python bench/run.py --quick     # small sizes, a smoke run

Progress and results go to stderr; with --json the last line of stdout is one JSON object:

- ranking: `FaceIndex.rank` (one query, top 5 distinct celebrities) over n synthetic dlib-shaped embeddings,
  against one plain read pass over the same matrix (the memory floor), faiss `IndexFlatL2` on the same
  vectors, and the notebook's `sorted(dict.items(), key=norm)` at 100k.
- pipeline: photos per second through `FacePool` (processes, one per core) against the notebook's
  `face_recognition` loop on one core, over the shared test photos, with the faces each one finds.
- bot: `bench/bot.py: measure_bot(photos)` when that module exists, else null.
- cluster: `bench/cluster.py`: the same photos through a Dask cluster on 127.0.0.1 (a scheduler, then one
  and two worker nodes) beside the local pool: per-photo overhead and photos/s. Full runs only (starting
  the nodes takes a minute or two here): null with --quick.
- startup: time from process start to gallery loaded and models ready at 100k photos; peak memory at 1M.
- ratios: each figure against its anchor, with the goals and whether they are met.

The machine is small and shared, so timings are medians of rounds that interleave the things compared:
a burst of load from elsewhere then hits both sides of a ratio alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import (  # noqa: E402
    PHOTOS_PER_CELEBRITY,
    Shape,
    demo_shape,
    interleaved,
    log,
    machine,
    median_ms,
    synth_gallery,
    synth_queries,
)
from engine.pool import FacePool, default_workers  # noqa: E402
from engine.ranking import DIM, FaceIndex  # noqa: E402
from store.names import name_key  # noqa: E402
from tests.paths import FACES_DIR, manifest  # noqa: E402

STARTUP_SCRIPT = Path(__file__).resolve().parent / "startup.py"
TOP = 5
FAISS_K = 50  # enough nearest photos to hold 5 distinct celebrities at 10 photos each
STREAM_CHUNK = 65536  # rows per task of the threaded read pass (32 MB)
DUMMY_THUMBNAIL = b"\xff\xd8\xff\xe0" + bytes(60)  # 64 bytes: only the embeddings are loaded at start

GOALS = {
    "rank_vs_stream": ("<=", 1.5),
    "rank_vs_faiss": ("<=", 1.0),
    "seed_sort_vs_rank_100k": (">=", 100.0),
    "project_vs_seed": (">=", 3.0),
    "rss_mb_1m": ("<=", 1200.0),
}


# Ranking


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
        contenders.update({f"stream:{name}": (lambda r, f=f: f()) for name, f in streams.items()})
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


def pipeline_photos(quick: bool) -> list[Path]:
    """Every photo of the shared manifest; in quick mode the three smallest (by pixels)."""
    paths = [path for path, _ in manifest()]
    if quick:
        from PIL import Image

        def pixels(path: Path) -> int:
            with Image.open(path) as image:
                return image.width * image.height

        paths = sorted(paths, key=pixels)[:3]
    return paths


async def _project_pass(pool: FacePool, photos: list[bytes]) -> tuple[float, list[int]]:
    """All photos submitted at once; seconds until the last is done, and faces found in each."""
    start = time.perf_counter()
    analyses = await asyncio.gather(*(pool.analyze(data) for data in photos))
    return time.perf_counter() - start, [a.faces_found for a in analyses]


def _import_face_recognition() -> ModuleType:
    """The notebook's library (imported late: it loads its models and changes a Pillow default)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # face_recognition_models: "pkg_resources is deprecated"
        import face_recognition
    return face_recognition


def _seed_pass(face_recognition: ModuleType, paths: list[Path]) -> tuple[float, list[int]]:
    """The notebook's loop on one core: load_image_file → face_locations → face_encodings, defaults.

    The locations found are passed on to face_encodings (without them it would detect a second time),
    which is the faster way to write the notebook's loop: the anchor is not made slow on purpose.
    """
    faces: list[int] = []
    start = time.perf_counter()
    for path in paths:
        image = face_recognition.load_image_file(str(path))
        locations = face_recognition.face_locations(image)
        face_recognition.face_encodings(image, locations)
        faces.append(len(locations))
    return time.perf_counter() - start, faces


def _alternate_passes(
    pool: FacePool, face_recognition: ModuleType, paths: list[Path], photos: list[bytes], passes: int
) -> dict[str, list[tuple[float, list[int]]]]:
    """Project and notebook passes taking turns (who goes first alternates), so both meet the same load."""

    async def run() -> dict[str, list[tuple[float, list[int]]]]:
        results: dict[str, list[tuple[float, list[int]]]] = {"project": [], "seed": []}
        for number in range(passes):
            for side in ("project", "seed") if number % 2 == 0 else ("seed", "project"):
                if side == "project":
                    results[side].append(await _project_pass(pool, photos))
                else:  # blocks the loop, which has nothing else to do meanwhile
                    results[side].append(_seed_pass(face_recognition, paths))
        return results

    return asyncio.run(run())


def measure_pipeline(quick: bool) -> dict:
    """Photos per second: the project's process pool (warm-up excluded) against the notebook's loop on
    one core, on the same photos, with the faces each finds."""
    paths = pipeline_photos(quick)
    photos = [path.read_bytes() for path in paths]
    workers = default_workers()
    passes = 1 if quick else 3
    face_recognition = _import_face_recognition()
    pool = FacePool(kind="process", workers=workers, queue_limit=len(photos) + workers)
    try:
        start = time.perf_counter()
        pool.warm_up()
        warm_up = time.perf_counter() - start
        results = _alternate_passes(pool, face_recognition, paths, photos, passes)
    finally:
        pool.close()
    for side, label in (("project", f"project, {workers} worker processes"), ("seed", "notebook, one core")):
        log(f"pipeline, {label}: passes of {', '.join(f'{s:.2f}' for s, _ in results[side])} s")
    project_s = statistics.median(s for s, _ in results["project"])
    seed_s = statistics.median(s for s, _ in results["seed"])
    faces_project, faces_seed = results["project"][0][1], results["seed"][0][1]
    mismatches = [
        {"photo": str(path.relative_to(FACES_DIR)), "project": a, "seed": b}
        for path, a, b in zip(paths, faces_project, faces_seed, strict=True)
        if a != b
    ]
    result = {
        "photos": len(photos),
        "workers": workers,
        "project_per_s": round(len(photos) / project_s, 3),
        "seed_1core_per_s": round(len(photos) / seed_s, 3),
        "project_s": round(project_s, 3),
        "seed_s": round(seed_s, 3),
        "warm_up_s": round(warm_up, 3),
        "passes": passes,
        "faces_project": sum(faces_project),
        "faces_seed": sum(faces_seed),
        "same_faces_per_photo": not mismatches,
        "faces_differ": mismatches,
    }
    log(
        f"pipeline: {len(photos)} photos, warm-up {warm_up:.2f} s (excluded); project "
        f"{result['project_per_s']} photos/s, notebook {result['seed_1core_per_s']} photos/s; faces "
        f"{result['faces_project']} vs {result['faces_seed']}, same per photo: "
        f"{result['same_faces_per_photo']} {mismatches or ''}"
    )
    return result


# Startup


async def _create_schema(path: Path) -> None:
    """An empty gallery file with the store's own schema, made by its own migrations."""
    import aiosqlite

    from store.schema import migrate

    async with aiosqlite.connect(path, isolation_level=None) as db:
        await migrate(db)


def _photo_rows(n: int, shape: Shape, rng: np.random.Generator, now: float) -> Iterator[tuple]:
    """Rows of the photo table, generated a chunk at a time to keep memory flat."""
    chunk = 100_000
    for first in range(0, n, chunk):
        count = min(chunk, n - first)
        vectors, celebs = synth_gallery(count, shape, rng, first_celebrity=first // PHOTOS_PER_CELEBRITY)
        blob = vectors.tobytes()
        width = DIM * 4
        for i in range(count):
            photo = first + i
            yield (
                photo + 1,
                int(celebs[i]) + 1,
                f"{photo:064x}",  # stands for a SHA-256: unique, and in order so the index appends
                blob[i * width : (i + 1) * width],
                DUMMY_THUMBNAIL,
                "bench",
                now,
            )


def build_gallery_file(path: Path, n: int, shape: Shape, rng: np.random.Generator) -> float:
    """A gallery file of n synthetic photos (10 per celebrity), bulk-inserted; returns seconds taken."""
    import sqlite3

    start = time.perf_counter()
    asyncio.run(_create_schema(path))
    now = time.time()
    celebrities = -(-n // PHOTOS_PER_CELEBRITY)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")  # a throwaway file: no journal, no fsync
        db.execute("PRAGMA synchronous=OFF")
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO celebrity (id, name, name_key, created_at) VALUES (?, ?, ?, ?)",
            ((c + 1, f"Celebrity {c:07d}", name_key(f"Celebrity {c:07d}"), now) for c in range(celebrities)),
        )
        db.executemany(
            "INSERT INTO photo (id, celebrity_id, sha256, embedding, thumbnail, source, added_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            _photo_rows(n, shape, rng, now),
        )
        db.execute("COMMIT")
    finally:
        db.close()
    seconds = time.perf_counter() - start
    log(f"startup: built a {n:,}-photo gallery ({path.stat().st_size / 2**20:.0f} MB) in {seconds:.1f} s")
    return seconds


def start_once(path: Path) -> tuple[float, dict]:
    """Wall time from before Popen to the READY line of a fresh bench/startup.py, and its report."""
    with tempfile.TemporaryFile("w+") as errors:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, str(STARTUP_SCRIPT), str(path)],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            cwd=REPO,
        )
        assert child.stdout is not None
        ready = None
        for line in child.stdout:
            if line.startswith("READY "):
                ready = time.perf_counter() - start
                report = json.loads(line[len("READY ") :])
                break
        child.wait(timeout=120)
        if ready is None:
            errors.seek(0)
            raise RuntimeError(f"startup.py never said READY (exit {child.returncode}):\n{errors.read()}")
    return ready, report


def measure_startup(quick: bool, shape: Shape, rng: np.random.Generator) -> dict:
    """Ready time at 100k photos (median of 3 fresh processes) and peak memory at 1M (not in quick)."""
    with tempfile.TemporaryDirectory(prefix="lookalike-bench-") as folder:
        small = Path(folder) / "gallery-100k.sqlite"
        build_100k = build_gallery_file(small, 100_000, shape, rng)
        runs = [start_once(small) for _ in range(1 if quick else 3)]
        log(f"startup at 100,000: {', '.join(f'{s:.2f}' for s, _ in runs)} s")
        wall, report = sorted(runs, key=lambda run: run[0])[len(runs) // 2]  # the median run
        log(f"startup at 100,000, median run: {wall:.2f} s; inside: {_stages(report)}")
        result: dict = {
            "s_100k": round(wall, 3),
            "stages_100k": {k: round(v, 3) for k, v in report.items()},
            "build_s_100k": round(build_100k, 1),
            "rss_mb_1m": None,
        }
        small.unlink()
        if quick:
            log("startup: --quick, the 1M-photo memory figure is skipped")
            return result
        large = Path(folder) / "gallery-1m.sqlite"
        result["build_s_1m"] = round(build_gallery_file(large, 1_000_000, shape, rng), 1)
        wall_1m, report_1m = start_once(large)
        result["rss_mb_1m"] = round(report_1m["rss_mb_ready"], 1)
        result["s_1m"] = round(wall_1m, 3)
        result["stages_1m"] = {k: round(v, 3) for k, v in report_1m.items()}
        log(f"startup at 1,000,000: {wall_1m:.2f} s; inside: {_stages(report_1m)}")
    return result


def _stages(report: dict) -> str:
    return ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in report.items())


# Bot


def measure_bot_section(photos: int) -> dict | None:
    """bench/bot.py's figures when another engineer's module is there; None (and a note) when not."""
    if importlib.util.find_spec("bench.bot") is None:
        log('bot: bench/bot.py is not there yet, so "bot" is null')
        return None
    from bench.bot import measure_bot  # type: ignore[import-not-found]

    result = measure_bot(photos)
    log(f"bot: {result}")
    return result


# Cluster


def measure_cluster_section(paths: list[Path]) -> dict:
    """bench/cluster.py's figures: the local pool beside a Dask cluster of one, then two, worker nodes."""
    from bench.cluster import measure_cluster  # imports distributed

    return measure_cluster(paths, quick=False)


# Ratios


def ratios(ranking: dict, at_100k: dict, pipeline: dict, startup: dict) -> dict:
    """Each figure over its anchor, the goal, and whether it is met (None when not measured)."""
    values = {
        "rank_vs_stream": ranking["ms"] / ranking["stream_ms"],
        "rank_vs_faiss": ranking["ms"] / ranking["faiss_flat_ms"],
        "seed_sort_vs_rank_100k": at_100k["seed_sort_ms_100k"] / at_100k["ms_100k"],
        "project_vs_seed": pipeline["project_per_s"] / pipeline["seed_1core_per_s"],
        "rss_mb_1m": startup["rss_mb_1m"],
    }
    result: dict = {}
    for name, value in values.items():
        op, goal = GOALS[name]
        met = None if value is None else (value <= goal if op == "<=" else value >= goal)
        if name != "rss_mb_1m":
            result[name] = round(value, 3)
        result[f"{name}_ok"] = met
    result["same_faces_per_photo"] = pipeline["same_faces_per_photo"]
    return result


def ratio_lines(values: dict, startup: dict) -> list[str]:
    """The ratios as a small table for people."""
    lines = []
    for name, (op, goal) in GOALS.items():
        value = startup["rss_mb_1m"] if name == "rss_mb_1m" else values[name]
        shown = "n/a" if value is None else f"{value:10.2f}"
        verdict = {True: "met", False: "MISSED", None: "not measured"}[values[f"{name}_ok"]]
        lines.append(f"  {name:<24}{shown:>10}   goal {op} {goal:g}   {verdict}")
    return lines


# Main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: n=100k, 3 photos, no 1M gallery")
    parser.add_argument("--json", action="store_true", help="print one JSON object as stdout's last line")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    load_start = os.getloadavg()[0]  # other people's work on this machine: context for the timings
    rng = np.random.default_rng(20240611)
    shape = demo_shape()
    log(
        f"bench: {'quick' if args.quick else 'full'} run, {default_workers()} cores, load "
        f"{load_start:.2f}; demo embeddings: |x| mean {shape.norms[1]:.2f}, identity sd "
        f"{shape.centre_sd:.4f}, photo sd {shape.photo_sd:.4f} per dimension"
    )
    n = 100_000 if args.quick else 1_000_000
    ranking = measure_ranking(n, rounds=15 if args.quick else 31, shape=shape, rng=rng)
    gc.collect()
    at_100k = measure_100k(
        rounds=30 if args.quick else 105, seed_rounds=3 if args.quick else 7, shape=shape, rng=rng
    )
    ranking.update(at_100k)
    from bench.ann import summary as approximate_summary  # the HNSW threshold in force (bench/ann.py)

    ranking["approximate"] = approximate_summary()
    gc.collect()
    pipeline = measure_pipeline(args.quick)
    cluster = None if args.quick else measure_cluster_section(pipeline_photos(quick=False))
    startup = measure_startup(args.quick, shape, rng)
    errors: dict[str, str] = {}
    try:
        bot = measure_bot_section(pipeline["photos"])
    except Exception as exc:  # the bot bench is another engineer's: report it, keep the rest
        traceback.print_exc()
        errors["bot"] = f"{type(exc).__name__}: {exc}"
        bot = None
    values = ratios(ranking, at_100k, pipeline, startup)
    report = {
        "ranking": ranking,
        "pipeline": pipeline,
        "bot": bot,
        "cluster": cluster,
        "startup": startup,
        "ratios": values,
        "machine": machine(load_start, openblas_coretype=os.environ.get("OPENBLAS_CORETYPE")),
        "quick": args.quick,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if errors:
        report["errors"] = errors
    log("ratios:")
    for line in ratio_lines(values, startup):
        log(line)
    log(f"bench: done in {report['seconds']} s")
    if args.json:
        print(json.dumps(report))
    else:
        print("\n".join(ratio_lines(values, startup)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
