"""Which replies are a round's entries, and how the end waits for entries in work (bot/round_gate.py)."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time

from telegram import Chat, Message, User

from bot.round_gate import RoundGate

GROUP = Chat(-100, "supergroup")
BOT = User(1, "Bot", is_bot=True)
PLAYER = User(2, "Ann", is_bot=False)
CAPTION = "Who looks most like Barack Obama?"


def reply_to(
    message_id: int, caption: str = CAPTION, sender: User = BOT, sent: float | None = None
) -> Message:
    """A player's message replying to message `message_id` (by `sender`, with `caption`)."""
    date = dtm.datetime.fromtimestamp(time.time() if sent is None else sent, tz=dtm.UTC)
    replied = Message(message_id, date, GROUP, from_user=sender, caption=caption)
    return Message(message_id + 1, date, GROUP, from_user=PLAYER, reply_to_message=replied)


def test_while_announcing_a_reply_to_the_round_caption_is_an_entry_before_its_id_is_known() -> None:
    gate = RoundGate()
    assert not gate.is_round_reply(reply_to(7), None)
    gate.announce(GROUP.id, CAPTION)
    assert gate.is_round_reply(reply_to(7), None)
    assert not gate.is_round_reply(reply_to(7, caption="something else"), None)
    assert not gate.is_round_reply(reply_to(7, sender=PLAYER), None)
    assert not gate.is_round_reply(reply_to(7, sent=time.time() - 3600), None)  # an older round's
    gate.announced(GROUP.id)
    assert not gate.is_round_reply(reply_to(7), None)
    assert gate.is_round_reply(reply_to(7), 7)  # by id, once known


def test_a_reply_to_an_ended_round_is_recognised_and_over() -> None:
    gate = RoundGate()
    gate.ended(GROUP.id, 5)
    assert gate.is_round_reply(reply_to(5), None)
    assert gate.is_over(GROUP.id, 5, None) and not gate.is_over(GROUP.id, 9, 9)


async def test_the_end_waits_for_entries_in_work_and_no_longer_than_its_bound() -> None:
    gate = RoundGate()

    async def entry(seconds: float) -> None:
        with gate.entry(GROUP.id):
            await asyncio.sleep(seconds)

    quick = asyncio.create_task(entry(0.2))
    await asyncio.sleep(0)
    with gate.ending(GROUP.id):
        assert gate.is_over(GROUP.id, 9, 9)  # entries arriving now are after the end
        assert await gate.settled(GROUP.id, 5.0) and quick.done()
    slow = asyncio.create_task(entry(5.0))
    await asyncio.sleep(0)
    started = time.monotonic()
    with gate.ending(GROUP.id):
        assert not await gate.settled(GROUP.id, 0.3)
    assert time.monotonic() - started < 2.0 and gate.in_work(GROUP.id) == 1
    slow.cancel()
    await asyncio.gather(slow, return_exceptions=True)
    assert gate.in_work(GROUP.id) == 0 and not gate.is_over(GROUP.id, 9, 9)
