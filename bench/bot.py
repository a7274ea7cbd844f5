"""The whole bot, kept saturated with selfies, against the stand-in Bot API server on 127.0.0.1.

`measure_bot(photos)` starts `lookalike run` as a subprocess (exactly as in production, with
LOOKALIKE_LAG_REPORT set so it records its event-loop lag: a task that sleeps 10 ms and notes how late it
wakes), then keeps `2 × workers` selfies from distinct users in flight until `photos` have been answered,
timing each from the moment its update is queued to the moment the collage arrives. It does this once
with the process pool (the default) and once with the thread pool, so their lag can be compared in one run.

Then a burst on the same bot: `BURST_USERS` users send a small selfie at once (and someone sends /start
in the middle of it). Its figures: the first answer (from the burst's first update), the median and p95
of each user's wait (from their own update), and the /start's wait. Before the draw pool, a burst's
first collage left only after every photo of the burst had been analysed.

    uv run python bench/bot.py --photos 40
    uv run python bench/bot.py --photos 40 --draw thread   # drawing in a thread instead of a process

`--against REV`: the bot of commit REV (extracted from git into a temporary folder, run with this
checkout's packages) and this one's, in alternating rounds under the same driver and stand-in server, so
that the machine's drift falls on both sides; the medians of each side and the ratios old ÷ new (above 1:
this checkout is faster), for the saturated figures (after the same untimed warm-up on both) and the burst.
Beside photos/s, each saturated run gives the CPU per answer of the bot's processes (`bot_cpu_ms`: its own,
its face workers' and its draw process's) and of this process (`harness_cpu_ms`: the driver and the
stand-in, Telegram's side, which shares the machine's cores with the bot here and not in a deployment).

    uv run python bench/bot.py --against 3a90a12 --photos 20 --rounds 5

`--large-faces`: the saturated selfies are only the single-person photos whose face the cheap pass of
issue #20 decides on its own (a face that fills much of the photo, as a phone selfie's does); without it,
the mix also holds press photos whose face is small enough for the thorough pass. The burst is the same.

    uv run python bench/bot.py --against 3a90a12 --photos 40 --rounds 4 --large-faces

`--metrics`: what the Prometheus metrics cost. The same load on a bot without METRICS_PORT (the anchor) and
on one with it, scraped every second as Prometheus would, in alternating rounds; the ratios with/without.

    uv run python bench/bot.py --metrics --photos 30 --rounds 2
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import exit_on_sigterm, log  # noqa: E402
from engine.faces import FaceModels  # noqa: E402
from engine.images import decode_photo  # noqa: E402
from engine.pool import default_workers  # noqa: E402
from tests.botapi import FakeBotAPI, User  # noqa: E402
from tests.botapi.harness import RunningBot, start_api  # noqa: E402
from tests.botapi.images import reencode_photo  # noqa: E402
from tests.cluster_harness import free_port  # noqa: E402
from tests.paths import manifest, photo  # noqa: E402

BURST_USERS = 20
# The four smallest single-person shared photos (240p to 630x374): selfies as a phone's chat sends them
BURST_SELFIES = (
    "barack_obama/obama_small.jpg",
    "barack_obama/obama-240p.jpg",
    "alex_lacamoire/alex-lacamoire.png",
    "kit_harington/kit_harington_john2.jpeg",
)


def _selfies(large_faces: bool = False) -> list[bytes]:
    """The single-person shared photos, as the bot receives them (the stand-in re-encodes like Telegram);
    `large_faces`: only those whose face the cheap pass finds on its own in the copy the bot receives."""
    photos = [path.read_bytes() for path, identity in manifest() if identity != "multiple"]
    if not large_faces:
        return photos
    models = FaceModels()
    return [p for p in photos if models.locate_cheap(decode_photo(_received(p)).pixels) is not None]


def _received(data: bytes) -> bytes:
    """The largest size of a photo as the stand-in hands it to the bot."""
    largest = reencode_photo(data).sizes[-1][0]
    return largest() if callable(largest) else largest


def _percentile(samples: list[float], fraction: float) -> float:
    """The nearest-rank percentile of `samples` (fraction in 0..1)."""
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))]


def cpu_seconds(bot: psutil.Process) -> tuple[float, float]:
    """CPU seconds (user + system) so far of the bot's processes (its own and its pools': face workers,
    the draw process) and of this one (the driver and the stand-in Bot API, Telegram's side)."""
    processes = [bot, *bot.children(recursive=True)]
    spent = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):  # a helper that ended meanwhile
            times = process.cpu_times()
            spent += times.user + times.system
    own = psutil.Process().cpu_times()
    return spent, own.user + own.system


def burst(api: FakeBotAPI, users: Iterator[User], photos: list[bytes], count: int = BURST_USERS) -> dict:
    """`count` users send a selfie at once, /start comes in the middle; seconds until the answers."""
    senders = [next(users) for _ in range(count)]
    greeter = next(users)
    mark = len(api.sent)
    queued: dict[int, float] = {}
    began = time.perf_counter()
    for n, user in enumerate(senders):
        api.send_photo(user, photos[n % len(photos)])
        queued[user.id] = time.perf_counter()
        if n == count // 2:
            api.send_text(greeter, "/start")
            queued[greeter.id] = time.perf_counter()
    arrived = _arrivals(api, set(queued), mark)
    waits = [arrived[u.id] - queued[u.id] for u in senders]
    return {
        "users": count,
        "queued_in_s": round(max(queued.values()) - began, 3),
        "first_s": round(min(arrived[u.id] for u in senders) - began, 3),
        "p50_s": round(statistics.median(waits), 3),
        "p95_s": round(_percentile(waits, 0.95), 3),
        "max_s": round(max(waits), 3),
        "start_s": round(arrived[greeter.id] - queued[greeter.id], 3),
    }


def _arrivals(api: FakeBotAPI, chats: set[int], mark: int) -> dict[int, float]:
    """When (perf_counter) each chat's first answer after `mark` arrived; collages for selfies expected."""
    arrived: dict[int, float] = {}
    while len(arrived) < len(chats):
        answers = api.wait_for_sent_sync(
            lambda e: e["chat_id"] in chats, start=mark, count=len(arrived) + 1, timeout=300
        )
        now = time.perf_counter()
        for entry in answers:
            if entry["chat_id"] not in arrived:
                if entry["method"] != "sendPhoto" and entry["text"] and "Hi " not in entry["text"]:
                    raise RuntimeError(f"a burst selfie was not answered with a collage: {entry['text']}")
                arrived[entry["chat_id"]] = now
    return arrived


class Scraper:
    """Scrapes http://127.0.0.1:PORT/metrics every `interval` seconds in a thread, as Prometheus would."""

    def __init__(self, port: int, interval: float = 1.0) -> None:
        self.url = f"http://127.0.0.1:{port}/metrics"
        self.interval = interval
        self.scrapes = 0
        self.bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scraper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with urllib.request.urlopen(self.url, timeout=10) as response:
                self.bytes += len(response.read())
            self.scrapes += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)


def run_once(
    photos: int,
    pool: str,
    draw: str = "process",
    metrics: bool = False,
    code: Path = REPO,
    warm_up: int = 0,
    selfies: list[bytes] | None = None,
) -> dict:
    """Saturate one bot with `photos` selfies (latency median, event-loop lag), then give it a burst.

    `metrics`: with METRICS_PORT set, scraped every second throughout. `code`: the checkout whose bot
    runs. `warm_up`: that many selfies answered, untimed, before the saturated run (every worker has then
    served a photo, so start-up costs fall outside the figures). `selfies`: the saturated run's photos
    (default: every single-person shared photo)."""
    selfies = selfies or _selfies()
    small = [photo(relative) for relative in BURST_SELFIES]
    in_flight = 2 * default_workers()
    for data in [*selfies, *small]:
        _received(data)  # Telegram re-encodes on its servers: the stand-in does it before the clock starts
    api = start_api()
    with tempfile.TemporaryDirectory(prefix="lookalike-bench-bot-") as folder:
        report = Path(folder) / "lag.json"
        port = free_port()
        bot = RunningBot(
            api,
            Path(folder) / "gallery.sqlite",
            env={
                "LOOKALIKE_POOL": pool,
                "LOOKALIKE_DRAW_POOL": draw,
                "LOOKALIKE_LAG_REPORT": str(report),
                "LOOKALIKE_QUEUE_LIMIT": "1000",
                "PYTHONPATH": str(code),
                **({"METRICS_PORT": str(port)} if metrics else {}),
            },
        )
        scraper = Scraper(port) if metrics else None
        users = (User(100_000 + n, f"user{n}") for n in itertools.count())

        def one(index: int) -> float:
            user = next(users)
            mark = len(api.sent)
            started = time.perf_counter()
            api.send_photo(user, selfies[index % len(selfies)])
            answer = api.wait_for_sent_sync(chat_id=user.id, start=mark, timeout=300)[0]
            if answer["method"] != "sendPhoto":
                raise RuntimeError(f"expected a collage, got: {answer.get('text')}")
            return time.perf_counter() - started

        try:
            with ThreadPoolExecutor(in_flight) as executor:
                list(executor.map(one, range(warm_up)))
            processes = psutil.Process(bot.process.pid)
            bot_cpu, harness_cpu = cpu_seconds(processes)
            began = time.perf_counter()
            with ThreadPoolExecutor(in_flight) as executor:
                latencies = list(executor.map(one, range(photos)))
            elapsed = time.perf_counter() - began
            bot_cpu_after, harness_cpu_after = cpu_seconds(processes)
            sudden = burst(api, users, small)
        finally:
            if scraper is not None:
                scraper.stop()
            status = bot.stop()
            api.stop_thread()
        if status != 0:
            raise RuntimeError(f"the bot exited with {status}")
        lag = json.loads(report.read_text())
    return {
        "pool": pool,
        "draw": draw,
        "metrics_scrapes": scraper.scrapes if scraper is not None else None,
        "photos": photos,
        "in_flight": in_flight,
        "p50_s": round(statistics.median(latencies), 3),
        "per_s": round(photos / elapsed, 2),
        # CPU per answer: the bot's processes, and the driver with the stand-in on the same cores
        "bot_cpu_ms": round(1000 * (bot_cpu_after - bot_cpu) / photos, 1),
        "harness_cpu_ms": round(1000 * (harness_cpu_after - harness_cpu) / photos, 1),
        "loop_lag_p99_ms": round(lag["p99_ms"], 2),
        "loop_lag_p50_ms": round(lag["p50_ms"], 2),
        "loop_lag_max_ms": round(lag["max_ms"], 2),
        "burst": sudden,
    }


def measure_bot(photos: int, draw: str = "process") -> dict:
    """The bench's "bot" section: the default (process pool) figures, with the thread pool beside them,
    and each one's burst."""
    process = run_once(photos, "process", draw)
    thread = run_once(photos, "thread", draw)
    burst_p, burst_t = process["burst"], thread["burst"]
    return {
        "photos": photos,
        "draw": draw,
        "loop_lag_p99_ms": process["loop_lag_p99_ms"],
        "p50_s": process["p50_s"],
        "per_s": process["per_s"],
        "burst_users": burst_p["users"],
        "burst_first_s": burst_p["first_s"],
        "burst_p50_s": burst_p["p50_s"],
        "burst_p95_s": burst_p["p95_s"],
        "burst_max_s": burst_p["max_s"],
        "burst_start_s": burst_p["start_s"],
        "burst_queued_in_s": burst_p["queued_in_s"],
        "thread_loop_lag_p99_ms": thread["loop_lag_p99_ms"],
        "thread_p50_s": thread["p50_s"],
        "thread_per_s": thread["per_s"],
        "thread_burst_first_s": burst_t["first_s"],
        "thread_burst_p50_s": burst_t["p50_s"],
        "thread_burst_p95_s": burst_t["p95_s"],
    }


SIDE_KEYS = ("p50_s", "per_s", "bot_cpu_ms", "harness_cpu_ms")  # --against: the saturated figures
COST_KEYS = ("p50_s", "per_s", "loop_lag_p99_ms", "loop_lag_p50_ms")  # --metrics
BURST_KEYS = ("first_s", "p50_s", "p95_s", "start_s")


def alternating(
    rounds: int, sides: tuple[str, str], run: Callable[[str], dict], what: str
) -> dict[str, list[dict]]:
    """`run(side)` for both sides, `rounds` times, the order swapped every round so that the machine's
    drift falls on both; each side's results."""
    runs: dict[str, list[dict]] = {side: [] for side in sides}
    for n in range(rounds):
        for side in sides if n % 2 == 0 else sides[::-1]:
            log(f"{what}: round {n + 1}/{rounds}, {side} (load {os.getloadavg()[0]:.2f})")
            runs[side].append(run(side))
            log(json.dumps(runs[side][-1]))
    return runs


def medians(results: list[dict], keys: tuple[str, ...]) -> dict:
    """The median of each of `keys`, and of each burst figure, over `results`."""
    figures = {k: statistics.median(r[k] for r in results) for k in keys}
    figures |= {f"burst_{k}": statistics.median(r["burst"][k] for r in results) for k in BURST_KEYS}
    return {k: round(v, 3) for k, v in figures.items()}


@contextlib.contextmanager
def checkout(revision: str) -> Iterator[Path]:
    """The tree of `revision` (any name git knows) in a temporary folder, removed afterwards."""
    tree = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision], capture_output=True, check=True
    ).stdout
    with tempfile.TemporaryDirectory(prefix="lookalike-bench-at-") as folder:
        with tarfile.open(fileobj=io.BytesIO(tree)) as archive:
            archive.extractall(folder, filter="data")
        yield Path(folder)


def measure_against(revision: str, photos: int, rounds: int, large_faces: bool = False) -> dict:
    """This checkout's bot and `revision`'s, `rounds` times each in alternating order (process pool, the
    default draw pool); medians per side and the ratios old ÷ new (above 1: this checkout is better).
    `large_faces`: saturate with `_selfies(large_faces=True)` only."""
    warm_up = 2 * default_workers()
    selfies = _selfies(large_faces)
    loads: list[float] = []
    with checkout(revision) as old_code:

        def one(side: str) -> dict:
            loads.append(os.getloadavg()[0])
            code = old_code if side == "old" else REPO
            return run_once(photos, "process", code=code, warm_up=warm_up, selfies=selfies)

        runs = alternating(rounds, ("old", "new"), one, f"against {revision}")

    old, new = medians(runs["old"], SIDE_KEYS), medians(runs["new"], SIDE_KEYS)
    # photos/s grows when better; every other figure is seconds or CPU ms, which shrink
    better = {
        k: (new[k] / old[k] if k == "per_s" else old[k] / new[k]) if old[k] and new[k] else None for k in old
    }
    return {
        "against": revision,
        "photos": photos,
        "rounds": rounds,
        "warm_up": warm_up,
        "selfies": len(selfies),
        "load_min": round(min(loads), 2),
        "load_max": round(max(loads), 2),
        "old": old,
        "new": new,
        "new_better_by": {k: round(v, 3) if v else None for k, v in better.items()},
        "runs": runs,
    }


def hook_cost_us(repeat: int = 20_000) -> dict:
    """In this process: microseconds of one photo's metric hooks (answering, analysis_timer, answered)
    against the same coroutine without them (the anchor), and of one scrape (every metric, encoded)."""
    import asyncio

    from prometheus_client import REGISTRY, generate_latest

    from service import metrics

    async def bare() -> None:
        await asyncio.sleep(0)

    async def hooked() -> None:
        with metrics.answering():
            with metrics.analysis_timer():
                await asyncio.sleep(0)
            metrics.answered("match")

    async def timed(photo: object) -> float:
        began = time.perf_counter()
        for _ in range(repeat):
            await photo()  # type: ignore[operator]
        return (time.perf_counter() - began) / repeat * 1e6

    anchor = asyncio.run(timed(bare))
    with_hooks = asyncio.run(timed(hooked))
    began = time.perf_counter()
    for _ in range(200):
        generate_latest(REGISTRY)
    scrape_us = (time.perf_counter() - began) / 200 * 1e6
    return {
        "photo_bare_us": round(anchor, 2),
        "photo_hooked_us": round(with_hooks, 2),
        "hooks_us": round(with_hooks - anchor, 2),
        "scrape_us": round(scrape_us, 1),
    }


def measure_metrics_cost(photos: int, rounds: int = 2) -> dict:
    """The same load without METRICS_PORT (the anchor) and with it (scraped every second), alternating
    `rounds` times so that the machine's drift falls on both; medians of each, and with/without ratios."""
    runs = alternating(
        rounds,
        ("without", "with"),
        lambda name: run_once(photos, "process", metrics=name == "with"),
        "metrics cost",
    )

    without, with_ = medians(runs["without"], COST_KEYS), medians(runs["with"], COST_KEYS)
    return {
        "photos": photos,
        "rounds": rounds,
        "scrapes": sum(r["metrics_scrapes"] for r in runs["with"]),
        "without": without,
        "with": with_,
        "ratio_with_over_without": {
            k: round(with_[k] / without[k], 3) if without[k] else None for k in without
        },
        "in_process": _hook_cost_in_the_repo(),
    }


def _hook_cost_in_the_repo() -> dict:
    """`hook_cost_us()` in a fresh interpreter at the repository's root: run as a script, this file's own
    folder comes first on sys.path and its name (bot) hides the bot package."""
    code = "import json; from bench.bot import hook_cost_us; print(json.dumps(hook_cost_us()))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument(
        "--draw", choices=("process", "thread"), default="process", help="the draw pool's kind"
    )
    parser.add_argument(
        "--metrics", action="store_true", help="the cost of METRICS_PORT: with and without, side by side"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="with --metrics or --against: alternating rounds"
    )
    parser.add_argument("--against", metavar="REV", help="side by side with the bot of this commit")
    parser.add_argument(
        "--large-faces",
        action="store_true",
        help="with --against: saturate with the photos whose face the cheap pass decides (selfie-like)",
    )
    args = parser.parse_args()
    if args.against:
        print(json.dumps(measure_against(args.against, args.photos, args.rounds, args.large_faces)))
        return
    if args.metrics:
        print(json.dumps(measure_metrics_cost(args.photos, args.rounds)))
        return
    print(json.dumps(measure_bot(args.photos, args.draw)))


if __name__ == "__main__":
    exit_on_sigterm()
    main()
