"""The user side: people sending messages, photos, albums and files; what a test can inspect.

A part of `FakeBotAPI` (tests.botapi.server): its state lives in `FakeBotAPI.__init__`."""

from __future__ import annotations

from collections.abc import Callable

from tests.botapi.images import _VIDEO_BYTES, _sticker_bytes, reencode_photo
from tests.botapi.model import _LOGGER, Chat, JSONDict, User
from tests.botapi.text import _caption_content, _utf16_slice, find_entities
from tests.botapi.wire import _chat_id_of, _extension, _scope_key, _snapshot


class UsersMixin:
    """The user side: people sending messages, photos, albums and files; what a test can inspect."""

    def send_text(
        self, user: User, text: str, chat: Chat | None = None, reply_to: JSONDict | None = None
    ) -> JSONDict:
        """The user sends `text`; returns the Message (an update is queued if the bot would get it)."""

        def build() -> JSONDict:
            entities = find_entities(text)
            return {"text": text, "entities": entities} if entities else {"text": text}

        return self._call_in_loop(self._post_user_message, user, chat, build, reply_to, None)

    def send_photo(
        self,
        user: User,
        image_bytes: bytes,
        caption: str | None = None,
        chat: Chat | None = None,
        reply_to: JSONDict | None = None,
        media_group_id: str | None = None,
    ) -> JSONDict:
        """The user sends a photo: re-encoded like Telegram, presented as PhotoSize entries."""
        encoded = reencode_photo(image_bytes)

        def build() -> JSONDict:
            return {"photo": self._register_photo(encoded), **_caption_content(caption)}

        return self._call_in_loop(self._post_user_message, user, chat, build, reply_to, media_group_id)

    def send_album(
        self, user: User, images: list[bytes], caption: str | None = None, chat: Chat | None = None
    ) -> list[JSONDict]:
        """Several photos sharing one media_group_id; only the first carries the caption."""
        media_group_id = self._new_media_group_id()
        return [
            self.send_photo(user, image, caption if index == 0 else None, chat, media_group_id=media_group_id)
            for index, image in enumerate(images)
        ]

    def send_document(
        self,
        user: User,
        data: bytes,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
        chat: Chat | None = None,
        reply_to: JSONDict | None = None,
        media_group_id: str | None = None,
    ) -> JSONDict:
        """The user sends a file: bytes kept as they are (EXIF included)."""

        def build() -> JSONDict:
            extension = _extension(file_name)
            stored = self._register_file(
                data, "document", extension, mime_type=mime_type, file_name=file_name
            )
            return {"document": stored.document_dict(), **_caption_content(caption)}

        return self._call_in_loop(self._post_user_message, user, chat, build, reply_to, media_group_id)

    def send_sticker(
        self, user: User, chat: Chat | None = None, reply_to: JSONDict | None = None
    ) -> JSONDict:
        def build() -> JSONDict:
            stored = self._register_file(_sticker_bytes(), "sticker", "webp", mime_type="image/webp")
            sticker = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
                "emoji": "😀",
                "file_size": stored.size,
            }
            return {"sticker": sticker}

        return self._call_in_loop(self._post_user_message, user, chat, build, reply_to, None)

    def send_video(self, user: User, chat: Chat | None = None, caption: str | None = None) -> JSONDict:
        def build() -> JSONDict:
            stored = self._register_file(_VIDEO_BYTES, "video", "mp4", mime_type="video/mp4")
            video = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": 640,
                "height": 360,
                "duration": 3,
                "mime_type": "video/mp4",
                "file_size": stored.size,
            }
            return {"video": video, **_caption_content(caption)}

        return self._call_in_loop(self._post_user_message, user, chat, build, None, None)

    def _post_user_message(
        self,
        user: User,
        chat: Chat | None,
        build: Callable[[], JSONDict],
        reply_to: JSONDict | None,
        media_group_id: str | None,
    ) -> JSONDict:
        target = chat or user.private_chat
        self._register_sender(user, target)
        content = build()
        if reply_to is not None:
            content["reply_to_message"] = self._reply_snapshot(target, reply_to)
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        message = self._store_message(target, user.to_dict(), content)
        if self._bot_receives(target, message):
            self._push_update("message", message)
        else:
            _LOGGER.debug("privacy mode: the bot does not receive message %s", message["message_id"])
        return message

    def _reply_snapshot(self, chat: Chat, reply_to: JSONDict) -> JSONDict:
        stored = None
        if reply_to.get("chat", {}).get("id") == chat.id:
            stored = self._messages.get((chat.id, reply_to["message_id"]))
        return _snapshot(stored or reply_to)

    def _bot_receives(self, chat: Chat, message: JSONDict) -> bool:
        if chat.is_private or not self.privacy_mode or self.bot_id in self._admins.get(chat.id, []):
            return True
        reply = message.get("reply_to_message") or {}
        if reply.get("from", {}).get("id") == self.bot_id:
            return True
        text = message.get("text") or message.get("caption") or ""
        entities = message.get("entities") or message.get("caption_entities") or []
        return any(self._addresses_bot(text, entity) for entity in entities)

    def _addresses_bot(self, text: str, entity: JSONDict) -> bool:
        fragment = _utf16_slice(text, entity["offset"], entity["length"])
        if entity["type"] == "mention":
            return fragment[1:].lower() == self.bot_username.lower()
        if entity["type"] == "bot_command":
            target = fragment.partition("@")[2]
            return not target or target.lower() == self.bot_username.lower()
        return False

    def _push_update(self, kind: str, payload: JSONDict) -> None:
        self._updates.append({"update_id": self._next_update_id, kind: payload})
        self._next_update_id += 1
        if self._update_signal is not None:
            self._update_signal.fire()

    def _new_media_group_id(self) -> str:
        return str(next(self._media_group_ids))

    @property
    def last_update_id(self) -> int:
        """The id of the latest update made on the user side (so a test can wait for its confirmation)."""
        return self._next_update_id - 1

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by the bot."""
        return list(self._updates)

    def sent_to(self, chat_id: int | User | Chat) -> list[JSONDict]:
        """Everything the bot sent (or edited) in one chat."""
        wanted = _chat_id_of(chat_id)
        return [entry for entry in list(self.sent) if entry["chat_id"] == wanted]

    def calls(self, method: str) -> list[JSONDict]:
        """Recorded requests of one method (case-insensitive; "download" for file downloads)."""
        return [entry for entry in list(self.requests) if entry["method"].lower() == method.lower()]

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """The current state of a stored message (None once deleted)."""
        return self._messages.get((chat_id, message_id))

    def file_bytes(self, file_id: str) -> bytes:
        return self._files[file_id].data

    def commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """The commands set with setMyCommands for a scope (default scope when None)."""
        return list(self._commands.get((_scope_key(scope), language_code), []))
