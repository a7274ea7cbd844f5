"""Inline keyboards' callbacks: callback_query updates and answerCallbackQuery.

A part of `FakeBotAPI` (tests.botapi.server): its state lives in `FakeBotAPI.__init__`."""

from __future__ import annotations

import secrets

from tests.botapi.model import CALLBACK_TEXT_LIMIT, JSONDict, User, _bad_request
from tests.botapi.wire import Call


class InlineMixin:
    """Inline keyboards' callbacks: callback_query updates and answerCallbackQuery."""

    def press_button(self, user: User, message: JSONDict, data: str) -> str:
        """The user presses an inline button of the bot's `message`; returns the callback query id."""
        return self._call_in_loop(self._post_callback_query, user, message, data)

    def _post_callback_query(self, user: User, message: JSONDict, data: str) -> str:
        self._remember_user(user)
        chat_id = message["chat"]["id"]
        current = self._messages.get((chat_id, message["message_id"]), message)
        query_id = str(secrets.randbits(62))
        query = {
            "id": query_id,
            "from": user.to_dict(),
            "message": current,
            "chat_instance": str(abs(chat_id) * 7919 + self.bot_id),
            "data": data,
        }
        self._callback_ids.add(query_id)
        self._push_update("callback_query", query)
        return query_id

    def _answer_callback_query(self, call: Call) -> bool:
        query_id = call.text("callback_query_id") or ""
        if query_id not in self._callback_ids:
            raise _bad_request("query is too old and response timeout expired or query ID is invalid")
        if len(call.text("text") or "") > CALLBACK_TEXT_LIMIT:
            raise _bad_request("MESSAGE_TOO_LONG")
        self._callback_ids.discard(query_id)
        return True
