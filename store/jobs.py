"""Durable jobs: a selfie accepted but not yet answered survives a crash as one small row.

A row holds what is needed to answer again — chat, message, user, Telegram's file id, language — and
never the photo's bytes or its embedding. It is deleted as soon as the answer is sent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from store.gallery import Gallery

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
    """The `job` table of the gallery file (its writes go through the gallery's transactions)."""

    def __init__(self, gallery: Gallery) -> None:
        self._gallery = gallery
        self._db = gallery.db

    async def add(
        self, chat_id: int, message_id: int, user_id: int, file_id: str, language: str
    ) -> tuple[int, bool]:
        """Record an accepted selfie; returns the job id and whether the row is new (False: this message
        was recorded before, e.g. Telegram delivered its update again — it is answered from that row)."""
        async with self._gallery.transaction() as db:
            async with db.execute(
                "INSERT INTO job (chat_id, message_id, user_id, file_id, language, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (chat_id, message_id) DO NOTHING",
                (chat_id, message_id, user_id, file_id, language, time.time()),
            ) as inserted:
                created = inserted.rowcount == 1
            sql = "SELECT id FROM job WHERE chat_id = ? AND message_id = ?"
            async with db.execute(sql, (chat_id, message_id)) as cursor:
                row = await cursor.fetchone()
        assert row is not None
        return int(row[0]), created

    async def done(self, job_id: int) -> None:
        """The answer was sent (or the job given up): forget it."""
        async with self._gallery.transaction() as db:
            await db.execute("DELETE FROM job WHERE id = ?", (job_id,))

    async def attempt(self, job_id: int) -> None:
        """Count one more try (done before retrying after a restart)."""
        async with self._gallery.transaction() as db:
            await db.execute("UPDATE job SET attempts = attempts + 1 WHERE id = ?", (job_id,))

    async def pending(self) -> list[Job]:
        """Unanswered jobs, oldest first."""
        sql = "SELECT id, chat_id, message_id, user_id, file_id, language, attempts FROM job ORDER BY id"
        async with self._db.execute(sql) as cursor:
            return [Job(*row) async for row in cursor]
