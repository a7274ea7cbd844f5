"""People, chats, errors, faults and files of the stand-in Bot API server (plain data, no server)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar

from aiohttp import web

_LOGGER = logging.getLogger(__name__)

JSONDict = dict[str, Any]
Predicate = Callable[[JSONDict], bool]
T = TypeVar("T")

DOWNLOAD_LIMIT = 20 * 1024 * 1024
UPLOAD_LIMIT = 50 * 1024 * 1024
PHOTO_UPLOAD_LIMIT = 10 * 1024 * 1024
PHOTO_MAX_SIDE = 1280
PHOTO_SMALL_SIDE = 320
PHOTO_JPEG_QUALITY = 87
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_TEXT_LIMIT = 200

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a "
    "current content and reply markup of the message"
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
MEDIA_KEYS = ("photo", "document", "video", "sticker", "animation", "audio")
ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
}


# --------------------------------------------------------------------------------------------------
# People and chats


@dataclass(frozen=True)
class User:
    """A simulated Telegram user. Their private chat with the bot has the same id."""

    id: int
    first_name: str
    language_code: str | None = "en"
    username: str | None = None

    def to_dict(self) -> JSONDict:
        data: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    @property
    def private_chat(self) -> Chat:
        return Chat(id=self.id, type="private", first_name=self.first_name, username=self.username)


@dataclass(frozen=True)
class Chat:
    """A chat as Telegram describes it in ``Message.chat``."""

    id: int
    type: str = "private"
    title: str | None = None
    first_name: str | None = None
    username: str | None = None

    def to_dict(self) -> JSONDict:
        data: JSONDict = {"id": self.id, "type": self.type}
        for key in ("title", "first_name", "username"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data

    @property
    def is_private(self) -> bool:
        return self.type == "private"


def group(chat_id: int, title: str, type: str = "supergroup") -> Chat:
    """A group chat; ids are negative (supergroups look like -100xxxxxxxxxx)."""
    if chat_id >= 0:
        raise ValueError(f"group chat ids are negative, got {chat_id}")
    if type not in ("group", "supergroup"):
        raise ValueError(f"group type must be 'group' or 'supergroup', got {type!r}")
    return Chat(id=chat_id, type=type, title=title)


# --------------------------------------------------------------------------------------------------
# Errors, faults, files


def _default_description(status: int, retry_after: int | None) -> str:
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return f"Too Many Requests: retry after {retry_after}"
    named = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 500: "Internal Server Error"}
    if status in named:
        return named[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Error {status}"


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, status: int, description: str | None = None, retry_after: int | None = None):
        self.status = status
        self.description = description or _default_description(status, retry_after)
        self.retry_after = retry_after
        super().__init__(self.description)

    def to_response(self) -> web.Response:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return web.json_response(body, status=self.status)


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass
class Fault:
    """An injected failure for the next `remaining` calls of one method."""

    status: int | None
    retry_after: int | None
    delay: float
    drop: bool
    remaining: int

    def describe(self) -> str:
        parts = [f"delay={self.delay}"] if self.delay else []
        if self.drop:
            parts.append("drop")
        elif self.status is not None:
            parts.append(f"status={self.status}")
        return ",".join(parts)


@dataclass(frozen=True)
class StoredFile:
    """A file the server can serve: what getFile describes and the download returns.

    `payload` is the bytes, or a function making them the first time they are needed (the sizes of a
    photo the bot sent: see `_photo_from_upload`)."""

    file_id: str
    file_unique_id: str
    file_path: str
    payload: bytes | Callable[[], bytes]
    kind: str
    mime_type: str | None = None
    file_name: str | None = None

    @property
    def data(self) -> bytes:
        return self.payload if isinstance(self.payload, bytes) else self.payload()

    @property
    def ready(self) -> bool:
        """Whether the bytes exist yet (their size is known)."""
        return isinstance(self.payload, bytes)

    @property
    def size(self) -> int:
        return len(self.data)

    def file_dict(self) -> JSONDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }

    def document_dict(self) -> JSONDict:
        data: JSONDict = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_name:
            data["file_name"] = self.file_name
        if self.mime_type:
            data["mime_type"] = self.mime_type
        data["file_size"] = self.size
        return data


@dataclass(frozen=True)
class Upload:
    """One file part of a multipart request."""

    data: bytes
    filename: str | None
    content_type: str | None


_FILE_ID_PREFIX = {
    "photo": "AgACAgIAAxkBAAI",
    "document": "BQACAgIAAxkBAAI",
    "sticker": "CAACAgIAAxkBAAI",
    "video": "BAACAgIAAxkBAAI",
}
_FILE_FOLDER = {"photo": "photos", "document": "documents", "sticker": "stickers", "video": "videos"}
