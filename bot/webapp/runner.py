"""Serve the Mini App with uvicorn inside the bot's own event loop (as python-telegram-bot's custom webhook
example does): started in post_init, stopped in post_shutdown, with polling as with webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn

from bot.webapp.extensions import Extensions
from bot.webapp.server import create_app
from service.services import Services

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the bot's SIGINT/SIGTERM handling stops everything."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebApp:
    """The running Mini App server; `await WebApp.start(...)`, later `await web_app.stop()`."""

    def __init__(self, server: _Server, task: asyncio.Task, extensions: Extensions | None) -> None:
        self._server = server
        self._task = task
        self._extensions = extensions

    @classmethod
    async def start(cls, svc: Services, host: str, port: int, extensions: Extensions | None = None) -> WebApp:
        """Listen on host:port; raises OSError when it cannot (e.g. the port is taken)."""
        # Bound here rather than by uvicorn, which exits the process when it cannot bind.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family)
        config = uvicorn.Config(
            create_app(svc, extensions),
            log_config=None,  # the bot's logging, not uvicorn's
            access_log=False,
            lifespan="off",
            server_header=False,
            proxy_headers=False,
        )
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)  # no start/stop banners
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="mini-app")
        while not server.started:
            if task.done():
                sock.close()
                raise OSError(f"the Mini App could not start on {host}:{port}")
            await asyncio.sleep(0.02)
        log.info("mini app: listening on %s:%s", host, port)
        return cls(server, task, extensions)

    async def stop(self) -> None:
        """Stop taking connections, let the requests in progress finish, then stop the features' background
        work (a Wikidata build started from the app)."""
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self._task, timeout=10)
        if self._extensions is not None:
            await self._extensions.close()
