"""The project against its anchors, side by side in one run.

    uv run python bench/run.py --json      # the full run: a few minutes on 2 cores
    uv run python bench/run.py --quick     # small sizes, a smoke run

Progress and results go to stderr; with --json the last line of stdout is one JSON object:

- ranking: `FaceIndex.rank` (one query, top 5 distinct celebrities) over n synthetic dlib-shaped embeddings,
  against one plain read pass over the same matrix (the memory floor), faiss `IndexFlatL2` on the same
  vectors, and the notebook's `sorted(dict.items(), key=norm)` at 100k.
- pipeline: photos per second through `FacePool` (processes, one per core) against the notebook's
  `face_recognition` loop on one core, over the shared test photos, with the faces each one finds.
- bot: `bench/bot.py: measure_bot(photos)`: the whole bot kept saturated (latency median, event-loop lag),
  then a burst of 20 users at once: its first answer, median and p95 (`burst_first_s`, `burst_p50_s`,
  `burst_p95_s`); process pool and thread pool side by side.
- cluster: `bench/cluster.py`: the same photos through a Dask cluster on 127.0.0.1 (a scheduler, then one
  and two worker nodes) beside the local pool: per-photo overhead and photos/s. Full runs only (starting
  the nodes takes a minute or two here): null with --quick.
- startup: time from process start to gallery loaded and models ready at 100k photos; peak memory at 1M.
- ratios: each figure against its anchor, with the goals and whether they are met.

The machine is small and shared, so timings are medians of rounds that interleave the things compared:
a burst of load from elsewhere then hits both sides of a ratio alike.

The ranking figures are measured in `bench/ranking.py`, the pipeline's in `bench/pipeline.py`; the startup,
the sections of other benches, the ratios and the report here.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import (  # noqa: E402
    PHOTOS_PER_CELEBRITY,
    Shape,
    demo_shape,
    exit_on_sigterm,
    log,
    machine,
    synth_gallery,
)
from bench.pipeline import measure_pipeline, pipeline_photos  # noqa: E402
from bench.ranking import measure_100k, measure_ranking  # noqa: E402
from engine.pool import default_workers  # noqa: E402
from engine.ranking import DIM  # noqa: E402
from store.names import name_key  # noqa: E402

STARTUP_SCRIPT = Path(__file__).resolve().parent / "startup.py"
DUMMY_THUMBNAIL = b"\xff\xd8\xff\xe0" + bytes(60)  # 64 bytes: only the embeddings are loaded at start

GOALS = {
    "rank_vs_stream": ("<=", 1.5),
    "rank_vs_faiss": ("<=", 1.0),
    "seed_sort_vs_rank_100k": (">=", 100.0),
    "project_vs_seed": (">=", 3.0),
    "rss_mb_1m": ("<=", 1200.0),
}


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
    from bench.bot import measure_bot

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
    exit_on_sigterm()
    raise SystemExit(main())
