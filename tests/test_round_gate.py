"""Which replies are a round's entries, and how the end waits for entries in work (service/round_gate.py)."""

from __future__ import annotations

import asyncio
import time

from service.round_gate import Replied, RoundGate

GROUP = -100
CAPTION = "Who looks most like Barack Obama?"


def reply_to(
    message_id: int, caption: str = CAPTION, from_bot: bool = True, sent: float | None = None
) -> Replied:
    """The message a player's reply answers: message `message_id` (from a bot or not, with `caption`)."""
    return Replied(GROUP, message_id, from_bot, caption, time.time() if sent is None else sent)


def test_while_announcing_a_reply_to_the_round_caption_is_an_entry_before_its_id_is_known() -> None:
    gate = RoundGate()
    assert not gate.is_round_reply(reply_to(7), None)
    gate.announce(GROUP, CAPTION)
    assert gate.is_round_reply(reply_to(7), None)
    assert not gate.is_round_reply(reply_to(7, caption="something else"), None)
    assert not gate.is_round_reply(reply_to(7, from_bot=False), None)
    assert not gate.is_round_reply(reply_to(7, sent=time.time() - 3600), None)  # an older round's
    gate.announced(GROUP)
    assert not gate.is_round_reply(reply_to(7), None)
    assert gate.is_round_reply(reply_to(7), 7)  # by id, once known


def test_a_reply_to_an_ended_round_is_recognised_and_over() -> None:
    gate = RoundGate()
    gate.ended(GROUP, 5)
    assert gate.is_round_reply(reply_to(5), None)
    assert gate.is_over(GROUP, 5, None) and not gate.is_over(GROUP, 9, 9)


async def test_the_end_waits_for_entries_in_work_and_no_longer_than_its_bound() -> None:
    gate = RoundGate()

    async def entry(seconds: float) -> None:
        with gate.entry(GROUP):
            await asyncio.sleep(seconds)

    quick = asyncio.create_task(entry(0.2))
    await asyncio.sleep(0)
    with gate.ending(GROUP):
        assert gate.is_over(GROUP, 9, 9)  # entries arriving now are after the end
        assert await gate.settled(GROUP, 5.0) and quick.done()
    slow = asyncio.create_task(entry(5.0))
    await asyncio.sleep(0)
    started = time.monotonic()
    with gate.ending(GROUP):
        assert not await gate.settled(GROUP, 0.3)
    assert time.monotonic() - started < 2.0 and gate.in_work(GROUP) == 1
    slow.cancel()
    await asyncio.gather(slow, return_exceptions=True)
    assert gate.in_work(GROUP) == 0 and not gate.is_over(GROUP, 9, 9)
