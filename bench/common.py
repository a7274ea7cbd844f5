"""What the benchmarks share: progress on stderr, medians, interleaved rounds, the machine they ran on, and
synthetic galleries shaped like dlib's embeddings. Every script in bench/ sits above this module."""

from __future__ import annotations

import json
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from engine.ranking import DIM  # noqa: E402

DEMO_EMBEDDINGS = REPO / "store" / "demo" / "embeddings.json"
PHOTOS_PER_CELEBRITY = 10


def exit_on_sigterm() -> None:
    """Make SIGTERM (a `kill`, a CI's timeout) end this bench as Ctrl-C does: its `finally` blocks run and
    stop the bot and workers it started, which the default action (die at once) would leave running."""
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))


def log(message: str) -> None:
    """Progress for people: stderr, so that stdout's last line stays the JSON."""
    print(message, file=sys.stderr, flush=True)


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1e3, 3)


# Synthetic galleries shaped like dlib's embeddings


@dataclass(frozen=True)
class Shape:
    """How dlib embeddings spread, measured on the demo gallery: a shared offset, identities around it,
    photos around their identity (standard deviations per dimension)."""

    mean: np.ndarray
    centre_sd: float
    photo_sd: float
    norms: tuple[float, float, float]  # min, mean, max |x| of the real embeddings


def demo_shape() -> Shape:
    """Measure the shape of the shipped demo embeddings."""
    photos = json.loads(DEMO_EMBEDDINGS.read_text(encoding="utf-8"))["photos"]
    vectors = np.array([p["embedding"] for p in photos], dtype=np.float64)
    names = [p["name"] for p in photos]
    groups = {name: vectors[[i for i, n in enumerate(names) if n == name]] for name in dict.fromkeys(names)}
    centres = np.array([g.mean(axis=0) for g in groups.values()])
    centre_var = ((centres - centres.mean(axis=0)) ** 2).sum() / (DIM * (len(centres) - 1))
    residual = sum(((g - g.mean(axis=0)) ** 2).sum() for g in groups.values())
    dof = DIM * (len(vectors) - len(groups))
    # With one photo per identity there is no within-identity spread to measure: dlib's usual
    # same-person distance (~0.4) then gives photo_sd = 0.4 / sqrt(2 * 128).
    photo_sd = float(np.sqrt(residual / dof)) if dof else 0.025
    norms = np.linalg.norm(vectors, axis=1)
    return Shape(
        mean=centres.mean(axis=0).astype(np.float32),
        centre_sd=float(np.sqrt(centre_var)),
        photo_sd=photo_sd,
        norms=(float(norms.min()), float(norms.mean()), float(norms.max())),
    )


def synth_gallery(
    n: int, shape: Shape, rng: np.random.Generator, first_celebrity: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """n float32 embeddings, `PHOTOS_PER_CELEBRITY` per celebrity, and each one's celebrity id."""
    celebrities = -(-n // PHOTOS_PER_CELEBRITY)
    labels = np.arange(n) // PHOTOS_PER_CELEBRITY
    centres = rng.standard_normal((celebrities, DIM), dtype=np.float32)
    centres *= shape.centre_sd
    centres += shape.mean
    vectors = rng.standard_normal((n, DIM), dtype=np.float32)
    vectors *= shape.photo_sd
    vectors += centres[labels]
    return vectors, labels + first_celebrity


def synth_queries(count: int, shape: Shape, rng: np.random.Generator) -> list[np.ndarray]:
    """Faces of people who are not in the gallery (a user, not a celebrity): a new identity plus noise."""
    noise = rng.standard_normal((count, DIM), dtype=np.float32)
    spread = np.float32(np.hypot(shape.centre_sd, shape.photo_sd))
    return list(shape.mean + spread * noise)


def interleaved(
    contenders: Mapping[str, Callable[[int], object]], rounds: int, every: dict[str, int] | None = None
) -> dict[str, list[float]]:
    """Run the contenders round after round, in a new random order each round; each one's timings (s).

    A contender listed in `every` runs only in one round out of that many (a slow anchor among fast
    ones). Random orders: no contender always follows the same one (faiss's OpenMP threads spin for a
    while after a search, and would always tax whatever came next).
    """
    every = every or {}
    order = np.random.default_rng(len(contenders) * 1000 + rounds)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for r in range(rounds):
        for name in order.permutation(list(contenders)).tolist():
            if r % every.get(name, 1):
                continue
            start = time.perf_counter()
            contenders[name](r)
            times[name].append(time.perf_counter() - start)
    return times


def machine(load_start: float, **extra: object) -> dict:
    """The machine a run took place on: cores, and the load average (other people's work) at its start and end."""
    return {
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_avg_start": round(load_start, 2),
        "load_avg_end": round(os.getloadavg()[0], 2),
        **extra,
    }
