"""Durable jobs: a selfie accepted but not yet answered survives a crash as one small row.

A row holds what is needed to answer again — chat, message, user, Telegram's file id, language — and
never the photo's bytes or its embedding. It is deleted as soon as the answer is sent.

When the gallery's disk is full or read-only, no row can be written: the selfie is still answered, but
without the promise (a crash meanwhile loses it). That is logged when it starts and when it ends, and
`durable` says it (for /stats and the start-up line). Unanswered rows of a read-only gallery are not
resumed: they could never be marked done, and would be answered again at every start.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from store.gallery import Gallery
from store.gallery_file import GalleryFault

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a photo that failed this often across restarts is dropped, not retried forever


@dataclass(frozen=True)
class Job:
    id: int
    chat_id: int
    message_id: int
    user_id: int
    file_id: str
    language: str
    attempts: int


class Jobs:
    """The `job` table of the gallery file (its writes go through the gallery's: `Gallery.write`)."""

    def __init__(self, gallery: Gallery) -> None:
        self._gallery = gallery
        self._db = gallery.db
        self.durable = not gallery.read_only  # whether the last accepted selfie could be recorded

    def _lost(self, error: GalleryFault) -> None:
        """A row could not be written: say so once, when durability is lost."""
        if self.durable:
            log.warning("selfies are answered without a durable job until the disk allows it: %s", error)
        self.durable = False

    def _kept(self) -> None:
        if not self.durable:
            log.info("selfies are recorded as durable jobs again")
        self.durable = True

    async def add(
        self, chat_id: int, message_id: int, user_id: int, file_id: str, language: str
    ) -> tuple[int | None, bool]:
        """Record an accepted selfie; returns the job id and whether the row is new (False: this message
        was recorded before, e.g. Telegram delivered its update again — it is answered from that row).
        The id is None when the disk refused the row: the selfie is answered all the same."""
        try:
            job_id, created = await self._add(chat_id, message_id, user_id, file_id, language)
        except GalleryFault as exc:
            self._lost(exc)
            return None, True
        self._kept()
        return job_id, created

    async def _add(
        self, chat_id: int, message_id: int, user_id: int, file_id: str, language: str
    ) -> tuple[int, bool]:
        inserted = await self._gallery.write(
            "INSERT INTO job (chat_id, message_id, user_id, file_id, language, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (chat_id, message_id) DO NOTHING RETURNING id",
            (chat_id, message_id, user_id, file_id, language, time.time()),
        )
        if inserted:
            return int(inserted[0][0]), True
        sql = "SELECT id FROM job WHERE chat_id = ? AND message_id = ?"
        [(job_id,)] = await self._db.execute_fetchall(sql, (chat_id, message_id))
        return int(job_id), False

    async def done(self, job_id: int | None) -> None:
        """The answer was sent (or the job given up): forget it. (None: it was never recorded.) A row the
        disk does not let go is answered again after a restart, at most MAX_ATTEMPTS times."""
        if job_id is None:
            return
        try:
            await self._gallery.write("DELETE FROM job WHERE id = ?", (job_id,))
        except GalleryFault as exc:
            self._lost(exc)

    async def attempt(self, job_id: int) -> None:
        """Count one more try (done before retrying after a restart)."""
        try:
            await self._gallery.write("UPDATE job SET attempts = attempts + 1 WHERE id = ?", (job_id,))
        except GalleryFault as exc:
            self._lost(exc)

    async def pending(self) -> list[Job]:
        """Unanswered jobs, oldest first (none from a read-only gallery: they could not be marked done)."""
        if self._gallery.read_only:
            async with self._db.execute("SELECT COUNT(*) FROM job") as cursor:
                row = await cursor.fetchone()
            if row and row[0]:
                log.warning("%s unanswered selfies of the read-only gallery are not resumed", row[0])
            return []
        sql = "SELECT id, chat_id, message_id, user_id, file_id, language, attempts FROM job ORDER BY id"
        async with self._db.execute(sql) as cursor:
            return [Job(*row) async for row in cursor]
