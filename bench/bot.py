"""The whole bot, kept saturated with selfies, against the stand-in Bot API server on 127.0.0.1.

`measure_bot(photos)` starts `lookalike run` as a subprocess (exactly as in production, with
LOOKALIKE_LAG_REPORT set so it records its event-loop lag: a task that sleeps 10 ms and notes how late it
wakes), then keeps `2 × workers` selfies from distinct users in flight until `photos` have been answered,
timing each from the moment its update is queued to the moment the collage arrives. It does this once
with the process pool (the default) and once with the thread pool, so their lag can be compared in one run.

    uv run python bench/bot.py --photos 40
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from engine.pool import default_workers  # noqa: E402
from tests.botapi import User  # noqa: E402
from tests.botapi.harness import RunningBot, start_api  # noqa: E402
from tests.paths import manifest  # noqa: E402


def _selfies() -> list[bytes]:
    """The single-person shared photos, as the bot receives them (the stand-in re-encodes like Telegram)."""
    return [path.read_bytes() for path, identity in manifest() if identity != "multiple"]


def run_once(photos: int, pool: str) -> dict:
    """Saturate one bot with `photos` selfies; its latency median and event-loop lag."""
    selfies = _selfies()
    in_flight = 2 * default_workers()
    api = start_api()
    with tempfile.TemporaryDirectory(prefix="lookalike-bench-bot-") as folder:
        report = Path(folder) / "lag.json"
        bot = RunningBot(
            api,
            Path(folder) / "gallery.sqlite",
            env={
                "LOOKALIKE_POOL": pool,
                "LOOKALIKE_LAG_REPORT": str(report),
                "LOOKALIKE_QUEUE_LIMIT": "1000",
            },
        )
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
            began = time.perf_counter()
            with ThreadPoolExecutor(in_flight) as executor:
                latencies = list(executor.map(one, range(photos)))
            elapsed = time.perf_counter() - began
        finally:
            status = bot.stop()
            api.stop_thread()
        if status != 0:
            raise RuntimeError(f"the bot exited with {status}")
        lag = json.loads(report.read_text())
    return {
        "pool": pool,
        "photos": photos,
        "in_flight": in_flight,
        "p50_s": round(statistics.median(latencies), 3),
        "per_s": round(photos / elapsed, 2),
        "loop_lag_p99_ms": round(lag["p99_ms"], 2),
        "loop_lag_p50_ms": round(lag["p50_ms"], 2),
        "loop_lag_max_ms": round(lag["max_ms"], 2),
    }


def measure_bot(photos: int) -> dict:
    """The bench's "bot" section: the default (process pool) figures, with the thread pool beside them."""
    process = run_once(photos, "process")
    thread = run_once(photos, "thread")
    return {
        "photos": photos,
        "loop_lag_p99_ms": process["loop_lag_p99_ms"],
        "p50_s": process["p50_s"],
        "per_s": process["per_s"],
        "thread_loop_lag_p99_ms": thread["loop_lag_p99_ms"],
        "thread_p50_s": thread["p50_s"],
        "thread_per_s": thread["per_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photos", type=int, default=40)
    args = parser.parse_args()
    print(json.dumps(measure_bot(args.photos)))


if __name__ == "__main__":
    main()
