"""A Telegram chat as the application layer sees it (service.photos.Chat): fetching a file, the "sending
photo…" indicator, sending the answer; and the one place a Telegram user's language is read."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

from telegram import Bot, Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.keyboards import private_answer_keyboard
from bot.telegram_io import download, reply_to, showing_work, with_retries
from service.photos import Answer, PhotoRef, Refused, refusal_text
from service.texts import texts

log = logging.getLogger(__name__)
T = TypeVar("T")


def language_of(update: Update) -> str:
    """The user's Telegram language code ("" when Telegram does not say): kept with jobs and rounds."""
    user = update.effective_user
    return (user.language_code if user else None) or ""


class TelegramChat:
    """One chat, lent to the application layer for one request: `reply_to_id` is the message answered,
    `language` the user's (for the words of a private answer's buttons); `share`: a private collage carries
    the Share button; `on_collage`: called with the collage as Telegram sent it (its file id is what Share
    offers later)."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        reply_to_id: int | None = None,
        action: str = ChatAction.UPLOAD_PHOTO,
        language: str = "",
        share: bool = False,
        on_collage: Callable[[Message], None] | None = None,
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.reply_to_id = reply_to_id
        self.action = action
        self.language = language
        self.share = share
        self.on_collage = on_collage

    async def fetch(self, ref: PhotoRef) -> bytes:
        """The file's bytes; Telegram's refusal of a file becomes `Refused` (other faults propagate)."""
        try:
            return await download(self.bot, ref.file_id)
        except BadRequest as exc:
            # "file is too big" (over 20 MB) or a file id that has expired
            raise Refused("too_large" if "too big" in str(exc).lower() else "unreadable") from None

    def working(self) -> AbstractAsyncContextManager[None]:
        return showing_work(self.bot, self.chat_id, self.action)

    async def deliver(self, answer: Answer) -> bool:
        """Send the answer as a reply; False if the user blocked the bot."""
        try:
            await self._send(answer)
        except Forbidden:
            log.info("chat %s blocked the bot; dropping its answer", self.chat_id)
            return False
        return True

    async def _send(self, answer: Answer) -> None:
        bot, chat_id = self.bot, self.chat_id
        reply = reply_to(self.reply_to_id) if self.reply_to_id is not None else None
        if answer.photo is None:
            await with_retries(
                lambda: bot.send_message(chat_id, answer.text, reply_parameters=reply), "sendMessage"
            )
            return
        photo = answer.photo
        # A private chat's id is its user's (positive); groups' are negative.
        keyboard = private_answer_keyboard(answer, self.language, self.share) if chat_id > 0 else None
        sent = await with_retries(
            lambda: bot.send_photo(
                chat_id, photo, caption=answer.text, reply_parameters=reply, reply_markup=keyboard
            ),
            "sendPhoto",
        )
        if self.on_collage is not None:
            self.on_collage(sent)


async def admitted(update: Update, work: Awaitable[T]) -> tuple[bool, T]:
    """Run the layer's photo work for a chat message; on a refusal, reply with its words and return
    (False, None). A Telegram fault fetching the photo is answered as an unreadable photo."""
    t = texts(language_of(update))
    try:
        return True, await work
    except Refused as exc:
        code = exc.code
    except TelegramError:
        code = "unreadable"
    if update.effective_message is not None:
        await update.effective_message.reply_text(refusal_text(t, code))
    return False, None  # type: ignore[return-value]
