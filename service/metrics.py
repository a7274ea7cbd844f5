"""The application layer's Prometheus metrics: photos answered by outcome and their time, one photo's
analysis time, and the gauges read from the running services.

service/photos.py is where these are counted (every photo's path runs through it); the Telegram client's
own counters (`lookalike_telegram_errors_total`, getUpdates' heartbeat) are bot/telegram_metrics.py's, and
bot/ops_server.py serves them all on METRICS_PORT. Counting costs tens of microseconds a photo whether or
not anyone scrapes (bench/bot.py --metrics). No label ever carries a user or chat id, a name or anything a
user sent: outcomes are a small fixed set.

- `answering()` is the span of one photo's answer; inside it `answered(outcome)` records the outcome. The
  outermost span counts the answer once, when it closes (the reply is sent by then), and observes its
  time; an exception escaping before an outcome is recorded counts as `error`. A span with no outcome
  (an update delivered twice, already in work) counts nothing.
- `analysis_timer()` around one photo's crop-and-embed;
- `watch(svc)` once the services exist (gauges read at scrape time).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from prometheus_client import Counter, Gauge, Histogram

if TYPE_CHECKING:
    from service.services import Services

Outcome = Literal["match", "no_face", "unreadable", "busy", "error"]
OUTCOMES: tuple[Outcome, ...] = ("match", "no_face", "unreadable", "busy", "error")

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
PHOTOS_WAITING = Gauge(
    "lookalike_photos_waiting", "Photos admitted and waiting their turn to be fetched and analysed."
)
WORKERS = Gauge("lookalike_workers", "Face workers: local processes (or threads), or Dask workers connected.")
GALLERY_CELEBRITIES = Gauge(
    "lookalike_gallery_celebrities", "Celebrities in the gallery file (0: the demo gallery answers)."
)
GALLERY_PHOTOS = Gauge(
    "lookalike_gallery_photos", "Photos in the gallery file (0: the demo gallery answers)."
)


@dataclass
class _Photo:
    """The photo being answered in this task: when its answer began, and its outcome once known."""

    started: float
    outcome: Outcome | None = None


_photo: ContextVar[_Photo | None] = ContextVar("lookalike_photo", default=None)


@contextlib.contextmanager
def answering() -> Iterator[None]:
    """The span of one photo's answer (see the module's docstring). A span inside another is the same
    photo: only the outermost counts, so a front end may widen the span around its own reply."""
    if _photo.get() is not None:
        try:
            yield
        except Exception:
            answered("error")
            raise
        return
    photo = _Photo(time.monotonic())
    token = _photo.set(photo)
    try:
        yield
    except Exception:
        answered("error")
        raise
    finally:
        _photo.reset(token)
        if photo.outcome is not None:
            ANSWERS.labels(photo.outcome).inc()
            ANSWER_SECONDS.observe(time.monotonic() - photo.started)


def answered(outcome: Outcome) -> None:
    """Record the current photo's outcome: only the first per photo counts (a second reply for the same
    photo is not a second photo); outside `answering()` it does nothing (/twins is not a photo answered)."""
    photo = _photo.get()
    if photo is not None and photo.outcome is None:
        photo.outcome = outcome


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
    PHOTOS_WAITING.set_function(lambda: svc.intake.waiting)
    WORKERS.set_function(lambda: svc.pool.workers)
    GALLERY_CELEBRITIES.set_function(lambda: svc.gallery.celebrity_count)
    GALLERY_PHOTOS.set_function(lambda: svc.gallery.photo_count)
