"""The memory behind Share: per user, newest first, at most ten, for minutes, bounded in users."""

from __future__ import annotations

from service.shared_answers import SharedAnswer, SharedAnswers


def answer(number: int, at: float) -> SharedAnswer:
    return SharedAnswer(f"u{number}", f"file{number}", f"caption {number}", at)


def test_a_user_gets_their_own_answers_newest_first_at_most_ten() -> None:
    shared = SharedAnswers(minutes=60)
    for number in range(12):
        shared.remember(1, answer(number, 1000.0 + number))
    shared.remember(2, answer(99, 1000.0))
    mine = shared.recent(1, now=1100.0)
    assert [a.file_id for a in mine] == [f"file{n}" for n in range(11, 1, -1)]
    assert [a.file_id for a in shared.recent(2, now=1100.0)] == ["file99"]
    assert shared.recent(3, now=1100.0) == []


def test_answers_older_than_the_minutes_are_not_offered() -> None:
    shared = SharedAnswers(minutes=1)
    shared.remember(1, answer(1, 1000.0))
    shared.remember(1, answer(2, 1050.0))
    assert [a.file_id for a in shared.recent(1, now=1055.0)] == ["file2", "file1"]
    assert [a.file_id for a in shared.recent(1, now=1061.0)] == ["file2"]


def test_zero_minutes_keeps_nothing_and_users_are_bounded() -> None:
    off = SharedAnswers(minutes=0)
    off.remember(1, answer(1, 1000.0))
    assert not off.on and off.recent(1, now=1000.0) == []
    bounded = SharedAnswers(minutes=60, most_users=3)
    for user in range(5):
        bounded.remember(user, answer(user, 1000.0))
    assert sum(bool(bounded.recent(user, now=1000.0)) for user in range(5)) == 3
