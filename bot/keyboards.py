"""The one place a private answer's buttons are made: one row under the collage.

Each button is added here, by what the answer offers (Share, when collages are shared; Morph, when the
answer kept the user's face for it), so that every button a private answer gets lives side by side in one row.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from service.morph_texts import morph_texts
from service.photos import Answer
from service.texts import texts

MORPH_PREFIX = "morph:"  # callback data: the prefix and the offer's key (service.morph_memory)


def private_answer_keyboard(answer: Answer, language: str, share: bool) -> InlineKeyboardMarkup | None:
    """A private answer, the user's language and whether collages are shared in; its row of buttons out
    (None: no button). Share opens the user's chat list with the bot's inline query typed."""
    row = []
    if share:
        row.append(InlineKeyboardButton(texts(language).share_button, switch_inline_query=""))
    if answer.morph is not None:
        row.append(
            InlineKeyboardButton(morph_texts(language).button, callback_data=MORPH_PREFIX + answer.morph)
        )
    return InlineKeyboardMarkup([row]) if row else None


def morph_key(markup: InlineKeyboardMarkup | None) -> str | None:
    """The offer key of a message's Morph button (None: the message has none)."""
    for row in markup.inline_keyboard if markup is not None else ():
        for button in row:
            data = button.callback_data
            if isinstance(data, str) and data.startswith(MORPH_PREFIX):
                return data.removeprefix(MORPH_PREFIX)
    return None
