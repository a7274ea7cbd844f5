"""Crop-and-embed on a Dask cluster against the local process pool, side by side in one run.

A `lookalike scheduler` and `lookalike worker` nodes (one worker process per core each) on 127.0.0.1:
- per-photo overhead: one small photo at a time, the cluster's latency minus the local pool's (medians of
  rounds that alternate between the two), which is what the network hop, Dask's bookkeeping and pickling
  the photo and its `Analysis` cost; beside it the same photo's round trip minus the time the worker
  spent analysing it (what the cluster adds, whatever the machine's load does to the analysis), and the
  round trip of a task that does nothing with the same bytes (Dask's own cost alone);
- photos per second with every photo submitted at once: the local pool, the cluster with one worker node,
  then with two. On one machine two nodes share the same cores, so they measure overhead and correctness,
  not a speed-up; the README turns the per-photo cost into a sizing table.

    uv run python bench/cluster.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from distributed import Client  # noqa: E402

from bench.common import log  # noqa: E402
from engine.cluster import ClusterPool, analyze_on_worker, cluster_security  # noqa: E402
from engine.faces import Analysis  # noqa: E402
from engine.pool import FacePool, default_workers  # noqa: E402
from tests.cluster_harness import Cluster  # noqa: E402
from tests.paths import face, manifest  # noqa: E402

OVERHEAD_PHOTO = "barack_obama/obama-240p.jpg"  # small: the fixed cost per photo shows


Analyze = Callable[[bytes], Awaitable[Analysis]]


async def _latencies(sides: dict[str, Analyze], data: bytes, rounds: int) -> dict[str, list[float]]:
    """One photo at a time through each side, the sides taking turns (who goes first alternates)."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for number in range(rounds):
        for name in names if number % 2 == 0 else reversed(names):
            start = time.perf_counter()
            await sides[name](data)
            times[name].append(time.perf_counter() - start)
    return times


async def _burst(analyze: Analyze, photos: list[bytes]) -> tuple[float, list[int]]:
    """All photos at once; seconds until the last is done, and the faces found in each."""
    start = time.perf_counter()
    analyses = await asyncio.gather(*(analyze(data) for data in photos))
    return time.perf_counter() - start, [a.faces_found for a in analyses]


async def _throughput(
    sides: dict[str, Analyze], photos: list[bytes], passes: int
) -> dict[str, list[tuple[float, list[int]]]]:
    results: dict[str, list[tuple[float, list[int]]]] = {name: [] for name in sides}
    names = list(sides)
    for number in range(passes):
        for name in names if number % 2 == 0 else reversed(names):
            results[name].append(await _burst(sides[name], photos))
    return results


async def _measure(
    local: FacePool, cluster: Cluster, photos: list[bytes], per_node: int, rounds: int, passes: int
) -> dict:
    pool = ClusterPool(cluster.address, cluster_security(None), queue_limit=len(photos) + 64)
    await pool.start()
    try:
        small = face(OVERHEAD_PHOTO).read_bytes()
        await pool.analyze(small)  # the first task also ships the function: not a photo's cost
        sides: dict[str, Analyze] = {"local": local.analyze, "cluster": pool.analyze}
        latency = await _latencies(sides, small, rounds)
        transport = await _transport_ms(cluster.address, small, rounds)
        one_node = await _throughput(sides, photos, passes)
        await asyncio.to_thread(cluster.add_worker, per_node)
        while pool.workers < 2 * per_node:
            await asyncio.sleep(0.1)
        two_nodes = await _throughput(sides, photos, passes)
    finally:
        await pool.close()
    local_ms = statistics.median(latency["local"]) * 1000
    cluster_ms = statistics.median(latency["cluster"]) * 1000
    local_runs = one_node["local"] + two_nodes["local"]
    faces = {tuple(f) for runs in (local_runs, one_node["cluster"], two_nodes["cluster"]) for _, f in runs}
    return {
        "photos": len(photos),
        "workers_per_node": per_node,
        "rounds": rounds,
        "passes": passes,
        "overhead_photo": OVERHEAD_PHOTO,
        "local_ms_per_photo": round(local_ms, 1),
        "cluster_ms_per_photo": round(cluster_ms, 1),
        "overhead_ms": round(cluster_ms - local_ms, 1),
        "transport_ms": round(transport["transport"], 1),
        "worker_analysis_ms": round(transport["analysis"], 1),
        "empty_task_ms": round(transport["empty"], 1),
        "local_per_s": _rate(photos, local_runs),
        "cluster_1node_per_s": _rate(photos, one_node["cluster"]),
        "cluster_2nodes_per_s": _rate(photos, two_nodes["cluster"]),
        "same_faces_per_photo": len(faces) == 1,
    }


def timed_analysis(data: bytes) -> float:
    """Runs on a worker: seconds spent analysing `data` there."""
    start = time.perf_counter()
    analyze_on_worker(data)
    return time.perf_counter() - start


async def _transport_ms(address: str, data: bytes, rounds: int) -> dict[str, float]:
    """Medians: a photo's round trip minus its analysis on the worker; that analysis; an empty task's
    round trip with the same bytes (submit, schedule, run, gather)."""
    transport, analysis, empty = [], [], []
    async with Client(address, asynchronous=True, security=cluster_security(None)) as client:
        await client.submit(timed_analysis, data, pure=False)
        for _ in range(rounds):
            start = time.perf_counter()
            spent = await client.submit(timed_analysis, data, pure=False)
            transport.append(time.perf_counter() - start - spent)
            analysis.append(spent)
            start = time.perf_counter()
            await client.submit(len, data, pure=False)
            empty.append(time.perf_counter() - start)
    return {
        name: statistics.median(v) * 1000
        for name, v in (("transport", transport), ("analysis", analysis), ("empty", empty))
    }


def _rate(photos: list[bytes], runs: list[tuple[float, list[int]]]) -> float:
    return round(len(photos) / statistics.median(seconds for seconds, _ in runs), 3)


def measure_cluster(paths: list[Path], quick: bool) -> dict:
    """The figures above for the photos at `paths`; a scheduler and two worker nodes are started and ended
    here."""
    photos = [path.read_bytes() for path in paths]
    load_start = os.getloadavg()[0]  # other people's work on this shared machine: context for the figures
    per_node = default_workers()
    rounds, passes = (5, 1) if quick else (21, 3)
    local = FacePool("process", per_node, queue_limit=len(photos) + per_node)
    try:
        local.warm_up()
        with (
            tempfile.TemporaryDirectory(prefix="lookalike-bench-cluster-") as folder,
            Cluster(Path(folder)) as cluster,
        ):
            cluster.add_worker(per_node)
            result = asyncio.run(_measure(local, cluster, photos, per_node, rounds, passes))
    finally:
        local.close()
    result["load"] = [round(load_start, 2), round(os.getloadavg()[0], 2)]
    log(
        f"cluster: {result['photos']} photos, {per_node} workers per node; one {OVERHEAD_PHOTO} at a time: "
        f"local {result['local_ms_per_photo']} ms, cluster {result['cluster_ms_per_photo']} ms, overhead "
        f"{result['overhead_ms']} ms (round trip minus the worker's analysis: {result['transport_ms']} ms; an "
        f"empty task: {result['empty_task_ms']} ms); photos/s local {result['local_per_s']}, cluster 1 node "
        f"{result['cluster_1node_per_s']}, 2 nodes {result['cluster_2nodes_per_s']}; same faces: "
        f"{result['same_faces_per_photo']}; load {result['load'][0]} → {result['load'][1]}"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 photos, few rounds")
    args = parser.parse_args(argv)
    paths = [path for path, _ in manifest()]
    if args.quick:
        paths = paths[:3]
    print(json.dumps(measure_cluster(paths, args.quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
