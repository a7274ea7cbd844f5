"""The metrics' small functions: one count per photo answered (service/metrics.py), outcomes read from the
refusal codes (service/photos.py), Bot API errors named without the token or a file path
(bot/telegram_metrics.py). (End to end, with a real Prometheus: tests/test_ops_metrics.py.)"""

from __future__ import annotations

import asyncio
from typing import get_args

import pytest

from bot.telegram_metrics import error_kind, method_of
from service import metrics
from service.photos import RefusalCode, outcome_of
from tests.botapi.harness import TOKEN


def count(outcome: str) -> float:
    return metrics.ANSWERS.labels(outcome)._value.get()


def answers_seconds() -> float:
    return next(s.value for s in metrics.ANSWER_SECONDS.collect()[0].samples if s.name.endswith("_count"))


def test_a_photo_is_counted_once_whatever_calls_answered_again() -> None:
    async def answer() -> None:
        with metrics.answering():
            metrics.answered("no_face")
            metrics.answered("match")  # a second reply for the same photo is not a second photo

    before, matches, timed = count("no_face"), count("match"), answers_seconds()
    asyncio.run(answer())
    assert (count("no_face"), count("match")) == (before + 1, matches)
    assert answers_seconds() == timed + 1


def test_a_span_inside_another_is_the_same_photo_counted_when_the_outer_one_ends() -> None:
    before = count("busy")
    with metrics.answering():
        with metrics.answering():
            metrics.answered("busy")
        assert count("busy") == before  # the front end's reply is still to come
    assert count("busy") == before + 1


def test_an_exception_escaping_before_the_answer_counts_as_error() -> None:
    async def answer() -> None:
        with metrics.answering():
            raise RuntimeError("the collage could not be drawn")

    before = count("error")
    with pytest.raises(RuntimeError):
        asyncio.run(answer())
    assert count("error") == before + 1


def test_an_exception_after_the_outcome_keeps_the_outcome() -> None:
    before, errors = count("unreadable"), count("error")
    with pytest.raises(ValueError), metrics.answering(), metrics.answering():
        metrics.answered("unreadable")
        raise ValueError("refused")  # the refusal travels up to the front end that words it
    assert (count("unreadable"), count("error")) == (before + 1, errors)


def test_a_span_without_an_outcome_counts_nothing() -> None:
    before = {o: count(o) for o in metrics.OUTCOMES}
    with metrics.answering():
        pass  # an update delivered twice, already in work
    assert {o: count(o) for o in metrics.OUTCOMES} == before


def test_answered_outside_a_span_counts_nothing() -> None:
    before = {o: count(o) for o in metrics.OUTCOMES}
    metrics.answered("unreadable")  # e.g. /twins, which shares the game entries' refusals
    assert {o: count(o) for o in metrics.OUTCOMES} == before


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (None, "match"),
        ("no_face", "no_face"),
        ("busy", "busy"),
        ("again", "busy"),
        ("too_large", "unreadable"),
        ("unreadable", "unreadable"),
        ("not_image", "unreadable"),
        ("empty_gallery", "error"),
    ],
)
def test_each_refusal_code_has_its_outcome(code: RefusalCode | None, outcome: str) -> None:
    assert outcome_of(code) == outcome


def test_every_refusal_code_is_mapped() -> None:
    assert {outcome_of(code) for code in get_args(RefusalCode)} <= set(metrics.OUTCOMES)
    assert len(get_args(RefusalCode)) == 7  # a new code needs its outcome chosen above


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
    assert method_of(url) == method


@pytest.mark.parametrize(
    ("status", "kind"),
    [(200, None), (400, "client_error"), (403, "client_error"), (429, "rate_limited"), (502, "server_error")],
)
def test_error_kinds_by_http_status(status: int, kind: str | None) -> None:
    assert error_kind(status) == kind
