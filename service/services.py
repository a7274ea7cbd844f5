"""What every front end shares: the gallery, the face pool, the draw pool, the job table, admission control.

The bot builds it once in `post_init` (kept in `application.bot_data`, see bot/bot_data.py) and closes it
in `post_shutdown`; the Mini App is handed the same object.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from cachetools import TTLCache

from engine.pool import DrawPool, FacePool
from service.albums import Albums
from service.game_table import GameTable
from service.morph_memory import MorphMemory
from service.settings import Settings
from service.shared_answers import SharedAnswers
from store.calibrate import Refitter
from store.gallery import Gallery
from store.games import Games
from store.jobs import Jobs

if TYPE_CHECKING:  # engine.cluster imports distributed: only when a cluster is configured
    from engine.cluster import ClusterPool

Admit = Literal["ok", "busy", "again"]
# Photos fetched or analysed at once per face worker: one analysed, one ready for when it ends
INTAKE_PER_WORKER = 2


class Admission:
    """At most one photo in flight per user, and at most `limit` in flight overall.

    Checked before a photo is downloaded, so memory stays bounded however many arrive: past the limit,
    people are told to come back in a minute instead of being queued. The limit may be a function: with a
    cluster it grows with the workers connected.
    """

    def __init__(self, limit: int | Callable[[], int]) -> None:
        self._limit = limit
        self._users: set[int] = set()

    @property
    def limit(self) -> int:
        """Photos in flight at most, now."""
        return self._limit() if callable(self._limit) else self._limit

    def enter(self, user_id: int) -> Admit:
        if user_id in self._users:
            return "again"
        if len(self._users) >= self.limit:
            return "busy"
        self._users.add(user_id)
        return "ok"

    def leave(self, user_id: int) -> None:
        self._users.discard(user_id)

    @property
    def in_flight(self) -> int:
        return len(self._users)


class Intake:
    """Photos fetched and analysed at most `limit` at a time, in the order they came; the others wait
    their turn (admitted already, so `Admission` bounds how many wait).

    Why: a burst's photos, all fetched at once, interleave their downloads on one event loop, so even the
    first reaches a face worker only once nearly every other is downloaded, and the downloads then
    compete with the analyses for the cores. Taken in turn, the first photo is analysed at once and the
    rest follow as workers free up; twice the workers is enough to keep each busy. The limit may be a
    function: with a cluster it follows the workers connected. Entering while a place is free does not
    yield to the event loop, so a free intake changes no ordering.
    """

    def __init__(self, limit: int | Callable[[], int]) -> None:
        self._limit = limit
        self._active = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def limit(self) -> int:
        """Photos fetched or analysed at once, at most, now (at least 1)."""
        return max(1, self._limit() if callable(self._limit) else self._limit)

    @property
    def active(self) -> int:
        return self._active

    @property
    def waiting(self) -> int:
        return sum(not f.done() for f in self._waiting)

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for a place (first come, first served), hold it for the block, hand it on after."""
        if self._active < self.limit and not self._waiting:
            self._active += 1
        else:
            place = asyncio.get_running_loop().create_future()
            self._waiting.append(place)
            try:
                await place  # `_hand_on` counted this place as active when it woke us
            except asyncio.CancelledError:
                if place.done() and not place.cancelled():  # woken and cancelled at once: pass it on
                    self._leave()
                else:
                    self._waiting.remove(place)
                raise
        try:
            yield
        finally:
            self._leave()

    def _leave(self) -> None:
        self._active -= 1
        while self._waiting and self._active < self.limit:
            place = self._waiting.popleft()
            if not place.done():
                self._active += 1
                place.set_result(None)


class AnswerLog:
    """Selfies answered, counted per hour over the last `hours` (in memory: a restart starts from zero)."""

    def __init__(self, hours: int = 24) -> None:
        self.hours = hours
        self._counts: Counter[int] = Counter()

    def note(self, now: float | None = None) -> None:
        hour = int((time.time() if now is None else now) // 3600)
        self._counts[hour] += 1
        for old in [h for h in self._counts if h <= hour - self.hours]:
            del self._counts[old]

    def per_hour(self, now: float | None = None) -> list[tuple[int, int]]:
        """(start of the hour as a Unix time, answers) for each of the last `hours` hours, oldest first."""
        current = int((time.time() if now is None else now) // 3600)
        return [(h * 3600, self._counts.get(h, 0)) for h in range(current - self.hours + 1, current + 1)]


class LastAnswers:
    """Each user's last #1 celebrity (a name, never a photo or a face), for `minutes`, in memory only.

    A near-tie with the previous answer then goes to it (engine.ranking.keep_previous), so two selfies of
    one person name the same celebrity far more often. Bounded: past `most` users the oldest are dropped.
    `minutes` 0 remembers nothing.
    """

    def __init__(self, minutes: float, most: int = 100_000) -> None:
        self._names: TTLCache[int, str] | None = (
            TTLCache(maxsize=most, ttl=minutes * 60) if minutes > 0 else None
        )

    def recall(self, user_id: int) -> str | None:
        return None if self._names is None else self._names.get(user_id)

    def remember(self, user_id: int, name: str) -> None:
        if self._names is not None:
            self._names[user_id] = name


@dataclass
class Services:
    settings: Settings
    gallery: Gallery
    demo: Gallery
    pool: FacePool | ClusterPool  # analyses: the local pool or a Dask cluster, one interface
    draw: DrawPool  # collages, boards and pairs: never queued behind analyses
    jobs: Jobs
    admission: Admission
    # Photos fetched and analysed a few at a time, in turn (the bot sizes it to its face workers)
    intake: Intake = field(default_factory=lambda: Intake(2 * INTAKE_PER_WORKER))
    # Albums being received, and recent albums' photos for /twins (file ids only): one memory for all.
    albums: Albums[Any] = field(default_factory=Albums)
    refitter: Refitter | None = None  # keeps the gallery's similarity calibration fitted
    # (chat, message) of the selfies the job table took over at start: answered (or given up) from there,
    # so their updates, if Telegram delivers them again, are ignored rather than answered twice.
    resumed: set[tuple[int, int]] = field(default_factory=set)
    answers: AnswerLog = field(default_factory=AnswerLog)  # for the admins' Mini App's Status page
    last_answers: LastAnswers = field(default_factory=lambda: LastAnswers(0))  # private chats' last #1
    # Share: a private chat's recent collages, as Telegram's file ids and captions (never the photos)
    shared: SharedAnswers = field(default_factory=lambda: SharedAnswers(0))
    morphs: MorphMemory = field(default_factory=lambda: MorphMemory(0))  # private answers' Morph buttons
    games: GameTable = field(init=False)  # every group's running round, on the same gallery file

    def __post_init__(self) -> None:
        self.games = GameTable(Games(self.gallery))

    def active_gallery(self) -> Gallery:
        """The real gallery once it has photos; the shipped demo gallery until then."""
        return self.gallery if self.gallery.photo_count else self.demo

    def is_admin(self, user_id: int | None) -> bool:
        """Rights go by Telegram user id, never by chat."""
        return user_id is not None and user_id in self.settings.admin_ids
