"""Crop-and-embed on a Dask cluster: the scheduler, worker nodes that load the dlib models once, and the
bot's client, behind the same interface as `engine.pool.FacePool`.

A photo's bytes go to a worker as one task (`analyze_on_worker`); the `Analysis` (boxes, embeddings, face
thumbnails) comes back; ranking and collages stay with the bot, where the gallery is. Dask re-runs the task
of a worker that dies (up to `distributed.scheduler.allowed-failures` times), so a killed worker costs time,
not answers. What Dask does not do for us, `ClusterPool` does: a photo waits at most `wait` seconds while
no worker is connected (then `NoWorker`, a kind of `Busy`), and photos whose futures were cancelled because
the scheduler went away are sent again once the client has reconnected.

The scheduler unpickles what clients send it: keep it on a private network, with TLS (`TLSFiles`).
Long on purpose: the tasks, the worker plugin that loads their models and the client that submits them are
one protocol, read side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import cv2
from distributed import Client, Future, Nanny, Scheduler, WorkerPlugin, get_worker
from distributed.client import FutureCancelledError
from distributed.comm.core import CommClosedError
from distributed.scheduler import KilledWorker
from distributed.security import Security

from engine.faces import MAX_FACES, Analysis, FaceModels
from engine.images import ImageError
from engine.landmarks import KeptFace, Landmarker, analyze_keeping
from engine.pool import Busy, WorkerCrashed
from engine.process_memory import steady_malloc

log = logging.getLogger(__name__)

T = TypeVar("T")
PLUGIN_NAME = "lookalike-face-models"
DEFAULT_PORT = 8786  # Dask's own default scheduler port
QUEUE_PER_WORKER = 16  # as the local pool's default: 32 photos for 2 workers
WATCH_INTERVAL = 0.5  # seconds between looks at the workers connected
DISTRIBUTED_LOGGERS = ("distributed", "tornado", "bokeh")


class NoWorker(Busy):
    """No worker was connected for `wait` seconds while this photo waited: busy, try again."""


# Security


@dataclass(frozen=True)
class TLSFiles:
    """A CA certificate, and the certificate and key that every member of the cluster presents.

    Dask's TLS is mutual: the scheduler accepts only peers whose certificate the CA signed, so the
    certificate is the key to the cluster.
    """

    ca: Path
    cert: Path
    key: Path


def cluster_security(tls: TLSFiles | None) -> Security:
    """Dask `Security` for a tls:// cluster (one certificate for scheduler, workers and clients); none
    for tcp://."""
    if tls is None:
        return Security(require_encryption=False)
    cert, key = str(tls.cert), str(tls.key)
    return Security(
        require_encryption=True,
        tls_ca_file=str(tls.ca),
        tls_client_cert=cert,
        tls_client_key=key,
        tls_scheduler_cert=cert,
        tls_scheduler_key=key,
        tls_worker_cert=cert,
        tls_worker_key=key,
    )


def route_distributed_logs(level: int = logging.WARNING) -> None:
    """Send distributed's (and tornado's) records through the root logger's handler, at `level` and up.

    distributed installs its own stderr handler and format when imported; the bot's logs are one line per
    event in one format, with the token redacted, so its records go where everyone else's go.
    """
    for name in DISTRIBUTED_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(level)
    logging.getLogger("distributed.client").setLevel(max(level, logging.WARNING))


# Workers


class FaceModelsPlugin(WorkerPlugin):
    """Loads dlib's models when its worker starts, before the worker registers with the scheduler.

    `log_formatter`, when given, formats the worker process's log records (distributed's included) on
    stderr, so that a worker logs like the command that started it.
    """

    name = PLUGIN_NAME

    def __init__(self, log_formatter: logging.Formatter | None = None) -> None:
        self.models: FaceModels | None = None
        self.landmarker: Landmarker | None = None
        self.log_formatter = log_formatter

    def setup(self, worker: object) -> None:
        """Load the models (a second or two); the worker takes no task before this returns. The 68-point
        landmarker is among them: a Morph press keeps the user's face with it, and loading it on the first
        press made that press wait for it."""
        if self.log_formatter is not None:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(self.log_formatter)
            logging.getLogger().handlers[:] = [handler]
            route_distributed_logs()
        steady_malloc()
        cv2.setNumThreads(1)  # one task at a time per worker (nthreads=1): OpenCV's own pool would idle
        self.models = FaceModels()
        self.landmarker = Landmarker()


def _plugin() -> FaceModelsPlugin:
    """This worker's plugin, with its models loaded."""
    worker = get_worker()
    plugin = worker.plugins.get(PLUGIN_NAME)
    if not isinstance(plugin, FaceModelsPlugin) or plugin.models is None:
        # A worker started without the plugin (e.g. a plain `dask worker`): load the models once here.
        plugin = FaceModelsPlugin()
        plugin.setup(worker)
        worker.plugins[PLUGIN_NAME] = plugin
    return plugin


def _landmarker(plugin: FaceModelsPlugin) -> Landmarker:
    """The worker's 68-point landmarker (loaded by `setup`; here for a plugin that skipped it)."""
    if plugin.landmarker is None:
        plugin.landmarker = Landmarker()
    return plugin.landmarker


def analyze_on_worker(
    data: bytes, max_faces: int = MAX_FACES, thorough: bool = False
) -> Analysis | ImageError:
    """The task: decode, detect and embed `data` with this worker's models.

    A photo that cannot be read is an answer, not a failure of the worker: its `ImageError` is returned
    (and raised again by the client), so the worker does not log a "Compute Failed" with a traceback.
    """
    plugin = _plugin()
    assert plugin.models is not None
    try:
        return plugin.models.analyze(data, max_faces, thorough)
    except ImageError as exc:
        return exc


def analyze_keeping_on_worker(
    data: bytes, max_faces: int = MAX_FACES
) -> tuple[Analysis, KeptFace | None] | ImageError:
    """`analyze_on_worker`, and the largest face kept for a morph (`engine.landmarks.analyze_keeping`)."""
    plugin = _plugin()
    assert plugin.models is not None
    try:
        return analyze_keeping(plugin.models, _landmarker(plugin), data, max_faces)
    except ImageError as exc:
        return exc


def keep_thumbnail_on_worker(thumbnail: bytes) -> KeptFace | ImageError:
    """A gallery face thumbnail's landmarks (`Landmarker.keep_thumbnail`) with this worker's model."""
    try:
        return _landmarker(_plugin()).keep_thumbnail(thumbnail)
    except ImageError as exc:
        return exc


async def run_scheduler(
    host: str,
    port: int,
    security: Security,
    stop: asyncio.Event,
    on_ready: Callable[[str], None],
    http_address: str | None = None,
) -> None:
    """Run a scheduler (no dashboard) until `stop` is set; `on_ready(address)` once it listens.

    `http_address` (HOST:PORT): where its small HTTP server (Prometheus /metrics, /health) listens; by
    default a free port beside the scheduler."""
    protocol = "tls" if security.require_encryption else "tcp"
    async with Scheduler(
        host=host,
        port=port,
        protocol=protocol,
        security=security,
        dashboard=False,
        dashboard_address=http_address or f"{host}:0",
    ) as scheduler:
        on_ready(scheduler.address)
        finished = asyncio.ensure_future(scheduler.finished())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({finished, stopping}, return_when=asyncio.FIRST_COMPLETED)
        for task in (finished, stopping):
            task.cancel()


async def run_worker_node(
    address: str,
    nworkers: int,
    security: Security,
    stop: asyncio.Event,
    name: str,
    log_formatter: logging.Formatter | None = None,
    http: tuple[str, int] | None = None,
) -> None:
    """`nworkers` single-threaded worker processes (each under a Nanny, with the models loaded before it
    takes work) until `stop` is set. A worker that loses the scheduler is started again once the scheduler
    is back; each change is one log line (`log_formatter`: how the worker processes format theirs).

    `http` (HOST, PORT): worker process N serves Dask's Prometheus /metrics and /health on PORT + N;
    by default each on a free port."""
    await asyncio.gather(
        *(
            _keep_worker(
                address,
                security,
                stop,
                f"{name}-{slot}",
                log_formatter,
                f"{http[0]}:{http[1] + slot}" if http else None,
            )
            for slot in range(nworkers)
        )
    )


async def _keep_worker(
    address: str,
    security: Security,
    stop: asyncio.Event,
    name: str,
    log_formatter: logging.Formatter | None,
    http_address: str | None = None,
) -> None:
    """One worker slot: start a Nanny and its worker; start them again whenever they end before `stop`."""
    while not stop.is_set():
        nanny = Nanny(
            address,
            nthreads=1,
            name=name,
            security=security,
            plugins={FaceModelsPlugin(log_formatter)},
            dashboard=False,
            dashboard_address=http_address,  # its HTTP server (/metrics, /health), without the dashboard
            silence_logs=logging.WARNING,
        )
        try:
            await nanny
        except Exception as exc:  # the scheduler is not there (yet): try again shortly
            log.warning("worker %s cannot join %s (%s: %s); retrying", name, address, type(exc).__name__, exc)
            await _close_quietly(nanny)
            await _sleep_unless(stop, 2.0)
            continue
        log.info("worker %s ready at %s (models loaded), joined %s", name, nanny.worker_address, address)
        stopping = asyncio.ensure_future(stop.wait())
        finished = asyncio.ensure_future(nanny.finished())
        await asyncio.wait({stopping, finished}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        finished.cancel()
        await _close_quietly(nanny)
        if not stop.is_set():
            log.warning("worker %s lost the scheduler at %s; joining again", name, address)
            await _sleep_unless(stop, 1.0)


async def _close_quietly(nanny: Nanny) -> None:
    with contextlib.suppress(Exception):
        await nanny.close(timeout=10)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


# The bot's side


def default_queue_limit(threads: int) -> int:
    """Photos waiting or in work when LOOKALIKE_QUEUE_LIMIT is not set: grows with the workers connected."""
    return QUEUE_PER_WORKER * max(1, threads)


class ClusterPool:
    """`await pool.analyze(photo_bytes)` → `Analysis`, computed by a worker of the Dask cluster at `address`.

    Raises `ImageError` (a bad photo), `Busy` (the queue is full), `NoWorker` (no worker for `wait`
    seconds) or `WorkerCrashed` (the photo killed every worker that tried it).
    """

    kind: Literal["cluster"] = "cluster"

    def __init__(
        self,
        address: str,
        security: Security,
        queue_limit: int | None = None,
        wait: float = 60.0,
    ) -> None:
        self.address = address
        self.security = security
        self.wait = wait
        self._queue_limit = queue_limit
        self._pending = 0
        self._threads: dict[str, int] = {}
        self._client: Client | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._closing = False
        self._connected = asyncio.Event()
        self._ever_connected = False

    # what /stats and the start-up log show

    @property
    def workers(self) -> int:
        """Worker processes connected now (each single-threaded)."""
        return len(self._threads)

    @property
    def threads(self) -> int:
        return sum(self._threads.values())

    @property
    def pending(self) -> int:
        """Photos waiting or in work."""
        return self._pending

    @property
    def queue_limit(self) -> int:
        """The explicit LOOKALIKE_QUEUE_LIMIT, else a default that grows with the workers connected."""
        return self._queue_limit or default_queue_limit(self.threads)

    async def worker_load(self) -> dict[str, tuple[int, int]]:
        """Each connected worker's address → (threads, photos it is working on), as the scheduler says
        (the admins' Mini App shows them); an empty dict while the scheduler cannot be reached."""
        if self._client is None or not self._connected.is_set():
            return {}
        try:
            processing = await asyncio.wait_for(self._client.scheduler.processing(), 5)
        except (OSError, TimeoutError):
            return {}
        return {
            address: (threads, len(processing.get(address, ()))) for address, threads in self._threads.items()
        }

    # life cycle

    async def start(self) -> None:
        """Connect to the scheduler (raises OSError/TimeoutError when it cannot be reached in `wait` s)."""
        route_distributed_logs()
        # `timeout` is also how long the client's own reconnection (after the scheduler went away) tries
        # before it gives up and closes; the watcher then opens a new client.
        self._client = await Client(
            self.address, asynchronous=True, security=self.security, timeout=self.wait
        )
        await self._look()
        self._watcher = asyncio.create_task(self._watch(), name="cluster-watch")

    async def close(self) -> None:
        """Stop watching and disconnect (the cluster keeps running)."""
        self._closing = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close(timeout=5)

    async def _watch(self) -> None:
        """Keep `workers` current; log when workers come and go and when the scheduler is lost or back."""
        while not self._closing:
            await asyncio.sleep(WATCH_INTERVAL)
            try:
                await self._look()
            except Exception as exc:  # never let the watcher die: it is what notices a lost scheduler
                log.warning("cluster: checking the workers failed (%s: %s)", type(exc).__name__, exc)

    async def _look(self) -> None:
        client = self._client
        before = dict(self._threads)
        connected = client is not None and client.status == "running"
        if client is not None and client.status == "closed" and not self._closing:
            connected = await self._new_client()
        threads: dict[str, int] = {}
        if connected:
            assert self._client is not None
            try:
                threads = await asyncio.wait_for(self._client.scheduler.ncores_running(), 5)
            except (OSError, TimeoutError):
                connected = False
        was_connected = self._connected.is_set()
        if connected and not was_connected:
            self._connected.set()
            if self._ever_connected:
                log.info("cluster: connected to the scheduler at %s again", self.address)
            self._ever_connected = True
        elif not connected and was_connected:
            self._connected.clear()
            log.warning("cluster: lost the scheduler at %s; reconnecting", self.address)
        self._threads = threads
        if threads.keys() != before.keys():
            log.log(
                logging.WARNING if len(threads) < len(before) else logging.INFO,
                "cluster: %s workers connected (%s threads), %s photos in flight",
                len(threads),
                sum(threads.values()),
                self._pending,
            )
            if not threads:
                log.warning("cluster: no worker connected; photos wait up to %.0f s for one", self.wait)

    async def _new_client(self) -> bool:
        """The old client gave up reconnecting: try a new one (briefly; the watcher tries again)."""
        try:
            client = await Client(self.address, asynchronous=True, security=self.security, timeout=self.wait)
        except (OSError, TimeoutError):
            return False
        old, self._client = self._client, client
        if old is not None:
            with contextlib.suppress(Exception):
                await old.close(timeout=1)
        return True

    # the work

    async def analyze(self, data: bytes, max_faces: int = MAX_FACES, thorough: bool = False) -> Analysis:
        """Decode, detect and embed `data` on a worker (`thorough`: as `FaceModels.analyze`). Raises
        ImageError, Busy, NoWorker or WorkerCrashed."""
        result: Analysis = await self._run(analyze_on_worker, data, max_faces, thorough)
        return result

    async def analyze_keeping(
        self, data: bytes, max_faces: int = MAX_FACES
    ) -> tuple[Analysis, KeptFace | None]:
        """`analyze`, and the largest face kept for a morph (crop and 68 landmarks; None without a face)."""
        result: tuple[Analysis, KeptFace | None] = await self._run(analyze_keeping_on_worker, data, max_faces)
        return result

    async def keep_thumbnail(self, thumbnail: bytes) -> KeptFace:
        """A gallery face thumbnail's landmarks, found on a worker (`Landmarker.keep_thumbnail`)."""
        result: KeptFace = await self._run(keep_thumbnail_on_worker, thumbnail)
        return result

    async def _run(self, task: Callable[..., Any], *args: object) -> Any:
        """`task(*args)` on a worker, counted against the queue limit; an `ImageError` it returns is raised."""
        if self._pending >= self.queue_limit:
            raise Busy(f"{self._pending} photos already queued")
        self._pending += 1
        try:
            return await self._submit(task, *args)
        finally:
            self._pending -= 1

    async def _submit(self, task: Callable[..., Any], *args: object) -> Any:
        waiting = _NoWorkerClock(self.wait)
        while True:
            await self._until_connected(waiting)
            assert self._client is not None
            future = self._client.submit(task, *args, pure=False)
            outcome = asyncio.ensure_future(_outcome(future))
            try:
                while not outcome.done():
                    await asyncio.wait({outcome}, timeout=WATCH_INTERVAL)
                    if not outcome.done():
                        waiting.tick(self.workers > 0 and self._connected.is_set())
            except BaseException as exc:  # NoWorker, or this photo's handler cancelled (the bot stops)
                outcome.cancel()
                future.release()  # the task is forgotten: it will not be run for nobody
                if isinstance(exc, NoWorker):
                    log.warning("cluster: a photo waited %.0f s without any worker; answered busy", self.wait)
                raise
            result = outcome.result()
            if isinstance(result, _Lost):
                log.info("cluster: a photo's task was lost with the scheduler connection; sending it again")
                continue
            if isinstance(result, ImageError):
                raise result
            return result

    async def _until_connected(self, waiting: _NoWorkerClock) -> None:
        """Wait for a connected client, counting the time against the photo's wait for a worker."""
        while not self._connected.is_set():
            waiting.tick(False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._connected.wait(), WATCH_INTERVAL)


@dataclass(frozen=True)
class _Lost:
    """A future cancelled because the client lost the scheduler: the photo must be sent again."""

    reason: str


async def _outcome(future: Future) -> Any:
    """The future's result; `_Lost` instead of Dask's cancellation (a CancelledError would cancel the
    awaiting task itself); `WorkerCrashed` when the photo killed every worker that tried it."""
    try:
        return await future
    except FutureCancelledError as exc:
        return _Lost(exc.reason)
    except CommClosedError as exc:  # the scheduler went while the result was being fetched
        return _Lost(str(exc))
    except KilledWorker as exc:
        raise WorkerCrashed("the photo's task killed the workers that ran it") from exc


class _NoWorkerClock:
    """How long a photo has gone without any worker to run it: `NoWorker` past `limit` seconds."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.since: float | None = None

    def tick(self, have_worker: bool) -> None:
        """Note whether a worker is there now; raises `NoWorker` once none has been for `limit` seconds."""
        now = time.monotonic()
        if have_worker:
            self.since = None
            return
        if self.since is None:
            self.since = now
        if now - self.since >= self.limit:
            raise NoWorker(f"no worker for {self.limit:.0f} s")
