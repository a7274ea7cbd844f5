"""The Morph button under a private answer, and /morph sent as a reply to one: Telegram in and out.

Which offer, whose it is, and the morph itself are service/morphs.py's. A press is always answered
(answerCallbackQuery), before the drawing starts. A morph is only ever sent to its owner's private chat;
a press by someone else (in a group, on a forwarded copy) gets only a short line on the presser's own
screen (the callback's answer): nothing of the face, and nothing posted to the chat.
"""

from __future__ import annotations

import logging

from telegram import Bot, CallbackQuery, Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.bot_data import services
from bot.chat import TelegramChat, language_of
from bot.keyboards import MORPH_PREFIX, morph_key
from bot.telegram_io import reply_to, showing_work, with_retries
from service.morph_memory import MorphOffer
from service.morph_texts import morph_texts
from service.morphs import Fetch, MorphAnswer, draw_morph, offer_for, refusal_line
from service.photo_ref import PhotoRef
from service.photos import Refused

log = logging.getLogger(__name__)


async def on_morph_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press of an answer's Morph button (callback data `morph:KEY`). The morph only ever goes to its
    owner's private chat (a copy of the answer pressed elsewhere by its owner included)."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    language = language_of(update)
    offer = offer_for(services(context), (query.data or "").removeprefix(MORPH_PREFIX), user.id)
    message = query.message if isinstance(query.message, Message) else None
    in_own_chat = message is not None and message.chat_id == user.id
    reply_id = message.message_id if message is not None and in_own_chat else None
    if isinstance(offer, MorphOffer):
        await _answer_press(query)  # before the drawing: Telegram shows a spinner on the button until then
        await _morph(context, offer, language, user.id, reply_id)
        return
    if in_own_chat and offer != "not_yours":  # "send your selfie again": a line in the user's own chat
        await _answer_press(query)
        await _send(context, user.id, reply_id, MorphAnswer(refusal_line(language, offer)))
        return
    # Anywhere else, or someone else's: said only to the presser, on their screen; nothing is posted.
    await _answer_press(query, refusal_line(language, offer))


async def _answer_press(query: CallbackQuery, line: str | None = None) -> None:
    """answerCallbackQuery (with `line` as an alert on the presser's screen). A press answered too late
    (Telegram gives up on it after a while) is still served: the refusal is only logged."""
    try:
        await query.answer(line, show_alert=line is not None)
    except BadRequest as exc:
        log.info("a Morph press could not be answered any more: %s", exc)


async def on_morph_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/morph as a reply to one of the bot's answers: that answer's morph, sent to its owner's private chat;
    anything else: how to use it."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    language = language_of(update)
    svc = services(context)
    if not svc.morphs.on:
        await message.reply_text(refusal_line(language, "off"))
        return
    replied = message.reply_to_message
    key = morph_key(replied.reply_markup) if replied is not None else None
    if key is None:
        await message.reply_text(morph_texts(language).usage.format(minutes=svc.morphs.minutes))
        return
    offer = offer_for(svc, key, user.id)
    if not isinstance(offer, MorphOffer):
        await message.reply_text(refusal_line(language, offer))
        return
    # The owner's own face goes to the owner's private chat only, wherever /morph was sent.
    in_own_chat = message.chat_id == user.id
    await _morph(context, offer, language, user.id, message.message_id if in_own_chat else None)


async def _morph(
    context: ContextTypes.DEFAULT_TYPE, offer: MorphOffer, language: str, chat_id: int, reply_id: int | None
) -> None:
    """Draw the offer's morph (showing "sending photo…" meanwhile) and send it, or why not, as a reply."""
    async with showing_work(context.bot, chat_id, ChatAction.UPLOAD_PHOTO):
        answer = await draw_morph(services(context), offer, language, _fetcher(context.bot, chat_id))
    await _send(context, chat_id, reply_id, answer)


def _fetcher(bot: Bot, chat_id: int) -> Fetch:
    """The selfie's bytes from Telegram again, for the press; any Telegram fault (after the retries) is a
    photo that cannot be had: the press is told the morph failed, never left without a word."""
    chat = TelegramChat(bot, chat_id)

    async def fetch(ref: PhotoRef) -> bytes:
        try:
            return await chat.fetch(ref)
        except TelegramError as exc:
            log.warning("a morph's selfie could not be fetched: %s", type(exc).__name__)
            raise Refused("unreadable") from None

    return fetch


async def _send(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, reply_id: int | None, answer: MorphAnswer
) -> None:
    """The morph with its caption, or the one line (a reply to `reply_id`, if given); dropped if the user
    blocked the bot."""
    bot = context.bot
    reply = reply_to(reply_id) if reply_id is not None else None
    photo = answer.photo
    try:
        if photo is None:
            await with_retries(
                lambda: bot.send_message(chat_id, answer.text, reply_parameters=reply), "sendMessage"
            )
        else:
            await with_retries(
                lambda: bot.send_photo(chat_id, photo, caption=answer.text, reply_parameters=reply),
                "sendPhoto",
            )
    except Forbidden:
        log.info("chat %s blocked the bot; dropping its morph", chat_id)
