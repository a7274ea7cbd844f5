"""/start, /help, /privacy, and short hints for anything the bot cannot use."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.bot_data import services
from bot.chat import language_of
from bot.handlers.share import sharing
from service.morph_texts import morph_texts
from service.texts import Texts, texts


def texts_for(update: Update) -> Texts:
    """The texts in the user's Telegram language (Korean for ko, English otherwise)."""
    return texts(language_of(update))


async def reply(update: Update, text: str) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(text)


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    await reply(update, texts_for(update).start.format(name=user.first_name if user else ""))


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    text = texts_for(update).help.format(celebrities=svc.active_gallery().celebrity_count)
    if svc.morphs.on:
        text += "\n\n" + morph_texts(language_of(update)).help.format(minutes=svc.morphs.minutes)
    await reply(update, text)


async def on_privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    t = texts_for(update)
    minutes = services(context).settings.lookalike_remember_minutes
    memory = f"\n\n{t.privacy_memory.format(minutes=minutes)}" if minutes > 0 else ""
    share_minutes = services(context).settings.lookalike_share_minutes
    if sharing(context.application):
        memory += f"\n\n{t.privacy_share.format(minutes=share_minutes)}"
    morph_minutes = services(context).settings.lookalike_morph_minutes
    if morph_minutes > 0:
        memory += f"\n\n{morph_texts(language_of(update)).privacy.format(minutes=morph_minutes)}"
    await reply(update, t.privacy + memory)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Plain text (or an unknown command) in a private chat."""
    await reply(update, texts_for(update).hint_text)


async def on_other_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, videos, voice notes … in a private chat."""
    await reply(update, texts_for(update).hint_media)
