"""Which replies are a round's entries, and when a round may be ranked (no Telegram, no SQLite).

A round's message is in the group, and players can reply to it, from the moment Telegram has it: before
the bot holds its message id (Telegram's answer to sendPhoto is still on its way) and before the round is
written to the gallery file. So a reply counts as an entry if it answers the round message by id, or —
while the round is being announced — a message from a bot with exactly the round's caption sent since
the announcement began. An entry is "in work" from the moment it arrives until it is answered; the end of
a round waits (bounded) for the entries in work, so that none received before the end is left out.
Replies to a round that has ended are recognised too, so they get a line saying so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from cachetools import TTLCache

ENDED_MEMORY_SECONDS = 24 * 3600  # replies to a round message this old still hear that it is over
ENDED_MOST = 10_000  # round messages remembered at most (all groups): memory stays bounded
ANNOUNCE_GRACE_SECONDS = 2.0  # Telegram's message dates are whole seconds


@dataclass(frozen=True)
class Replied:
    """The message a player's reply answers, as the front end saw it: where, which, from a bot or not,
    its caption (or text), and when it was sent (Unix time)."""

    chat_id: int
    message_id: int
    from_bot: bool
    caption: str | None
    sent_at: float


@dataclass
class Announcing:
    """A round being announced in a chat: its caption, since when, and whether it is recorded yet."""

    caption: str
    since: float
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class ChatState:
    """One chat's entries in work, whether its round is ending, and its round being announced."""

    in_work: int = 0
    ending: int = 0  # ends in progress (/endgame and the timer may both be at it)
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    announcing: Announcing | None = None


class RoundGate:
    """Entries in work and rounds being announced or ended, per chat (in memory: ids and captions)."""

    def __init__(self) -> None:
        self._chats: dict[int, ChatState] = {}
        self._ended: TTLCache[tuple[int, int], bool] = TTLCache(maxsize=ENDED_MOST, ttl=ENDED_MEMORY_SECONDS)

    def _state(self, chat_id: int) -> ChatState:
        return self._chats.setdefault(chat_id, ChatState())

    # announcing

    def announce(self, chat_id: int, caption: str) -> None:
        """A round's message with `caption` is about to be sent in `chat_id`."""
        self._state(chat_id).announcing = Announcing(caption, time.time())

    def announced(self, chat_id: int) -> None:
        """The round is recorded (or its announcement failed): entries waiting for it go on."""
        state = self._state(chat_id)
        if state.announcing is not None:
            state.announcing.done.set()
            state.announcing = None
            self._forget_if_idle(chat_id, state)

    async def wait_announced(self, chat_id: int, timeout: float) -> None:
        """Wait (at most `timeout` s) while a round of `chat_id` is being announced."""
        announcing = self._state(chat_id).announcing
        if announcing is not None:
            with suppress(TimeoutError):
                await asyncio.wait_for(announcing.done.wait(), timeout)

    # which replies

    def is_round_reply(self, replied: Replied, round_message_id: int | None) -> bool:
        """Whether a reply to `replied` answers its chat's round message: running, being announced, or ended."""
        if replied.message_id == round_message_id or (replied.chat_id, replied.message_id) in self._ended:
            return True
        announcing = self._chats.get(replied.chat_id, ChatState()).announcing
        return (
            announcing is not None
            and replied.from_bot
            and replied.caption == announcing.caption
            and replied.sent_at >= announcing.since - ANNOUNCE_GRACE_SECONDS
        )

    def is_over(self, chat_id: int, replied_id: int, round_message_id: int | None) -> bool:
        """Whether an entry replying to message `replied_id` comes after its round's end (or its start)."""
        if replied_id != round_message_id and (chat_id, replied_id) in self._ended:
            return True
        state = self._chats.get(chat_id)
        return state is not None and state.ending > 0

    def ended(self, chat_id: int, round_message_id: int) -> None:
        """Remember an ended round's message, so later replies to it hear that the round is over."""
        self._ended[(chat_id, round_message_id)] = True

    # entries in work and the end

    @contextmanager
    def entry(self, chat_id: int) -> Iterator[None]:
        """An entry in work for the duration of the block: an end in progress waits for it."""
        state = self._state(chat_id)
        state.in_work += 1
        state.settled.clear()
        try:
            yield
        finally:
            state.in_work -= 1
            if state.in_work == 0:
                state.settled.set()
                self._forget_if_idle(chat_id, state)

    def _forget_if_idle(self, chat_id: int, state: ChatState) -> None:
        """Drop a chat's state once nothing is in work, ending or announcing (nobody waits on it then)."""
        if state.in_work == 0 and state.ending == 0 and state.announcing is None:
            self._chats.pop(chat_id, None)

    def in_work(self, chat_id: int) -> int:
        state = self._chats.get(chat_id)
        return 0 if state is None else state.in_work

    @contextmanager
    def ending(self, chat_id: int) -> Iterator[None]:
        """A round's end in progress: entries arriving now are after the end."""
        state = self._state(chat_id)
        state.ending += 1
        try:
            yield
        finally:
            state.ending -= 1
            self._forget_if_idle(chat_id, state)

    async def settled(self, chat_id: int, timeout: float) -> bool:
        """Wait (at most `timeout` s) until no entry of `chat_id` is in work; True if none is left."""
        state = self._state(chat_id)
        if state.in_work == 0:
            return True
        try:
            await asyncio.wait_for(state.settled.wait(), timeout)
        except TimeoutError:
            return False
        return True
