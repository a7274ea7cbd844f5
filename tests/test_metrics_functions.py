"""bot.metrics' small functions: one count per photo answered, errors named without the token or a file
path. (End to end, with a real Prometheus: tests/test_ops_metrics.py.)"""

from __future__ import annotations

import asyncio

import pytest

from bot import metrics
from tests.botapi.harness import TOKEN


def count(outcome: str) -> float:
    return metrics.ANSWERS.labels(outcome)._value.get()


def answers_seconds() -> float:
    return next(s.value for s in metrics.ANSWER_SECONDS.collect()[0].samples if s.name.endswith("_count"))


def test_a_photo_is_counted_once_whatever_calls_answered_again() -> None:
    @metrics.photo_answer
    async def answer() -> None:
        metrics.answered("no_face")
        metrics.answered("match")  # a second reply for the same photo is not a second photo

    before, matches, timed = count("no_face"), count("match"), answers_seconds()
    asyncio.run(answer())
    assert (count("no_face"), count("match")) == (before + 1, matches)
    assert answers_seconds() == timed + 1


def test_an_exception_escaping_before_the_answer_counts_as_error() -> None:
    @metrics.photo_answer
    async def answer() -> None:
        raise RuntimeError("the collage could not be drawn")

    before = count("error")
    with pytest.raises(RuntimeError):
        asyncio.run(answer())
    assert count("error") == before + 1


def test_answered_outside_a_photo_answer_counts_nothing() -> None:
    before = {o: count(o) for o in metrics.OUTCOMES}
    metrics.answered("unreadable")  # e.g. /twins, which shares the game entries' refusals
    assert {o: count(o) for o in metrics.OUTCOMES} == before


@pytest.mark.parametrize(
    ("url", "method"),
    [
        (f"https://api.telegram.org/bot{TOKEN}/sendPhoto", "sendPhoto"),
        (f"http://127.0.0.1:8081/bot{TOKEN}/getUpdates", "getUpdates"),
        (f"https://api.telegram.org/file/bot{TOKEN}/photos/file_12.jpg", "download"),
        (f"https://api.telegram.org/file/bot{TOKEN}/documents/file_3", "download"),
    ],
)
def test_the_method_label_is_the_bot_api_method_or_download_never_the_token(url: str, method: str) -> None:
    assert metrics.method_of(url) == method


@pytest.mark.parametrize(
    ("status", "kind"),
    [(200, None), (400, "client_error"), (403, "client_error"), (429, "rate_limited"), (502, "server_error")],
)
def test_error_kinds_by_http_status(status: int, kind: str | None) -> None:
    assert metrics.error_kind(status) == kind
