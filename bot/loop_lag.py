"""Event-loop lag: a task that sleeps 10 ms over and over and records how late it wakes.

The bot runs it when LOOKALIKE_LAG_REPORT names a file, and writes the figures there at shutdown
(bench/bot.py reads them). Lag is what every user waits on top of their own work: a handler that holds
the loop (a GIL-bound encoder in a thread, a collage drawn in the loop) shows up here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path

import numpy as np

TICK = 0.010


class LagMonitor:
    def __init__(self) -> None:
        self.lags_ms: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag")

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(TICK)
            self.lags_ms.append((time.perf_counter() - before - TICK) * 1000.0)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def report(self) -> dict[str, float]:
        lags = np.asarray(self.lags_ms or [0.0])
        return {
            "samples": int(lags.size),
            "p50_ms": float(np.percentile(lags, 50)),
            "p99_ms": float(np.percentile(lags, 99)),
            "max_ms": float(lags.max()),
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.report()) + "\n", encoding="utf-8")
