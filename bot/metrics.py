"""The bot's Prometheus metrics, in one place: the metric objects and the small functions the handlers call.

Served by `bot.ops_server` (`/metrics`) when METRICS_PORT is set; counting costs tens of microseconds a
photo whether or not anyone scrapes (bench/bot.py --metrics). No label ever carries a user or chat id, a
name or anything a user sent: outcomes, Bot API method names and error kinds are small fixed sets.

Hooks (where the rest of the bot calls in):
- `photo_answer` wraps the coroutine that answers one photo; inside it, `answered(outcome)` counts the
  answer once and times it (an exception that escapes counts as `error`);
- `analysis_timer()` around one photo's crop-and-embed;
- `watch(svc)` once the services exist (gauges read at scrape time);
- `CountingRequest` is the bot's HTTP client for the Bot API: errors by method and kind, and the time of
  the last getUpdates answered (readiness).
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, ParamSpec, TypeVar

from prometheus_client import Counter, Gauge, Histogram
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest

if TYPE_CHECKING:
    from bot.services import Services

P = ParamSpec("P")
T = TypeVar("T")

Outcome = Literal["match", "no_face", "unreadable", "busy", "error"]
OUTCOMES: tuple[Outcome, ...] = ("match", "no_face", "unreadable", "busy", "error")
ErrorKind = Literal["rate_limited", "server_error", "client_error", "timeout", "network"]

ANSWERS = Counter(
    "lookalike_answers", "Photos answered, by outcome (one per photo, private or group).", ["outcome"]
)
for _outcome in OUTCOMES:  # every outcome present from the start: rate() and sums need no gap-filling
    ANSWERS.labels(_outcome)
ANSWER_SECONDS = Histogram(
    "lookalike_answer_seconds",
    "Seconds from the update taken to the reply sent, per photo answered.",
    buckets=(0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0),
)
ANALYSIS_SECONDS = Histogram(
    "lookalike_analysis_seconds",
    "Seconds of one photo's crop-and-embed (local pool or cluster), queueing included.",
    buckets=(0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 30.0),
)
PHOTOS_IN_FLIGHT = Gauge("lookalike_photos_in_flight", "Photos admitted and not yet answered.")
WORKERS = Gauge("lookalike_workers", "Face workers: local processes (or threads), or Dask workers connected.")
GALLERY_CELEBRITIES = Gauge(
    "lookalike_gallery_celebrities", "Celebrities in the gallery file (0: the demo gallery answers)."
)
GALLERY_PHOTOS = Gauge(
    "lookalike_gallery_photos", "Photos in the gallery file (0: the demo gallery answers)."
)
TELEGRAM_ERRORS = Counter(
    "lookalike_telegram_errors",
    "Failed Bot API calls (retried or not), by method and kind: rate_limited (429), server_error (5xx), "
    "client_error (other 4xx), timeout, network.",
    ["method", "kind"],
)


# One photo's answer


@dataclass
class _Photo:
    """The photo being answered in this task: when its update was taken, and whether it was counted."""

    started: float
    counted: bool = False


_photo: ContextVar[_Photo | None] = ContextVar("lookalike_photo", default=None)


def photo_answer(handler: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Decorate the coroutine that answers one photo: `answered()` inside it counts and times the answer
    once; an exception escaping before that counts as `error` (and goes on to the error handler)."""

    @functools.wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        photo = _Photo(time.monotonic())
        token = _photo.set(photo)
        try:
            return await handler(*args, **kwargs)
        except Exception:
            _count(photo, "error")
            raise
        finally:
            _photo.reset(token)

    return wrapper


def answered(outcome: Outcome) -> None:
    """The reply for the current photo was sent (or refused by the chat): count it under `outcome` and
    observe its time. Only the first call per photo counts; outside `photo_answer` it does nothing (e.g.
    /twins, which shares the game entries' code, is not a photo answered)."""
    photo = _photo.get()
    if photo is not None:
        _count(photo, outcome)


def _count(photo: _Photo, outcome: Outcome) -> None:
    if photo.counted:
        return
    photo.counted = True
    ANSWERS.labels(outcome).inc()
    ANSWER_SECONDS.observe(time.monotonic() - photo.started)


@contextlib.contextmanager
def analysis_timer() -> Iterator[None]:
    """Time one photo's crop-and-embed; observed only when it gives an analysis (a refusal at the queue
    or an unreadable photo is not an analysis)."""
    started = time.monotonic()
    yield
    ANALYSIS_SECONDS.observe(time.monotonic() - started)


def watch(svc: Services) -> None:
    """Read the gauges from the running services whenever Prometheus scrapes."""
    PHOTOS_IN_FLIGHT.set_function(lambda: svc.admission.in_flight)
    WORKERS.set_function(lambda: svc.pool.workers)
    GALLERY_CELEBRITIES.set_function(lambda: svc.gallery.celebrity_count)
    GALLERY_PHOTOS.set_function(lambda: svc.gallery.photo_count)


# The Bot API calls

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


class CountingRequest(HTTPXRequest):
    """PTB's HTTP client, counting failed calls by method and kind (every attempt: PTB's rate limiter and
    `with_retries` retry above this) and noting each getUpdates answered."""

    async def do_request(self, url: str, method: str, *args: object, **kwargs: object) -> tuple[int, bytes]:
        """See `HTTPXRequest.do_request`; (HTTP status, body)."""
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
