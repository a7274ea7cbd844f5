"""`/metrics`, `/healthz` and `/readyz` on METRICS_LISTEN:METRICS_PORT, served by uvicorn in a thread and
an event loop of their own: a scrape (the process metrics read /proc) never runs on the bot's loop, and a
stuck bot loop is seen from outside it.

- `/metrics`: Prometheus' text format (service/metrics.py, bot/telegram_metrics.py and the client's process
  and Python metrics).
- `/healthz`: 200 while the process answers and the bot's event loop runs a callback within
  `LOOP_TIMEOUT`; else 503.
- `/readyz`: 200 once the gallery is open, a face worker (local or in the cluster) can take work and
  updates arrive (polling: a getUpdates answered within `POLL_STALE` seconds; webhook: the webhook server
  listens); else 503. Either way one line of JSON: `{"ready": true}` or `{"ready": false, "reason": …}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterator

import uvicorn
from prometheus_client import REGISTRY
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram.ext import Application

from bot.telegram_metrics import Heartbeat

log = logging.getLogger(__name__)

LOOP_TIMEOUT = 5.0  # seconds the bot's loop may take to run a callback before /healthz says it is stuck
POLL_STALE = 60.0  # getUpdates returns at least every 10 s (PTB's long-poll timeout) while all is well


def not_ready_because(application: Application) -> str | None:
    """Why the bot cannot answer photos now (one line), or None when it can."""
    svc = application.bot_data.get("services")
    if svc is None:
        return "starting: the gallery and the face workers are not open yet"
    if svc.pool.workers < 1:
        where = "no Dask worker connected to the cluster" if svc.pool.kind == "cluster" else "no face worker"
        return f"no face worker can take work ({where})"
    if svc.settings.webhook_url:
        updater = application.updater
        return None if updater is not None and updater.running else "the webhook server is not listening"
    age = Heartbeat.age()
    if age is None:
        return "no getUpdates answered by Telegram yet"
    if age > POLL_STALE:
        return f"no getUpdates answered by Telegram for {age:.0f} s"
    return None


def create_app(application: Application, bot_loop: asyncio.AbstractEventLoop) -> Starlette:
    """The ASGI app of the three endpoints, for `application` whose handlers run on `bot_loop`."""

    async def healthz(request: Request) -> JSONResponse:
        try:
            ping = asyncio.run_coroutine_threadsafe(asyncio.sleep(0), bot_loop)
            await asyncio.wait_for(asyncio.wrap_future(ping), LOOP_TIMEOUT)
        except (TimeoutError, RuntimeError):  # stuck, or closed
            return JSONResponse(
                {"healthy": False, "reason": f"the bot's event loop did not answer in {LOOP_TIMEOUT:.0f} s"},
                status_code=503,
            )
        return JSONResponse({"healthy": True})

    async def readyz(request: Request) -> JSONResponse:
        reason = not_ready_because(application)
        if reason is None:
            return JSONResponse({"ready": True})
        return JSONResponse({"ready": False, "reason": reason}, status_code=503)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ]
    )


async def metrics(request: Request) -> Response:
    """Every metric of this process, in the format the scraper asks for (Prometheus text or OpenMetrics)."""
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(REGISTRY), media_type=content_type)


class _Server(uvicorn.Server):
    """uvicorn without signal handlers: the bot's SIGINT/SIGTERM handling stops everything."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class OpsServer:
    """The running endpoints; `OpsServer.start(...)` (raises OSError if it cannot listen), later `stop()`."""

    def __init__(self, server: _Server, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @classmethod
    def start(cls, application: Application, host: str, port: int) -> OpsServer:
        """Listen on host:port in a new thread; the bot's loop is the one running now."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family)  # bound here: uvicorn would exit on failure
        config = uvicorn.Config(
            create_app(application, asyncio.get_running_loop()),
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            proxy_headers=False,
        )
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)  # no start/stop banners
        server = _Server(config)
        thread = threading.Thread(
            target=_serve, args=(server, sock), name="metrics-server", daemon=True
        )  # daemon: never holds the process up, whatever happens to the bot
        thread.start()
        _wait_until(lambda: server.started or not thread.is_alive())
        if not server.started:
            sock.close()
            raise OSError(f"the metrics endpoint could not start on {host}:{port}")
        log.info("metrics: /metrics, /healthz and /readyz on %s:%s", host, port)
        return cls(server, thread)

    def stop(self) -> None:
        """Stop serving (requests in progress finish; at most a few seconds)."""
        self._server.should_exit = True
        self._thread.join(timeout=10)


def _serve(server: _Server, sock: socket.socket) -> None:
    asyncio.run(server.serve(sockets=[sock]))


def _wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Block (briefly: a thread starting) until `condition` holds or `timeout` passes."""
    event = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        event.wait(0.01)
