"""Run crop-and-embed off the event loop: a pool of workers, each with its own `FaceModels`.

Two kinds behind one interface. dlib's detector and landmarks, and the Python between the encoder's matrix
products, hold the GIL for part of every photo, so threads keep the event loop waiting; processes give
every core to the models and leave the loop free, at the cost of pickling the photo bytes. Processes are the default (bench/run.py measures event-loop lag with both).
A bounded queue: past `queue_limit` photos waiting or in work, `submit` refuses at once with `Busy`.

`DrawPool` is a second, small pool for drawing (collages, game boards, twin pairs), so that an answer
whose analysis is done never waits behind other photos' analyses in the face pool's first-in-first-out
queue.

Worker processes die with their owner however it dies (SIGKILL, the OOM killer): each one watches the
owner's pid (a pidfd) from a daemon thread and exits when it goes. Once the workers are gone, the
forkserver and multiprocessing's resource tracker see their pipes close and exit by themselves.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Literal, TypeVar

import cv2

from engine.faces import MAX_FACES, Analysis, FaceModels
from engine.landmarks import KeptFace, Landmarker, analyze_keeping
from engine.process_memory import steady_malloc

if TYPE_CHECKING:  # only a type: the value itself comes from the forkserver context
    from multiprocessing.sharedctypes import Synchronized

log = logging.getLogger(__name__)

PoolKind = Literal["process", "thread"]
T = TypeVar("T")


class Busy(Exception):
    """The queue is full: try again later."""


class WorkerCrashed(Exception):
    """A worker died while handling this photo (the pool was restarted)."""


_worker = threading.local()
WARM_UP_SECONDS = 600.0  # a start on a busy machine has taken minutes

# After a crash the resource tracker outlives the workers by a moment, unlinks the semaphores they leaked
# (what it is for) and warns about each kind on its stderr: the bot's log. Expected then, so not said.
_QUIET_TRACKER = "ignore::UserWarning:multiprocessing.resource_tracker"


def _exit_when_gone(owner: int) -> None:
    """Block until process `owner` has ended, then end this process at once (no cleanup to wait for)."""
    try:
        fd = os.pidfd_open(owner)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd (not Linux, or a kernel before 5.3): poll instead
        while _alive(owner):
            time.sleep(1.0)
        os._exit(1)
    select.select([fd], [], [])  # readable once the process has ended
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user (the pid was reused)
        return True
    return True


def watch_owner(owner: int) -> None:
    """In a worker process: exit as soon as process `owner` ends. A no-op in the owner itself (threads)."""
    if owner == os.getpid():
        return
    threading.Thread(target=_exit_when_gone, args=(owner,), name="owner-watch", daemon=True).start()


def process_executor(
    workers: int, initializer: Callable[..., None], initargs: tuple = ()
) -> ProcessPoolExecutor:
    """A forkserver process pool whose workers run `initializer(owner_pid, *initargs)` and die with us.

    forkserver: workers never inherit the bot's threads (aiosqlite, httpx) through fork.
    """
    if _QUIET_TRACKER not in sys.warnoptions:  # passed on to the resource tracker when it is spawned
        sys.warnoptions.append(_QUIET_TRACKER)
    context = multiprocessing.get_context("forkserver")
    return ProcessPoolExecutor(
        workers, mp_context=context, initializer=initializer, initargs=(os.getpid(), *initargs)
    )


def _init_worker(owner: int | None = None, nice: int = 0, loaded: Synchronized[int] | None = None) -> None:
    """Load the models once per worker (process, or thread); a process also watches its owner and lowers
    its priority by `nice` (so the owner's event loop and the drawing of finished answers go first), then
    counts itself in `loaded` (shared by the pool's processes: `FacePool.warm_up` waits for all of them)."""
    if owner is not None:
        watch_owner(owner)
    if threading.current_thread() is threading.main_thread():  # a worker process
        steady_malloc()
        cv2.setNumThreads(1)  # the pool is the parallelism: no thread pool of OpenCV's in each worker
        # Ctrl-C in a terminal reaches the whole process group: the parent decides what stops, and a
        # worker killed mid-photo would break the pool under it (EOFError instead of "interrupted").
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker.models = FaceModels()
    # A Morph press keeps the user's face with it: loaded here, so no press waits seconds for it.
    _worker.landmarker = Landmarker()
    if owner is not None and nice:  # after loading the models: start-up is not slowed on a busy machine
        os.nice(nice)
    _worker.loaded = loaded
    if loaded is not None:
        with loaded.get_lock():
            loaded.value += 1


def _analyze(data: bytes, max_faces: int, thorough: bool = False) -> Analysis:
    return _models().analyze(data, max_faces, thorough)


def _landmarker() -> Landmarker:
    """This worker's 68-point landmarker (loaded by `_init_worker`)."""
    landmarker: Landmarker | None = getattr(_worker, "landmarker", None)
    if landmarker is None:
        landmarker = _worker.landmarker = Landmarker()
    return landmarker


def _models() -> FaceModels:
    models: FaceModels | None = getattr(_worker, "models", None)
    if models is None:  # a thread that somehow skipped the initializer
        _init_worker()
        models = _worker.models
    return models


def _analyze_keeping(data: bytes, max_faces: int) -> tuple[Analysis, KeptFace | None]:
    return analyze_keeping(_models(), _landmarker(), data, max_faces)


def _keep_thumbnail(thumbnail: bytes) -> KeptFace:
    return _landmarker().keep_thumbnail(thumbnail)


def default_workers() -> int:
    """One worker per core this process may use."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class FacePool:
    """`await pool.analyze(photo_bytes)` → `Analysis`, run in a worker; raises `Busy` past the queue limit."""

    def __init__(
        self, kind: PoolKind = "process", workers: int | None = None, queue_limit: int = 32, nice: int = 0
    ) -> None:
        self.kind: PoolKind = kind
        self.workers = workers or default_workers()
        self.queue_limit = queue_limit
        self.nice = nice  # worker processes only: threads share the owner's priority
        self._pending = 0
        self._executor = self._new_executor()

    def _new_executor(self) -> Executor:
        if self.kind == "thread":
            return ThreadPoolExecutor(self.workers, thread_name_prefix="face", initializer=_init_worker)
        self._loaded = multiprocessing.get_context("forkserver").Value("i", 0)
        return process_executor(self.workers, _init_worker, (self.nice, self._loaded))

    @property
    def pending(self) -> int:
        """Photos waiting or in work."""
        return self._pending

    def warm_up(self, timeout: float = WARM_UP_SECONDS) -> None:
        """Start every worker and load its models now rather than on the first photo: returns once all
        of them have (a worker that loaded first would otherwise take every warm-up task alone, and the
        bot would say it is ready while another still loads, at full priority)."""
        futures = [self._executor.submit(_wait_loaded, self.workers, timeout) for _ in range(self.workers)]
        for future in futures:
            future.result()

    async def analyze(self, data: bytes, max_faces: int = MAX_FACES, thorough: bool = False) -> Analysis:
        """Decode, detect and embed `data` in a worker (`thorough`: as `FaceModels.analyze`, for gallery
        photos). Raises ImageError, Busy or WorkerCrashed."""
        return await self._run(_analyze, data, max_faces, thorough)

    async def analyze_keeping(
        self, data: bytes, max_faces: int = MAX_FACES
    ) -> tuple[Analysis, KeptFace | None]:
        """`analyze`, and the largest face kept for a morph (crop and 68 landmarks; None without a face)."""
        return await self._run(_analyze_keeping, data, max_faces)

    async def keep_thumbnail(self, thumbnail: bytes) -> KeptFace:
        """A gallery face thumbnail's landmarks, found in a worker (`Landmarker.keep_thumbnail`)."""
        return await self._run(_keep_thumbnail, thumbnail)

    async def _run(self, func: Callable[..., T], *args: object) -> T:
        """`func(*args)` in a worker, counted against the queue limit (Busy past it)."""
        if self._pending >= self.queue_limit:
            raise Busy(f"{self._pending} photos already queued")
        self._pending += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, func, *args)
        except BrokenProcessPool as exc:
            self._restart()
            raise WorkerCrashed("a face worker died") from exc
        finally:
            self._pending -= 1

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


def _wait_loaded(workers: int, timeout: float) -> None:
    """A warm-up task: returns once `workers` processes of this pool have loaded their models (or after
    `timeout` s). Each submit of the warm-up starts a process, so all of them are coming."""
    _noop()
    loaded: Synchronized[int] | None = getattr(_worker, "loaded", None)
    deadline = time.monotonic() + timeout
    while loaded is not None and loaded.value < workers and time.monotonic() < deadline:
        time.sleep(0.02)


def _init_drawer(owner: int, modules: Sequence[str]) -> None:
    """A draw worker: watch the owner, import what the drawing functions need before the first one."""
    watch_owner(owner)
    steady_malloc()
    cv2.setNumThreads(1)  # the pool is the parallelism: no thread pool of OpenCV's in each worker
    for name in modules:
        importlib.import_module(name)


def _ready() -> None:
    """Nothing: a task that makes a worker start (and run its initializer)."""


class DrawPool:
    """`await draw.run(func, *args)`: a picklable drawing function run in a small pool of its own.

    Separate from the face pool so that a collage is drawn as soon as its analysis is done rather than
    after every photo queued before it. `preload` names modules each worker imports at start (the
    drawing functions' own), so the first drawing does not pay for them.
    """

    def __init__(self, kind: PoolKind = "process", workers: int = 1, preload: Sequence[str] = ()) -> None:
        self.kind: PoolKind = kind
        self.workers = workers
        self.preload = tuple(preload)
        self._executor = self._new_executor()

    def _new_executor(self) -> Executor:
        if self.kind == "thread":
            return ThreadPoolExecutor(self.workers, thread_name_prefix="draw")
        return process_executor(self.workers, _init_drawer, (self.preload,))

    def warm_up(self) -> None:
        """Start the workers now (and import `preload` in them) rather than on the first drawing."""
        futures = [self._executor.submit(_ready) for _ in range(self.workers)]
        for future in futures:
            future.result()

    async def run(self, func: Callable[..., T], *args: object) -> T:
        """`func(*args)` in a worker; raises WorkerCrashed (and restarts the pool) if the worker died."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, func, *args)
        except BrokenProcessPool as exc:
            broken = self._executor
            if getattr(broken, "_broken", False):  # not yet replaced by another drawing that failed with it
                log.warning("a draw worker died; restarting its pool")
                broken.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_executor()
            raise WorkerCrashed("a draw worker died") from exc

    def close(self, wait: bool = True) -> None:
        """Stop the workers; with wait=False, queued drawings are dropped."""
        self._executor.shutdown(wait=wait, cancel_futures=not wait)
