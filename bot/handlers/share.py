"""Share (Telegram inline mode): a private collage's Share button opens the user's chat list, and the
inline query it starts is answered with that user's own recent collages, re-sent by Telegram's file id.

Only private chats' collages are offered (a group photo's face may be someone else's). Inline mode must
be switched on with BotFather's /setinline; the start-up line says whether it is.
"""

from __future__ import annotations

import logging

from telegram import (
    InlineQueryResultCachedPhoto,
    InlineQueryResultsButton,
    Message,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from service.photos import CAPTION_LIMIT
from service.services import Services
from service.shared_answers import SharedAnswer, SharedAnswers
from service.texts import texts

log = logging.getLogger(__name__)

CACHE_SECONDS = 5  # Telegram's cache of an answer: short, so a new collage shows up at the next Share
START_PARAMETER = "share"  # what /start receives from the "no results" button


def shared_answers(application: Application) -> SharedAnswers:
    """The application's memory of shareable collages (`Services.shared`, built in post_init)."""
    svc: Services = application.bot_data["services"]
    return svc.shared


def sharing(application: Application) -> bool:
    """Whether collages are shared: LOOKALIKE_SHARE_MINUTES > 0 and inline mode on (getMe says so);
    without inline mode the button would open a chat list where the bot answers nothing."""
    return shared_answers(application).on and bool(application.bot.supports_inline_queries)


def remember_collage(context: ContextTypes.DEFAULT_TYPE, user_id: int, sent: Message | None) -> None:
    """Keep the file id Telegram gave the collage just sent to `user_id`, with its caption."""
    if sent is None or not sent.photo:
        return
    largest = sent.photo[-1]
    answer = SharedAnswer(largest.file_unique_id, largest.file_id, sent.caption or "", sent.date.timestamp())
    shared_answers(context.application).remember(user_id, answer)


async def on_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any inline query: the asking user's own recent collages (whatever the text), or none and a button
    that opens a private chat with the bot."""
    query = update.inline_query
    if query is None:
        return
    t = texts(query.from_user.language_code)
    recent = shared_answers(context.application).recent(query.from_user.id)
    results = [
        InlineQueryResultCachedPhoto(a.result_id, a.file_id, caption=a.caption[:CAPTION_LIMIT] or None)
        for a in recent
    ]
    button = None if results else InlineQueryResultsButton(t.share_none, start_parameter=START_PARAMETER)
    try:
        await query.answer(results, cache_time=CACHE_SECONDS, is_personal=True, button=button)
    except TelegramError as exc:  # too late (Telegram waits ~10 s) or a stale query: nobody to tell
        log.info("inline query of user %s not answered: %s", query.from_user.id, exc)


def describe_sharing(application: Application) -> str:
    """For the start-up line: whether Share works (inline mode on with BotFather) or why not."""
    if not shared_answers(application).on:
        return "sharing off (LOOKALIKE_SHARE_MINUTES=0)"
    if application.bot.supports_inline_queries:
        return "inline mode on: Share works"
    return "inline mode OFF: Share needs BotFather's /setinline"
