"""The error handler: log the unexpected once (one line, token redacted by the log filter) and tell the
user something went wrong — never a traceback to them."""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, TelegramError
from telegram.ext import ContextTypes

from bot.handlers.info import texts_for
from service.services import Services
from store.gallery_file import GalleryDiskFull, GalleryFault

log = logging.getLogger("bot.errors")


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    if isinstance(error, NetworkError) and not isinstance(update, Update):
        # Polling hiccups: PTB retries getUpdates by itself.
        log.warning("network trouble while polling: %s", error)
        return
    if isinstance(error, GalleryFault):  # any change refused by a full or read-only disk: one line each
        log.warning("%s", error)
        if isinstance(update, Update) and update.effective_message is not None:
            with contextlib.suppress(TelegramError):
                await update.effective_message.reply_text(disk_fault_text(update, context, error))
        return
    log.error(
        "unhandled %s while handling an update: %s",
        type(error).__name__,
        error,
        exc_info=error if log.isEnabledFor(logging.DEBUG) else None,
    )
    if (
        isinstance(update, Update)
        and update.effective_message is not None
        and not isinstance(error, Forbidden)
    ):
        with contextlib.suppress(TelegramError):
            await update.effective_message.reply_text(texts_for(update).failed)


def disk_fault_text(update: Update, context: ContextTypes.DEFAULT_TYPE, error: GalleryFault) -> str:
    """The one line for a change the gallery's disk refused: what is wrong for an admin, who can fix the
    disk; for anyone else (a player's /game or /endgame), only that it did not go through."""
    t = texts_for(update)
    svc: Services | None = context.application.bot_data.get("services")  # None before post_init
    user = update.effective_user
    if svc is None or user is None or not svc.is_admin(user.id):
        return t.gallery_paused
    return t.gallery_disk_full if isinstance(error, GalleryDiskFull) else t.gallery_read_only
