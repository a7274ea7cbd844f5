"""Editing and deleting the bot's messages.

A part of `FakeBotAPI` (tests.botapi.server): its state lives in `FakeBotAPI.__init__`."""

from __future__ import annotations

import time

from tests.botapi.model import MEDIA_KEYS, NOT_MODIFIED, JSONDict, _bad_request
from tests.botapi.text import _caption_from_call, _message_text
from tests.botapi.wire import Call, _inline_markup


class EditingMixin:
    """Editing and deleting the bot's messages."""

    def _editable_message(self, call: Call) -> JSONDict:
        if call.has("inline_message_id"):
            raise _bad_request("inline messages are not supported by the stand-in server")
        chat_id = call.integer("chat_id")
        message_id = call.integer("message_id")
        if chat_id is None:
            raise _bad_request("chat_id is empty")
        if message_id is None:
            raise _bad_request("message identifier is not specified")
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise _bad_request("message to edit not found")
        if message["from"]["id"] != self.bot_id:
            raise _bad_request("message can't be edited")
        return message

    def _replace_message(self, old: JSONDict, changes: JSONDict, markup: JSONDict | None) -> JSONDict:
        updated = {**old, **changes, "edit_date": int(time.time())}
        updated = {key: value for key, value in updated.items() if value is not None}
        if markup is None:
            updated.pop("reply_markup", None)
        else:
            updated["reply_markup"] = markup
        self._messages[(old["chat"]["id"], old["message_id"])] = updated
        return updated

    def _edit_message_text(self, call: Call) -> JSONDict:
        message = self._editable_message(call)
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        text = _message_text(call.text("text") or "", call.text("parse_mode"))
        markup = _inline_markup(call)
        if text == message["text"] and markup == message.get("reply_markup"):
            raise _bad_request(NOT_MODIFIED)
        return self._record_sent(call, self._replace_message(message, {"text": text}, markup))

    def _edit_message_caption(self, call: Call) -> JSONDict:
        message = self._editable_message(call)
        if not any(key in message for key in MEDIA_KEYS):
            raise _bad_request("there is no caption in the message to edit")
        caption = _caption_from_call(call).get("caption")
        markup = _inline_markup(call)
        if caption == message.get("caption") and markup == message.get("reply_markup"):
            raise _bad_request(NOT_MODIFIED)
        return self._record_sent(call, self._replace_message(message, {"caption": caption}, markup))

    async def _edit_message_media(self, call: Call) -> JSONDict:
        message = self._editable_message(call)
        if not any(key in message for key in MEDIA_KEYS):
            raise _bad_request("there is no media in the message to edit")
        content, raw = await self._media_content(call, call.obj("media"))
        base = {key: value for key, value in message.items() if key not in (*MEDIA_KEYS, "caption")}
        updated = self._replace_message(base, content, _inline_markup(call))
        is_photo = "photo" in content
        return self._record_sent(
            call, updated, photo=raw if is_photo else None, document=None if is_photo else raw
        )

    def _edit_message_reply_markup(self, call: Call) -> JSONDict:
        message = self._editable_message(call)
        markup = _inline_markup(call)
        if markup == message.get("reply_markup"):
            raise _bad_request(NOT_MODIFIED)
        return self._record_sent(call, self._replace_message(message, {}, markup))

    def _delete_message(self, call: Call) -> bool:
        key = (call.integer("chat_id") or 0, call.integer("message_id") or 0)
        if key not in self._messages:
            raise _bad_request("message to delete not found")
        del self._messages[key]
        self.deleted.append(key)
        return True
