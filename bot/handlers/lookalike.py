"""Lookalike requests from Telegram: which photo a message asks about, handed to the application layer.

In private chats every photo (or image file) is a request; in groups only a photo captioned /lookalike
(or mentioning the bot) and /lookalike sent as a reply to a photo. What happens to the photo (admission,
the durable job, analysis, ranking, the answer or a refusal) is service/photos.py's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot.bot_data import services
from bot.chat import TelegramChat, language_of
from bot.handlers.share import remember_collage, sharing
from bot.telegram_io import PhotoRef, photo_ref
from service.photos import Selfie, answer_selfie, resumed_selfie, selfies_to_resume
from service.texts import texts
from store.jobs import Job


async def serve(
    context: ContextTypes.DEFAULT_TYPE,
    *,
    chat_id: int,
    message_id: int,
    user_id: int,
    ref: PhotoRef,
    language: str,
    album: Sequence[PhotoRef] = (),
) -> None:
    """Answer one selfie (and an album's other selfies with it) in the chat it came from."""
    selfie = Selfie(chat_id, message_id, user_id, [ref, *album], language)
    await answer_selfie(services(context), selfie, answer_chat(context, selfie))


def answer_chat(context: ContextTypes.DEFAULT_TYPE, selfie: Selfie) -> TelegramChat:
    """The chat `selfie`'s answer goes to. A private chat's collage carries its buttons (bot.keyboards)
    and, with sharing on, is remembered as sent for Share (a group's photo may be someone else's face:
    never offered)."""
    share = selfie.private and sharing(context.application)
    if not share:
        return TelegramChat(context.bot, selfie.chat_id, selfie.message_id, language=selfie.language)
    user_id = selfie.user_id
    return TelegramChat(
        context.bot,
        selfie.chat_id,
        selfie.message_id,
        language=selfie.language,
        share=True,
        on_collage=lambda sent: remember_collage(context, user_id, sent),
    )


async def request_from(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    source: Message | None,
    album: Sequence[Message] = (),
) -> None:
    """Serve the photo of `source` (the message itself or the one it replies to), or hint if none.

    `album`: the other items of an album `source` opens, answered together with it."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    ref = photo_ref(source)
    if ref is None:
        t = texts(language_of(update))
        await message.reply_text(t.group_hint if message.chat.type != "private" else t.hint_text)
        return
    await serve(
        context,
        chat_id=message.chat_id,
        message_id=message.message_id,
        user_id=user.id,
        ref=ref,
        language=language_of(update),
        album=[r for r in (photo_ref(m) for m in album) if r is not None],
    )


async def on_private_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo or a file sent in a private chat."""
    message = update.effective_message
    ref = photo_ref(message)
    if message is not None and ref is not None and ref.is_zip:
        await message.reply_text(texts(language_of(update)).import_usage)
        return
    await request_from(update, context, message)


async def on_lookalike_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/lookalike as a reply to a photo (or on its own: a hint)."""
    message = update.effective_message
    await request_from(update, context, message.reply_to_message if message else None)


async def on_group_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group photo addressed to the bot: captioned /lookalike or mentioning it. Others are ignored."""
    message = update.effective_message
    if message is None or not addressed_to_bot(message.caption or "", context.bot.username):
        return
    await request_from(update, context, message)


def addressed_to_bot(caption: str, username: str | None) -> bool:
    """True for a caption that starts with /lookalike (optionally @this_bot) or mentions @this_bot."""
    name = re.escape(username or "")
    if re.match(rf"^/lookalike(@{name})?(\s|$)", caption, re.IGNORECASE):
        return True
    return bool(username) and re.search(rf"@{name}\b", caption, re.IGNORECASE) is not None


async def resume_jobs(context: ContextTypes.DEFAULT_TYPE) -> None:
    """After a restart: answer every selfie that was accepted but not answered.

    Called from post_init, before the application runs: the answers are scheduled on the job queue, which
    starts them once it runs and waits for them on a clean stop (tasks made now would be neither).
    """
    job_queue = context.application.job_queue
    assert job_queue is not None
    for job in await selfies_to_resume(services(context)):
        job_queue.run_once(_resume_job, 0, data=job, name=f"resume-job-{job.id}")


async def _resume_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    assert context.job is not None
    job: Job = context.job.data  # type: ignore[assignment]
    selfie = resumed_selfie(job)
    await answer_selfie(services(context), selfie, answer_chat(context, selfie))
