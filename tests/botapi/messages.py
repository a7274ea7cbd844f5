"""Messages and files the bot sends: sendMessage, sendPhoto, sendDocument, sendMediaGroup, getFile.

A part of `FakeBotAPI` (tests.botapi.server): its state lives in `FakeBotAPI.__init__`."""

from __future__ import annotations

import asyncio
import io
import secrets
import time
from collections.abc import Callable
from functools import cache
from typing import Any

from PIL import Image

from tests.botapi.images import EncodedPhoto, _checked_size, _fitted, _flatten_to_rgb, _resized_jpeg
from tests.botapi.inline import check_keyboard_buttons
from tests.botapi.model import (
    _FILE_FOLDER,
    _FILE_ID_PREFIX,
    CHAT_ACTIONS,
    DOWNLOAD_LIMIT,
    PHOTO_MAX_SIDE,
    PHOTO_SMALL_SIDE,
    PHOTO_UPLOAD_LIMIT,
    ApiError,
    Chat,
    JSONDict,
    StoredFile,
    Upload,
    _bad_request,
)
from tests.botapi.text import _bot_caption, _caption_from_call, _message_text
from tests.botapi.wire import Call, _check_web_app_buttons, _extension, _inline_markup, _snapshot


class MessagesMixin:
    """Messages and files the bot sends: sendMessage, sendPhoto, sendDocument, sendMediaGroup, getFile."""

    def _get_file(self, call: Call) -> JSONDict:
        stored = self._files.get(call.text("file_id") or "")
        if stored is None:
            raise _bad_request("invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            raise _bad_request("file is too big")
        return stored.file_dict()

    def _target_chat(self, call: Call) -> Chat:
        """The chat the bot writes to, with Telegram's checks (unknown, not started, blocked)."""
        if not call.has("chat_id"):
            raise _bad_request("chat_id is empty")
        try:
            chat_id = int(call.params["chat_id"])
        except (TypeError, ValueError):
            raise _bad_request("chat not found") from None
        chat = self._chats.get(chat_id)
        if chat is None and chat_id in self._users:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        if chat is None:
            raise _bad_request("chat not found")
        if chat.is_private and chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _known_chat(self, call: Call) -> Chat:
        chat = self._chats.get(call.integer("chat_id") or 0)
        if chat is None:
            raise _bad_request("chat not found")
        return chat

    def _reply_target(self, call: Call, chat: Chat) -> JSONDict | None:
        parameters = call.obj("reply_parameters")
        if isinstance(parameters, dict):
            message_id = parameters.get("message_id")
            target_chat = parameters.get("chat_id", chat.id)
            allow_missing = bool(parameters.get("allow_sending_without_reply"))
        elif call.has("reply_to_message_id"):
            message_id = call.integer("reply_to_message_id")
            target_chat = chat.id
            allow_missing = call.flag("allow_sending_without_reply")
        else:
            return None
        try:
            original = self._messages.get((int(target_chat), int(str(message_id))))
        except (TypeError, ValueError):
            original = None
        if original is None and not allow_missing:
            raise _bad_request("message to be replied not found")
        return _snapshot(original) if original else None

    def _bot_message(
        self, call: Call, chat: Chat, content: JSONDict, *, reply: JSONDict | None = None
    ) -> JSONDict:
        extras: JSONDict = {}
        if reply is not None:
            extras["reply_to_message"] = reply
        markup = _inline_markup(call)
        if markup is not None:
            check_keyboard_buttons(markup)
            _check_web_app_buttons(markup, chat)
            extras["reply_markup"] = markup
        return self._store_message(chat, self.bot_user, {**content, **extras})

    def _store_message(self, chat: Chat, sender: JSONDict, content: JSONDict) -> JSONDict:
        message_id = self._last_message_id.get(chat.id, 0) + 1
        self._last_message_id[chat.id] = message_id
        message = {
            "message_id": message_id,
            "from": sender,
            "chat": chat.to_dict(),
            "date": int(time.time()),
            **content,
        }
        self._messages[(chat.id, message_id)] = message
        return message

    def _record_sent(
        self, call: Call, message: JSONDict, *, photo: bytes | None = None, document: bytes | None = None
    ) -> JSONDict:
        reply = message.get("reply_to_message") or {}
        entry = {
            "method": call.method,
            "chat_id": message["chat"]["id"],
            "message_id": message["message_id"],
            "text": message.get("text"),
            "caption": message.get("caption"),
            "photo": photo,
            "document": document,
            "file_name": (message.get("document") or {}).get("file_name"),
            "reply_to_message_id": reply.get("message_id"),
            "reply_markup": call.obj("reply_markup"),
            "parse_mode": call.text("parse_mode"),
            "message": message,
            "params": call.params,
        }
        self._record(self.sent, entry)
        return message

    def _send_message(self, call: Call) -> JSONDict:
        chat = self._target_chat(call)
        text = _message_text(call.text("text") or "", call.text("parse_mode"))
        message = self._bot_message(call, chat, {"text": text}, reply=self._reply_target(call, chat))
        return self._record_sent(call, message)

    async def _send_photo(self, call: Call) -> JSONDict:
        chat = self._target_chat(call)
        caption = _caption_from_call(call)
        reply = self._reply_target(call, chat)
        upload = call.upload("photo")
        if upload is not None:
            sizes = await self._photo_from_upload(upload.data)
        else:
            sizes = self._photo_from_reference(call.text("photo"))
        message = self._bot_message(call, chat, {"photo": sizes, **caption}, reply=reply)
        return self._record_sent(call, message, photo=upload.data if upload else None)

    def _send_document(self, call: Call) -> JSONDict:
        chat = self._target_chat(call)
        caption = _caption_from_call(call)
        reply = self._reply_target(call, chat)
        upload = call.upload("document")
        document = self._document_from(upload, call.text("document"))
        message = self._bot_message(call, chat, {"document": document, **caption}, reply=reply)
        return self._record_sent(call, message, document=upload.data if upload else None)

    async def _send_media_group(self, call: Call) -> list[JSONDict]:
        chat = self._target_chat(call)
        media = call.obj("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise _bad_request("media group must contain 2 to 10 items")
        reply = self._reply_target(call, chat)
        media_group_id = self._new_media_group_id()
        prepared = [await self._media_content(call, item) for item in media]
        messages = []
        for content, raw in prepared:
            content["media_group_id"] = media_group_id
            message = self._bot_message(call, chat, content, reply=reply)
            is_photo = "photo" in content
            self._record_sent(
                call, message, photo=raw if is_photo else None, document=None if is_photo else raw
            )
            messages.append(message)
        return messages

    async def _media_content(self, call: Call, item: Any) -> tuple[JSONDict, bytes | None]:
        """Message content for one InputMedia object, and the uploaded bytes if any."""
        if not isinstance(item, dict) or "media" not in item:
            raise _bad_request("media is empty")
        upload = call.attached(item["media"])
        caption = _bot_caption(item.get("caption"), item.get("parse_mode"))
        if item.get("type") == "photo":
            if upload is not None:
                sizes = await self._photo_from_upload(upload.data)
            else:
                sizes = self._photo_from_reference(item["media"])
            return {"photo": sizes, **caption}, upload.data if upload else None
        if item.get("type") == "document":
            return {"document": self._document_from(upload, item["media"]), **caption}, (
                upload.data if upload else None
            )
        raise _bad_request(f"media type {item.get('type')!r} is not supported by the stand-in server")

    async def _photo_from_upload(self, data: bytes) -> list[JSONDict]:
        """A photo the bot sends: checked now, its smaller sizes made only if someone downloads them.

        Telegram's servers re-encode what a bot sends; here that work would share the machine with the
        bot under test (about 55 ms of CPU per collage), and nobody looks at those copies unless a test
        fetches them. So their PhotoSize entries carry no file_size (optional in the Bot API)."""
        if not data:
            raise _bad_request("file must be non-empty")
        if len(data) > PHOTO_UPLOAD_LIMIT:
            raise _bad_request("PHOTO_SAVE_FILE_INVALID")
        try:
            width, height = await asyncio.to_thread(_checked_size, data)
        except Exception:
            raise _bad_request("IMAGE_PROCESS_FAILED") from None
        if width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise _bad_request("PHOTO_INVALID_DIMENSIONS")
        sides = (
            [PHOTO_SMALL_SIDE, PHOTO_MAX_SIDE] if max(width, height) > PHOTO_SMALL_SIDE else [PHOTO_MAX_SIDE]
        )
        decoded = cache(lambda: _flatten_to_rgb(Image.open(io.BytesIO(data))))
        sizes = [
            (_resized_jpeg(decoded, _fitted(width, height, side)), *_fitted(width, height, side))
            for side in sides
        ]
        return self._register_photo(EncodedPhoto(sizes=sizes, original_width=width, original_height=height))

    def _photo_from_reference(self, reference: str | None) -> list[JSONDict]:
        if not reference:
            raise _bad_request("there is no photo in the request")
        if reference.startswith(("http://", "https://")):
            raise _bad_request("failed to get HTTP URL content")
        if reference in self._photo_sets:
            return [dict(size) for size in self._photo_sets[reference]]
        stored = self._files.get(reference)
        if stored is None:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        raise _bad_request(f"can't use file of type {stored.kind.capitalize()} as Photo")

    def _document_from(self, upload: Upload | None, reference: str | None) -> JSONDict:
        if upload is not None:
            if not upload.data:
                raise _bad_request("file must be non-empty")
            name = upload.filename or "document"
            mime_type = upload.content_type or "application/octet-stream"
            stored = self._register_file(
                upload.data, "document", _extension(name), mime_type=mime_type, file_name=name
            )
            return stored.document_dict()
        if not reference:
            raise _bad_request("there is no document in the request")
        if reference.startswith(("http://", "https://")):
            raise _bad_request("failed to get HTTP URL content")
        stored_ref = self._files.get(reference)
        if stored_ref is None:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        if stored_ref.kind != "document":
            raise _bad_request(f"can't use file of type {stored_ref.kind.capitalize()} as Document")
        return stored_ref.document_dict()

    def _register_file(
        self,
        data: bytes | Callable[[], bytes],
        kind: str,
        extension: str,
        *,
        mime_type: str | None = None,
        file_name: str | None = None,
    ) -> StoredFile:
        number = next(self._file_numbers)
        stored = StoredFile(
            file_id=_FILE_ID_PREFIX[kind] + secrets.token_urlsafe(24),
            file_unique_id="AQAD" + secrets.token_urlsafe(9),
            file_path=f"{_FILE_FOLDER[kind]}/file_{number}.{extension}",
            payload=data,
            kind=kind,
            mime_type=mime_type,
            file_name=file_name,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _register_photo(self, encoded: EncodedPhoto) -> list[JSONDict]:
        sizes = []
        for data, width, height in encoded.sizes:
            stored = self._register_file(data, "photo", "jpg", mime_type="image/jpeg")
            size: JSONDict = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
            if stored.ready:
                size["file_size"] = stored.size
            sizes.append(size | {"width": width, "height": height})
        for size in sizes:
            self._photo_sets[size["file_id"]] = sizes
        return [dict(size) for size in sizes]

    def _send_chat_action(self, call: Call) -> bool:
        self._target_chat(call)
        if call.text("action") not in CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True
