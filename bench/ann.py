"""The approximate ranking (an HNSW graph behind `FaceIndex.rank`) against the exact pass, by gallery size.

    uv run python bench/ann.py --json                    # 100k, 1M, 2M photos: 25-40 min on 2 cores
    uv run python bench/ann.py --sizes 1000000 --json    # one size
    uv run python bench/ann.py --quick                   # 100k only, a smoke run

Most of the time is building the graphs (faiss HNSW on both cores: ~5 min at 1M, 12-15 min at 2M). 3M is
not in the default run: its build alone would take ~25 min here (the rate falls as the graph grows).

For each size n, over n synthetic dlib-shaped embeddings (bench/run.py's generator, 10 photos per
celebrity) and queries of people who are not in the gallery (the hard case for a graph):
- build: seconds to fill the matrix, and to build the graph (faiss HNSW, every core), its memory;
- recall@5: the share of the exact top-5 distinct celebrities that the approximate path also returns,
  averaged over the queries, the share of queries whose top 5 (celebrity and photo, in order) is the same,
  and the largest difference between the distances both paths give for the same photo (must be 0: the
  graph's candidates are re-scored from the matrix);
- ms: one query, top 5, exact pass against the graph, interleaved medians; also at other `ef` values.

Progress goes to stderr; with --json the last line of stdout is one JSON object. `summary()` gives the
threshold and graph parameters for bench/run.py's "ranking" section (no measuring: that is this script).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import demo_shape, interleaved, log, machine, median_ms, synth_gallery, synth_queries  # noqa: E402
from engine import ann  # noqa: E402
from engine.ranking import APPROXIMATE_ABOVE, FaceIndex  # noqa: E402

TOP = 5
SIZES = (100_000, 1_000_000, 2_000_000)


def summary() -> dict:
    """The threshold and graph parameters in force, for bench/run.py (cheap: nothing is measured)."""
    return {
        "approximate_above": APPROXIMATE_ABOVE,
        "hnsw": {
            "connectivity": ann.CONNECTIVITY,
            "expansion_add": ann.EXPANSION_ADD,
            "expansion_per_million": ann.EXPANSION_PER_MILLION,
            "expansion_min": ann.EXPANSION_MIN,
            "library": "faiss IndexHNSWFlat",
        },
        "measured_by": "bench/ann.py",
    }


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def top(index: FaceIndex, query: np.ndarray, exact: bool) -> list:
    """The index's top 5, through the exact pass or through the graph."""
    threshold = index.approximate_above
    if exact:
        index.approximate_above = None
    try:
        return index.rank(query, TOP)
    finally:
        index.approximate_above = threshold


def agreement(index: FaceIndex, queries: list[np.ndarray]) -> dict:
    """recall@5 of distinct celebrities, identical top 5s, and distance differences, over the queries."""
    recall, same, worst = 0.0, 0, 0.0
    for query in queries:
        exact = top(index, query, exact=True)
        approximate = top(index, query, exact=False)
        recall += len({h.celebrity_id for h in exact} & {h.celebrity_id for h in approximate}) / len(exact)
        same += [(h.celebrity_id, h.photo_id) for h in exact] == [
            (h.celebrity_id, h.photo_id) for h in approximate
        ]
        by_photo = {h.photo_id: h.distance for h in exact}
        for hit in approximate:
            if hit.photo_id in by_photo:
                worst = max(worst, abs(hit.distance - by_photo[hit.photo_id]))
    return {
        "recall_at_5": round(recall / len(queries), 4),
        "same_top5": round(same / len(queries), 4),
        "max_distance_diff": worst,
    }


def measure_size(
    n: int, shape, rng: np.random.Generator, queries: int, rounds: int, sweep: list[int]
) -> dict:
    """Build an index of n photos with its graph; recall and query times, exact against approximate."""
    started = time.perf_counter()
    vectors, celebs = synth_gallery(n, shape, rng)
    index = FaceIndex(capacity=n, approximate_above=n, background=False)
    index.extend(np.arange(n - 1), celebs[:-1], vectors[:-1])  # under the threshold: the matrix only
    matrix_s = time.perf_counter() - started
    rss_before = rss_mb()
    start = time.perf_counter()
    index.add(n - 1, int(celebs[-1]), vectors[-1])  # crosses it: the whole graph is built here
    graph_s = time.perf_counter() - start
    del vectors
    gc.collect()
    graph = index.graph
    assert graph is not None and index.approximate
    log(
        f"ann at {n:,}: matrix in {matrix_s:.1f} s; graph built in {graph_s:.1f} s "
        f"({n / graph_s:,.0f} photos/s, {os.cpu_count()} threads), {graph.memory_bytes / 2**20:.0f} MB"
    )
    asked = synth_queries(queries + rounds + 1, shape, rng)
    checked, timed = asked[:queries], asked[queries:]
    result: dict = {
        "n": n,
        "matrix_s": round(matrix_s, 1),
        "graph_build_s": round(graph_s, 1),
        "graph_photos_per_s": round(n / graph_s),
        "graph_mb": round(graph.memory_bytes / 2**20, 1),
        "rss_mb_matrix": round(rss_before, 1),
        "rss_mb_with_graph": round(rss_mb(), 1),
        "queries": queries,
    }
    default_ef = graph.expansion  # by size
    by_ef: dict[str, dict] = {}
    for ef in sorted({*sweep, default_ef}):
        graph.expansion_search = ef
        figures = agreement(index, checked)
        contenders: dict[str, Callable[[int], object]] = {
            "exact": lambda r: top(index, timed[r], exact=True),
            "approximate": lambda r: top(index, timed[r], exact=False),
        }
        for warm in contenders.values():
            warm(rounds)
        times = interleaved(contenders, rounds)
        figures.update(
            {"exact_ms": median_ms(times["exact"]), "approximate_ms": median_ms(times["approximate"])}
        )
        figures["speedup"] = round(figures["exact_ms"] / figures["approximate_ms"], 2)
        by_ef[str(ef)] = figures
        log(f"ann at {n:,}, ef {ef}: {figures}")
    graph.expansion_search = None
    result.update(by_ef[str(default_ef)])
    result["ef"] = default_ef
    result["by_ef"] = by_ef
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def crossover(sizes: list[dict]) -> dict:
    """The exact pass per million photos (linear), and at which sizes the graph, at its default ef and
    with recall@5 >= 0.99, answered faster than the exact pass."""
    large = [s for s in sizes if s["n"] >= 1_000_000] or sizes  # small matrices sit in the caches
    per_million = statistics.median(s["exact_ms"] / (s["n"] / 1e6) for s in large)
    return {
        "exact_ms_per_million": round(per_million, 2),
        "exact_ms_at_threshold": round(per_million * APPROXIMATE_ABOVE / 1e6, 1),
        "speedup_by_n": {str(s["n"]): s["speedup"] for s in sizes},
        "graph_faster_at": [s["n"] for s in sizes if s["speedup"] > 1 and s["recall_at_5"] >= 0.99],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="comma-separated gallery sizes (default 100k, 1M, 2M)")
    parser.add_argument("--quick", action="store_true", help="100k photos only, fewer queries")
    parser.add_argument("--queries", type=int, help="queries for recall (default 500, quick 200)")
    parser.add_argument("--sweep", default="2048,4096", help="other ef values to measure (comma-separated)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as stdout's last line")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [100_000] if args.quick else SIZES
    queries = args.queries or (200 if args.quick else 500)
    rounds = 15 if args.quick else 31
    sweep = [int(s) for s in args.sweep.split(",") if s]
    rng = np.random.default_rng(20240612)
    shape = demo_shape()
    log(f"ann: sizes {sizes}, {queries} queries, load {load_start:.2f}, {summary()}")
    measured = []
    for n in sizes:
        measured.append(measure_size(n, shape, rng, queries, rounds, sweep))
        gc.collect()
    report = {
        **summary(),
        "sizes": measured,
        "crossover": crossover(measured),
        "recall_ok": all(s["recall_at_5"] >= 0.99 for s in measured),
        "distances_exact": all(s["max_distance_diff"] == 0.0 for s in measured),
        "machine": machine(load_start),
        "seconds": round(time.perf_counter() - started, 1),
    }
    log(f"ann: crossover {report['crossover']}; recall ok {report['recall_ok']}; {report['seconds']} s")
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
