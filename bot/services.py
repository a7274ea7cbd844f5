"""What the handlers share: the gallery, the face pool, the draw pool, the job table, admission control.

Built once in `post_init`, kept in `application.bot_data`, closed in `post_shutdown`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from telegram.ext import CallbackContext

from bot.settings import Settings
from engine.pool import DrawPool, FacePool
from store.gallery import Gallery
from store.jobs import Jobs

Admit = Literal["ok", "busy", "again"]


class Admission:
    """At most one photo in flight per user, and at most `limit` in flight overall.

    Checked before a photo is downloaded, so memory stays bounded however many arrive: past the limit,
    people are told to come back in a minute instead of being queued.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._users: set[int] = set()

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


@dataclass
class Services:
    settings: Settings
    gallery: Gallery
    demo: Gallery
    pool: FacePool  # analyses (any backend with `analyze(data, max_faces)`)
    draw: DrawPool  # collages, boards and pairs: never queued behind analyses
    jobs: Jobs
    admission: Admission
    albums: dict[str, list] = field(default_factory=dict)
    # (chat, message) of the selfies the job table took over at start: answered (or given up) from there,
    # so their updates, if Telegram delivers them again, are ignored rather than answered twice.
    resumed: set[tuple[int, int]] = field(default_factory=set)

    def active_gallery(self) -> Gallery:
        """The real gallery once it has photos; the shipped demo gallery until then."""
        return self.gallery if self.gallery.photo_count else self.demo

    def is_admin(self, user_id: int | None) -> bool:
        """Rights go by Telegram user id, never by chat."""
        return user_id is not None and user_id in self.settings.admin_ids


def services(context: CallbackContext) -> Services:
    return context.application.bot_data["services"]
