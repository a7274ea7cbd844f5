"""PTB's Application, less one set that grows with every user a bot without persistence ever meets."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, Job


class LookalikeApplication(Application):
    """`telegram.ext.Application` for a bot without persistence (this one keeps nothing of its users).

    PTB notes the chat and user id of every update and job "for the next persistence update"; without a
    persistence that update never runs and the two sets are never emptied: about 100 bytes per user and
    chat, forever (found by tracemalloc in the soak, bench/soak.py). With a persistence, PTB's own."""

    def _mark_for_persistence_update(
        self, *, update: object | None = None, job: Job[Any] | None = None
    ) -> None:
        if self.persistence is not None:
            super()._mark_for_persistence_update(update=update, job=job)
