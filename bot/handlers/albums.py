"""Albums from Telegram: each item arrives as its own update; once no item has come for ALBUM_WAIT seconds
the album is handed to what its caption asks for (service/albums.py decides): /add NAME, /twins, or, in a
private chat, one lookalike answer for all its selfies."""

from __future__ import annotations

from typing import cast

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot.bot_data import services
from bot.handlers import admin, lookalike, twins
from bot.telegram_io import photo_ref
from service.albums import ALBUM_WAIT, purpose


async def on_album_item(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Collect the items of an album; handle the album once no item has come for ALBUM_WAIT seconds."""
    message = update.effective_message
    assert message is not None and message.media_group_id is not None
    album_id = message.media_group_id
    services(context).albums.note(message.chat_id, album_id, photo_ref(message), update)
    job_queue = context.job_queue
    assert job_queue is not None
    name = f"album:{message.chat_id}:{album_id}"
    for job in job_queue.get_jobs_by_name(name):
        job.schedule_removal()
    job_queue.run_once(_flush_album, ALBUM_WAIT, data=(message.chat_id, album_id), name=name)


async def _flush_album(context: ContextTypes.DEFAULT_TYPE) -> None:
    assert context.job is not None
    chat_id, album_id = cast("tuple[int, str]", context.job.data)
    updates: list[Update] = services(context).albums.take(chat_id, album_id)
    items = sorted(
        ((u, u.effective_message) for u in updates if u.effective_message is not None),
        key=lambda pair: pair[1].message_id,
    )
    if not items:
        return
    first, first_message = items[0]
    messages = [m for _, m in items]
    caption = next((m.caption for m in messages if m.caption), "") or ""
    refs = [r for r in (photo_ref(m) for m in messages) if r is not None]
    match purpose(caption, first_message.chat.type == "private"):
        case "add":
            await admin.add_album(first, context, admin.argument(caption), refs)
        case "twins":
            await twins.twins_from(first, context, refs, several_photos=True)
        case "selfies":
            # A selfie album: one answer for all its photos together (steadier than any one of them).
            rest: list[Message] = messages[1:]
            await lookalike.request_from(first, context, first_message, album=rest)
