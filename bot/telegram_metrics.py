"""The Telegram client's Prometheus metrics: failed Bot API calls by method and kind, and when Telegram
last answered a getUpdates (for /readyz). PTB-specific, so here; what happens to photos is counted by the
application layer (service/metrics.py), and bot/ops_server.py serves both.

`CountingRequest` is the bot's HTTP client for the Bot API. No label carries a user or chat id or a file
path: Bot API method names and error kinds are small fixed sets.
"""

from __future__ import annotations

import re
import time
from typing import Literal

from prometheus_client import Counter
from telegram.error import NetworkError, TimedOut

from bot.telegram_http import AiohttpRequest

ErrorKind = Literal["rate_limited", "server_error", "client_error", "timeout", "network"]

TELEGRAM_ERRORS = Counter(
    "lookalike_telegram_errors",
    "Failed Bot API calls (retried or not), by method and kind: rate_limited (429), server_error (5xx), "
    "client_error (other 4xx), timeout, network.",
    ["method", "kind"],
)


_METHOD_NAME = re.compile(r"^[a-z][A-Za-z]{1,63}$")  # Bot API methods; file paths have '_', '.', digits


def method_of(url: str) -> str:
    """The Bot API method of a request URL (`sendPhoto`), or `download` for a file: never the token, never
    a file path (unbounded, and not the operator's business)."""
    last = url.rstrip("/").rsplit("/", 1)[-1]
    return last if _METHOD_NAME.match(last) else "download"


def error_kind(status: int) -> ErrorKind | None:
    """The kind of a Bot API HTTP status, or None for a success."""
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "client_error"
    return None


class Heartbeat:
    """When Telegram last answered a getUpdates (monotonic seconds), for `/readyz`."""

    last_poll: float | None = None

    @classmethod
    def age(cls) -> float | None:
        """Seconds since the last getUpdates answered, or None if none has been."""
        return None if cls.last_poll is None else time.monotonic() - cls.last_poll


class CountingRequest(AiohttpRequest):
    """The bot's HTTP client (bot.telegram_http), counting failed calls by method and kind (every attempt:
    PTB's rate limiter and `with_retries` retry above this) and noting each getUpdates answered."""

    async def do_request(self, url: str, method: str, *args: object, **kwargs: object) -> tuple[int, bytes]:
        """See `AiohttpRequest.do_request`; (HTTP status, body)."""
        name = method_of(url)
        try:
            status, body = await super().do_request(url, method, *args, **kwargs)  # type: ignore[arg-type]
        except TimedOut:
            TELEGRAM_ERRORS.labels(name, "timeout").inc()
            raise
        except NetworkError:
            TELEGRAM_ERRORS.labels(name, "network").inc()
            raise
        kind = error_kind(status)
        if kind is not None:
            TELEGRAM_ERRORS.labels(name, kind).inc()
        elif name == "getUpdates":
            Heartbeat.last_poll = time.monotonic()
        return status, body
