"""/admin: a button that opens the admins' Mini App (bot/webapp), in a private chat."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, WebAppInfo
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.bot_data import services
from bot.handlers.admin import admins_only
from bot.handlers.info import reply, texts_for


@admins_only
async def on_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer an admin with the Mini App's button (Telegram allows Web App buttons in private chats only)."""
    t = texts_for(update)
    url = services(context).settings.web_app_url
    chat = update.effective_chat
    message = update.effective_message
    if url is None:
        await reply(update, t.admin_app_not_configured)
        return
    if chat is None or chat.type != ChatType.PRIVATE or message is None:
        await reply(update, t.admin_app_private_only)
        return
    button = InlineKeyboardButton(t.admin_app_button, web_app=WebAppInfo(url))
    await message.reply_text(t.admin_app, reply_markup=InlineKeyboardMarkup([[button]]))
