"""Run crop-and-embed off the event loop: a pool of workers, each with its own `FaceModels`.

Two kinds behind one interface. dlib's encoder holds the GIL (two threads encode at 0.93x one), so threads
keep the event loop waiting; processes give every core to dlib and leave the loop free, at the cost of
pickling the photo bytes. Processes are the default (bench/run.py measures event-loop lag with both).
A bounded queue: past `queue_limit` photos waiting or in work, `submit` refuses at once with `Busy`.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Literal, TypeVar

from engine.faces import MAX_FACES, Analysis, FaceModels

log = logging.getLogger(__name__)

PoolKind = Literal["process", "thread"]
T = TypeVar("T")


class Busy(Exception):
    """The queue is full: try again later."""


class WorkerCrashed(Exception):
    """A worker died while handling this photo (the pool was restarted)."""


_worker = threading.local()


def _init_worker() -> None:
    """Load the models once per worker (process, or thread)."""
    if threading.current_thread() is threading.main_thread():  # a worker process
        # Ctrl-C in a terminal reaches the whole process group: the parent decides what stops, and a
        # worker killed mid-photo would break the pool under it (EOFError instead of "interrupted").
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker.models = FaceModels()


def _analyze(data: bytes, max_faces: int) -> Analysis:
    models: FaceModels | None = getattr(_worker, "models", None)
    if models is None:  # a thread that somehow skipped the initializer
        _init_worker()
        models = _worker.models
    return models.analyze(data, max_faces)


def default_workers() -> int:
    """One worker per core this process may use."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class FacePool:
    """`await pool.analyze(photo_bytes)` → `Analysis`, run in a worker; raises `Busy` past the queue limit."""

    def __init__(self, kind: PoolKind = "process", workers: int | None = None, queue_limit: int = 32) -> None:
        self.kind: PoolKind = kind
        self.workers = workers or default_workers()
        self.queue_limit = queue_limit
        self._pending = 0
        self._executor = self._new_executor()

    def _new_executor(self) -> Executor:
        if self.kind == "thread":
            return ThreadPoolExecutor(self.workers, thread_name_prefix="face", initializer=_init_worker)
        # forkserver: workers never inherit the bot's threads (aiosqlite, httpx) through fork.
        context = multiprocessing.get_context("forkserver")
        return ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker)

    @property
    def pending(self) -> int:
        """Photos waiting or in work."""
        return self._pending

    def warm_up(self) -> None:
        """Start the workers and load their models now rather than on the first photo."""
        futures = [self._executor.submit(_noop) for _ in range(self.workers)]
        for future in futures:
            future.result()

    async def analyze(self, data: bytes, max_faces: int = MAX_FACES) -> Analysis:
        """Decode, detect and embed `data` in a worker. Raises ImageError, Busy or WorkerCrashed."""
        if self._pending >= self.queue_limit:
            raise Busy(f"{self._pending} photos already queued")
        self._pending += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, _analyze, data, max_faces)
        except BrokenProcessPool as exc:
            self._restart()
            raise WorkerCrashed("a face worker died") from exc
        finally:
            self._pending -= 1

    async def run(self, func: Callable[..., T], *args: object) -> T:
        """Run any picklable function in a worker (drawing collages: CPU work kept off the event loop)."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, func, *args)
        except BrokenProcessPool as exc:
            self._restart()
            raise WorkerCrashed("a worker died") from exc

    def _restart(self) -> None:
        """Replace a broken process pool (a worker was killed or crashed inside dlib)."""
        broken = self._executor
        if isinstance(broken, ProcessPoolExecutor) and getattr(broken, "_broken", False):
            log.warning("a face worker died; restarting the pool")
            broken.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()

    def close(self, wait: bool = True) -> None:
        """Stop the workers; with wait=False, queued photos are dropped."""
        self._executor.shutdown(wait=wait, cancel_futures=not wait)


def _noop() -> None:
    if getattr(_worker, "models", None) is None:
        _init_worker()
