"""What a user may share from a private chat (inline mode): Telegram's file ids of their recent collages and
the captions, in memory, per user, bounded, for minutes; never the photo (Telegram keeps that)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from cachetools import TTLCache

PER_USER = 10  # results offered at most (Telegram takes 50; a chat picker shows a handful)
MOST_USERS = 100_000  # users remembered at most: past it, the least recently served are dropped


@dataclass(frozen=True)
class SharedAnswer:
    """One collage the bot sent: its result id (Telegram's file_unique_id), file id, caption, and when."""

    result_id: str
    file_id: str
    caption: str
    sent_at: float


class SharedAnswers:
    """Each user's recent collages, newest first, for `minutes` (0: nothing is kept, sharing is off)."""

    def __init__(self, minutes: float, per_user: int = PER_USER, most_users: int = MOST_USERS) -> None:
        self.minutes = minutes
        self.per_user = per_user
        # A user's entry lives `minutes` after their last collage; each item is also checked for its age.
        self._answers: TTLCache[int, deque[SharedAnswer]] | None = (
            TTLCache(maxsize=most_users, ttl=minutes * 60) if minutes > 0 else None
        )

    @property
    def on(self) -> bool:
        return self._answers is not None

    def remember(self, user_id: int, answer: SharedAnswer) -> None:
        """Keep `answer` as `user_id`'s newest (the oldest beyond `per_user` is dropped)."""
        if self._answers is None:
            return
        kept = self._answers.get(user_id) or deque(maxlen=self.per_user)
        kept.appendleft(answer)
        self._answers[user_id] = kept  # re-set: its time to live starts again

    def recent(self, user_id: int, now: float | None = None) -> list[SharedAnswer]:
        """`user_id`'s collages of the last `minutes`, newest first (none for anyone else's id)."""
        if self._answers is None:
            return []
        oldest = (time.time() if now is None else now) - self.minutes * 60
        return [a for a in self._answers.get(user_id) or () if a.sent_at >= oldest]
