"""A stand-in Telegram Bot API server for end-to-end tests and benchmarks.

`FakeBotAPI` is a small aiohttp web server that speaks the Bot API wire format the way
python-telegram-bot (v22) uses it, so the real bot `Application` can run against it over real HTTP:

    app = (
        ApplicationBuilder().token(TOKEN).base_url(api.base_url).base_file_url(api.base_file_url).build()
    )

What it covers
--------------
* Methods are POSTs to ``{base_url}{token}/{method}`` (form-encoded, multipart or JSON bodies; method
  names are case-insensitive). Answers are ``{"ok": true, "result": ...}``; errors are
  ``{"ok": false, "error_code": N, "description": "...", "parameters": {"retry_after": S}}`` with the
  HTTP status equal to ``error_code``. A wrong token answers 401, an unknown method 404.
* File downloads are GETs of ``{base_file_url}{token}/{file_path}`` (the token may be URL-quoted).
* getUpdates is real long polling with Telegram's delivery rule: update ids increase; a call with
  ``offset`` N confirms (forgets) every update below N, for every client; unconfirmed updates are
  delivered again. A second concurrent getUpdates terminates the first with 409 Conflict.
* Messages the bot sends come back as realistic Message objects (per-chat message ids, ``from`` = the
  bot, ``reply_to_message``, photos as PhotoSize lists whose files can be fetched back with getFile).
  ``parse_mode`` is validated and the markup stripped from the returned text.
* The user side (`send_text`, `send_photo`, `send_album`, `send_document`, `send_sticker`,
  `send_video`, `press_button`) builds updates like Telegram: photos are re-encoded as EXIF-less JPEG
  (longest side <= 1280, plus a ~320 px size), documents keep their bytes, commands and mentions get
  entities with UTF-16 offsets, albums share a ``media_group_id`` with the caption on the first item.
* Privacy mode (the default for bots): in groups the bot only receives commands (bare or addressed to
  it), mentions of it and replies to its messages, unless it is a group admin or
  ``privacy_mode=False``.
* Recording (`sent`, `requests`, `deleted`) and waiting (`wait_for_sent`, `wait_for_request`, sync
  variants for thread mode), and fault injection (`inject`: HTTP errors, 429 with retry_after, delays,
  dropped connections), also for file downloads.

Where it deliberately differs from Telegram
-------------------------------------------
* One bot, one process, everything in memory; updates never expire (Telegram keeps them 24 h).
* Webhooks over plain HTTP only (setWebhook takes any URL; no certificates, no IP checks): while one
  is set, updates are POSTed to it one at a time (with ``X-Telegram-Bot-Api-Secret-Token``) and
  getUpdates answers 409, as Telegram does. No inline mode, payments, channels, topics, or flood
  control (inject 429s instead). Inline messages (``inline_message_id``) are not supported.
* Sending by URL (``photo="https://..."``) is rejected: the stand-in never fetches from the internet.
* Photos get two sizes (<= 320 px and <= 1280 px) instead of Telegram's three or four; JPEG quality
  and therefore byte sizes differ. The sizes of a photo the bot sends are only made (bilinear) when a
  test downloads one, and carry no ``file_size``: that work, Telegram's in production, would otherwise
  share the machine with the bot being measured. File ids are random strings, not Telegram's encoded ids, and every
  upload gets a new ``file_unique_id`` even for identical bytes.
* The markup check is a close approximation of Telegram's parser, and the bot's messages come back
  without formatting entities. Most error descriptions are Telegram's; a few (media group size,
  oversize photo, unsupported features) are approximations.
* Privacy mode treats every bare ``/command`` in a group as meant for this bot (Telegram: only if it
  was the last bot to speak there) and judges album items one by one.
* `getChat` and chat member objects carry only the fields PTB requires.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import html
import inspect
import io
import itertools
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from http import HTTPStatus
from pathlib import PurePosixPath
from typing import Any, TypeVar
from urllib.parse import unquote

from aiohttp import web
from PIL import Image, ImageFile

__all__ = [
    "ApiError",
    "Chat",
    "EncodedPhoto",
    "FakeBotAPI",
    "Fault",
    "StoredFile",
    "User",
    "find_entities",
    "group",
    "reencode_photo",
    "render_markup",
]

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

# Parameters decoded when recorded: numbers, flags and the fields PTB sends as JSON strings.
_INT_FIELDS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "reply_to_message_id",
        "user_id",
        "cache_time",
        "message_thread_id",
        "from_chat_id",
    }
)
_FLOAT_FIELDS = frozenset({"timeout"})
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "allow_sending_without_reply",
        "drop_pending_updates",
        "has_spoiler",
        "disable_content_type_detection",
    }
)
_JSON_FIELDS = frozenset(
    {
        "reply_parameters",
        "reply_markup",
        "commands",
        "scope",
        "media",
        "entities",
        "caption_entities",
        "allowed_updates",
        "link_preview_options",
    }
)


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


# --------------------------------------------------------------------------------------------------
# Text: entities and parse modes


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets and limits."""
    return len(text.encode("utf-16-le")) // 2


def _utf16_slice(text: str, offset: int, length: int) -> str:
    encoded = text.encode("utf-16-le")
    return encoded[2 * offset : 2 * (offset + length)].decode("utf-16-le")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@/])")
_MENTION_RE = re.compile(r"(?<![A-Za-z0-9_@/])@[A-Za-z0-9_]{5,32}(?![A-Za-z0-9_@])")


def find_entities(text: str) -> list[JSONDict]:
    """``bot_command`` and ``mention`` entities as Telegram marks them in a user's text."""
    found = [_entity("bot_command", text, m) for m in _COMMAND_RE.finditer(text)]
    found += [_entity("mention", text, m) for m in _MENTION_RE.finditer(text)]
    return sorted(found, key=lambda entity: entity["offset"])


def _entity(kind: str, text: str, match: re.Match[str]) -> JSONDict:
    return {
        "offset": utf16_len(text[: match.start()]),
        "length": utf16_len(match.group()),
        "type": kind,
    }


def render_markup(text: str, parse_mode: str | None) -> str:
    """The plain text Telegram keeps after parsing `text` with `parse_mode` (raises ApiError 400)."""
    mode = (parse_mode or "").lower()
    if not mode:
        return text
    renderers = {"html": _render_html, "markdownv2": _render_markdown_v2, "markdown": _render_markdown}
    if mode not in renderers:
        raise _bad_request("unsupported parse_mode")
    return renderers[mode](text)


def _entities_error(detail: str) -> ApiError:
    return _bad_request(f"can't parse entities: {detail}")


_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "blockquote",
    }
)
_HTML_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>")


def _render_html(text: str) -> str:
    pieces: list[str] = []
    stack: list[str] = []
    position = 0
    while (start := text.find("<", position)) != -1:
        pieces.append(text[position:start])
        match = _HTML_TAG_RE.match(text, start)
        offset = _byte_offset(text, start)
        name = match.group(2).lower() if match else ""
        if match is None or name not in _HTML_TAGS:
            raise _entities_error(f'Unsupported start tag "{name}" at byte offset {offset}')
        if match.group(1):
            _close_html_tag(stack, name, offset)
        else:
            stack.append(name)
        position = match.end()
    pieces.append(text[position:])
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return html.unescape("".join(pieces))


def _close_html_tag(stack: list[str], name: str, offset: int) -> None:
    if not stack:
        raise _entities_error(f'Unexpected end tag at byte offset {offset}, found "</{name}>"')
    if stack[-1] != name:
        raise _entities_error(
            f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", found "</{name}>"'
        )
    stack.pop()


_MDV2_MARKERS = ("||", "__", "*", "_", "~")
_MDV2_NAMES = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough", "||": "Spoiler"}
_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")


def _render_markdown_v2(text: str) -> str:
    out: list[str] = []
    open_markers: dict[str, int] = {}
    link_start: int | None = None
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif char == "`":
            i = _markdown_code(text, i, out, escapes=True)
        elif marker := next((m for m in _MDV2_MARKERS if text.startswith(m, i)), None):
            _toggle_marker(open_markers, marker, _byte_offset(text, i))
            i += len(marker)
        elif char == "[" and link_start is None:
            link_start = _byte_offset(text, i)
            i += 1
        elif char == "]" and link_start is not None and text.startswith("(", i + 1):
            i = _skip_link_url(text, i + 2)
            link_start = None
        elif char == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # blockquote marker
        elif char in _MDV2_RESERVED or char == "\\":
            raise _entities_error(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        else:
            out.append(char)
            i += 1
    _check_markdown_v2_closed(open_markers, link_start)
    return "".join(out)


def _toggle_marker(open_markers: dict[str, int], marker: str, offset: int) -> None:
    if marker in open_markers:
        del open_markers[marker]
    else:
        open_markers[marker] = offset


def _check_markdown_v2_closed(open_markers: dict[str, int], link_start: int | None) -> None:
    if open_markers:
        marker, offset = min(open_markers.items(), key=lambda item: item[1])
        raise _entities_error(f"Can't find end of {_MDV2_NAMES[marker]} entity at byte offset {offset}")
    if link_start is not None:
        raise _entities_error(f"Can't find end of TextUrl entity at byte offset {link_start}")


def _skip_link_url(text: str, start: int) -> int:
    """Index just past the ')' closing a MarkdownV2 link URL that starts at `start`."""
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == ")":
            return i + 1
        else:
            i += 1
    raise _entities_error(f"Can't find end of TextUrl entity at byte offset {_byte_offset(text, start)}")


def _markdown_code(text: str, start: int, out: list[str], *, escapes: bool) -> int:
    """Append a `code` or ```pre``` span's content to `out`; return the index after it."""
    fence = "```" if text.startswith("```", start) else "`"
    i = start + len(fence)
    while i < len(text) and not text.startswith(fence, i):
        i += 2 if escapes and text[i] == "\\" else 1
    if i >= len(text):
        kind = "Pre" if fence == "```" else "Code"
        offset = _byte_offset(text, start)
        detail = f"Can't find end of {kind} entity at byte offset {offset}"
        raise _entities_error(
            detail if escapes else f"Can't find end of the entity starting at byte offset {offset}"
        )
    body = text[start + len(fence) : i]
    if fence == "```" and "\n" in body and " " not in body.split("\n", 1)[0]:
        body = body.split("\n", 1)[1]  # drop the language name
    out.append(re.sub(r"\\(.)", r"\1", body, flags=re.S) if escapes else body)
    return i + len(fence)


def _render_markdown(text: str) -> str:
    """Telegram's legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and text[i + 1 : i + 2] in ("_", "*", "`", "["):
            out.append(text[i + 1])
            i += 2
        elif char == "`":
            i = _markdown_code(text, i, out, escapes=False)
        elif char in "*_":
            close = text.find(char, i + 1)
            if close == -1:
                offset = _byte_offset(text, i)
                raise _entities_error(f"Can't find end of the entity starting at byte offset {offset}")
            out.append(text[i + 1 : close])
            i = close + 1
        elif char == "[" and (link := re.compile(r"\[([^\]]*)\]\(([^)]*)\)").match(text, i)):
            out.append(link.group(1))
            i = link.end()
        else:
            out.append(char)
            i += 1
    return "".join(out)


# --------------------------------------------------------------------------------------------------
# Images


@dataclass(frozen=True)
class EncodedPhoto:
    """A photo as Telegram stores it: JPEG sizes (bytes, width, height), smallest first."""

    sizes: list[tuple[bytes | Callable[[], bytes], int, int]]
    original_width: int
    original_height: int


def reencode_photo(data: bytes) -> EncodedPhoto:
    """Re-encode like Telegram: EXIF-less JPEG, no rotation applied, longest side <= 1280."""
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        if image.format == "JPEG":
            image.draft("RGB", (PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
        rgb = _flatten_to_rgb(image)
    sizes = []
    if max(rgb.size) > PHOTO_SMALL_SIDE:
        sizes.append(_encode_jpeg(rgb, PHOTO_SMALL_SIDE))
    sizes.append(_encode_jpeg(rgb, PHOTO_MAX_SIDE))
    return EncodedPhoto(sizes=sizes, original_width=width, original_height=height)


def _checked_size(data: bytes) -> tuple[int, int]:
    """(width, height) of an image Telegram would accept; raises if it does not decode to the end."""
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # importing face_recognition (some tests do) turns it on
    with Image.open(io.BytesIO(data)) as image:
        size = image.size
        image.draft("RGB", (max(1, size[0] // 8), max(1, size[1] // 8)))  # JPEG: decode at 1/8 scale
        image.load()
    return size


def _fitted(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(width, height) scaled to fit within `max_side`, aspect kept (never enlarged)."""
    if max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resized_jpeg(decoded: Callable[[], Image.Image], size: tuple[int, int]) -> Callable[[], bytes]:
    """A function making the JPEG of the decoded image at `size` (once: later calls return the bytes)."""

    @cache
    def make() -> bytes:
        image = decoded()
        if image.size != size:
            image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=PHOTO_JPEG_QUALITY)
        return buffer.getvalue()

    return make


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _encode_jpeg(image: Image.Image, max_side: int) -> tuple[bytes, int, int]:
    copy = image.copy()
    copy.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    copy.save(buffer, "JPEG", quality=PHOTO_JPEG_QUALITY)
    return buffer.getvalue(), copy.width, copy.height


@lru_cache(maxsize=1)
def _sticker_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (512, 512), (255, 200, 0, 255)).save(buffer, "WEBP")
    return buffer.getvalue()


_VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(2048)


# --------------------------------------------------------------------------------------------------
# Requests


@dataclass
class Call:
    """One Bot API method call: decoded parameters and uploaded files."""

    method: str
    params: JSONDict
    files: dict[str, Upload]

    def has(self, name: str) -> bool:
        return self.params.get(name) not in (None, "")

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.params.get(name)
        if value is None:
            return default
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.params.get(name)
        if value in (None, ""):
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad_request(f"invalid {name} specified") from None

    def number(self, name: str, default: float) -> float:
        value = self.params.get(name)
        if value in (None, ""):
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise _bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        return self.params.get(name) in (True, 1, "true", "True", "1")

    def obj(self, name: str) -> Any:
        value = self.params.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise _bad_request(f"can't parse {name} JSON object") from None

    def upload(self, name: str) -> Upload | None:
        """The file uploaded for parameter `name`, directly or through an ``attach://`` reference."""
        if name in self.files:
            return self.files[name]
        value = self.params.get(name)
        return self.attached(value)

    def attached(self, reference: Any) -> Upload | None:
        if isinstance(reference, str) and reference.startswith("attach://"):
            upload = self.files.get(reference.removeprefix("attach://"))
            if upload is None:
                raise _bad_request(f"file {reference} not found in the request")
            return upload
        return None


def _normalize_value(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if name in _FLOAT_FIELDS and re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value) if "." in value else int(value)
    if name in _BOOL_FIELDS and value in ("true", "false"):
        return value == "true"
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


async def _read_params(request: web.Request) -> tuple[JSONDict, dict[str, Upload]]:
    if request.content_length is not None and request.content_length > UPLOAD_LIMIT:
        raise ApiError(413, "Request Entity Too Large")
    raw: JSONDict = dict(request.query)
    files: dict[str, Upload] = {}
    try:
        if request.content_type == "application/json":
            raw.update(await _read_json_body(request))
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[key] = Upload(value.file.read(), value.filename, value.content_type)
                else:
                    raw[key] = value
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, "Request Entity Too Large") from None
    return {key: _normalize_value(key, value) for key, value in raw.items()}, files


async def _read_json_body(request: web.Request) -> JSONDict:
    text = await request.text()
    if not text.strip():
        return {}
    try:
        body = json.loads(text)
    except ValueError:
        raise _bad_request("can't parse JSON") from None
    if not isinstance(body, dict):
        raise _bad_request("JSON body must be an object")
    return body


def _bot_id_from_token(token: str) -> int:
    number, separator, secret = token.partition(":")
    if not separator or not number.isdigit() or not secret:
        raise ValueError(f"a bot token looks like '123456:ABC-def', got {token!r}")
    return int(number)


def _chat_id_of(chat: int | User | Chat | None) -> int | None:
    if chat is None or isinstance(chat, int):
        return chat
    return chat.id


def _snapshot(message: JSONDict) -> JSONDict:
    """A message as embedded in another one: Telegram does not nest replies further."""
    return {key: value for key, value in message.items() if key != "reply_to_message"}


def _summarize(entries: Iterable[JSONDict]) -> str:
    lines = []
    for entry in entries:
        words = entry.get("text") or entry.get("caption") or ""
        lines.append(f"  {entry['method']} chat={entry['chat_id']} {words[:60]!r}")
    return "\n".join(lines) or "  (nothing)"


class _Signal:
    """A level-less broadcast: every `fire` wakes everything waiting at that moment."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


Handler = Callable[[Call], Any]


def _accept(call: Call) -> bool:
    return True


# --------------------------------------------------------------------------------------------------
# The server


class FakeBotAPI:
    """An in-memory Telegram Bot API server for one bot, with a user-side API for tests.

    Use ``async with FakeBotAPI(token) as api:`` in a test's event loop, or
    ``api = FakeBotAPI(token).start_in_thread()`` ... ``api.stop_thread()`` (or ``with api:``) to run
    it in a daemon thread with its own loop. The user-side methods are thread-safe in both modes.
    """

    def __init__(
        self,
        token: str,
        bot_username: str = "lookalike_test_bot",
        *,
        bot_name: str = "Lookalike Test Bot",
        privacy_mode: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        first_update_id: int = 100_000_001,
    ) -> None:
        self.token = token
        self.bot_id = _bot_id_from_token(token)
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.privacy_mode = privacy_mode
        self.host = host
        self.port = port
        self.sent: list[JSONDict] = []
        self.requests: list[JSONDict] = []
        self.deleted: list[tuple[int, int]] = []
        self._updates: list[JSONDict] = []
        self._webhook: tuple[str, str | None] | None = None  # (url, secret token) while one is set
        self._webhook_task: asyncio.Task[None] | None = None
        self._next_update_id = first_update_id
        self._poll_generation = 0
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._last_message_id: dict[int, int] = {}
        self._chats: dict[int, Chat] = {}
        self._users: dict[int, JSONDict] = {}
        self._blocked: set[int] = set()
        self._members: dict[int, set[int]] = {}
        self._admins: dict[int, list[int]] = {}
        self._owners: dict[int, int] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._photo_sets: dict[str, list[JSONDict]] = {}
        self._file_numbers = itertools.count(1)
        self._media_group_ids = itertools.count(13_000_000_000_000_001)
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._callback_ids: set[str] = set()
        self._faults: dict[str, list[Fault]] = {}
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._update_signal: _Signal | None = None
        self._activity: _Signal | None = None
        self._closing = False
        self._methods = self._method_table()

    # ---- addresses and identity

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    @property
    def bot_user(self) -> JSONDict:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_name, "username": self.bot_username}

    # ---- lifecycle

    async def start(self) -> FakeBotAPI:
        """Start serving on the running loop; the real port is in `port` afterwards."""
        if self._runner is not None:
            raise RuntimeError("FakeBotAPI is already running")
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._closing = False
        self._update_signal = _Signal()
        self._activity = _Signal()
        app = web.Application(client_max_size=UPLOAD_LIMIT + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_route("GET", "/file/bot{token}/{file_path:.+}", self._handle_download)
        runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self.port = runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Stop serving: pending long polls return empty, connections are closed."""
        runner = self._runner
        if runner is None:
            return
        self._closing = True
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None
        self._fire_signals()
        self._runner = None
        await runner.cleanup()
        self._loop = None
        self._loop_thread = None

    async def __aenter__(self) -> FakeBotAPI:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def start_in_thread(self, timeout: float = 10.0) -> FakeBotAPI:
        """Run the server in a daemon thread with its own event loop (for subprocess bots, benchmarks)."""
        if self._thread is not None:
            raise RuntimeError("FakeBotAPI is already running in a thread")
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        thread = threading.Thread(target=self._thread_main, args=(ready,), name="FakeBotAPI", daemon=True)
        thread.start()
        ready.result(timeout)
        self._thread = thread
        return self

    def stop_thread(self, timeout: float = 10.0) -> None:
        """Stop the server started by `start_in_thread` and wait for its thread to end."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> FakeBotAPI:
        return self.start_in_thread()

    def __exit__(self, *exc_info: object) -> None:
        self.stop_thread()

    def _thread_main(self, ready: concurrent.futures.Future[None]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.start())
        except BaseException as error:
            ready.set_exception(error)
            loop.close()
            return
        ready.set_result(None)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self.stop())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def _call_in_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn` on the server's loop thread (directly when already there or not running)."""
        loop = self._loop
        if loop is None or self._loop_thread == threading.get_ident() or not loop.is_running():
            return fn(*args)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as error:
                future.set_exception(error)

        loop.call_soon_threadsafe(run)
        return future.result(timeout=30)

    def _fire_signals(self) -> None:
        for signal in (self._update_signal, self._activity):
            if signal is not None:
                signal.fire()

    # ---- user side: chats and people

    def add_chat(self, chat: Chat | User) -> Chat:
        """Make a chat known, as if the user had started the bot (or the bot was added to the group)."""
        resolved = chat.private_chat if isinstance(chat, User) else chat
        if isinstance(chat, User):
            self._call_in_loop(self._remember_user, chat)
        self._call_in_loop(self._chats.__setitem__, resolved.id, resolved)
        return resolved

    def block(self, user: User) -> None:
        """The user blocks the bot: sending to them answers 403."""
        self._call_in_loop(self._blocked.add, user.id)

    def unblock(self, user: User) -> None:
        self._call_in_loop(self._blocked.discard, user.id)

    def set_chat_admins(self, chat_id: int, user_ids: Iterable[int], owner: int | None = None) -> None:
        """Who getChatAdministrators/getChatMember report as admins (include `bot_id` to make the bot one).

        The group itself becomes known to the bot once a user posts there (or via `add_chat`).
        """
        self._call_in_loop(self._set_admins, chat_id, list(user_ids), owner)

    def _set_admins(self, chat_id: int, user_ids: list[int], owner: int | None) -> None:
        self._admins[chat_id] = user_ids
        if owner is not None:
            self._owners[chat_id] = owner
        for user_id in [*user_ids, *([owner] if owner is not None else [])]:
            if user_id != self.bot_id:
                self._users.setdefault(
                    user_id, {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
                )
            self._members.setdefault(chat_id, set()).add(user_id)

    def _remember_user(self, user: User) -> None:
        self._users[user.id] = user.to_dict()

    # ---- user side: messages

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

    def send_sticker(self, user: User, chat: Chat | None = None) -> JSONDict:
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

        return self._call_in_loop(self._post_user_message, user, chat, build, None, None)

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

    def press_button(self, user: User, message: JSONDict, data: str) -> str:
        """The user presses an inline button of the bot's `message`; returns the callback query id."""
        return self._call_in_loop(self._post_callback_query, user, message, data)

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

    def _register_sender(self, user: User, chat: Chat) -> None:
        if chat.is_private and chat.id != user.id:
            raise ValueError("a user's private chat with the bot has the user's id")
        self._remember_user(user)
        self._chats[chat.id] = chat
        self._members.setdefault(chat.id, set()).add(user.id)

    def _reply_snapshot(self, chat: Chat, reply_to: JSONDict) -> JSONDict:
        stored = None
        if reply_to.get("chat", {}).get("id") == chat.id:
            stored = self._messages.get((chat.id, reply_to["message_id"]))
        return _snapshot(stored or reply_to)

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

    # ---- user side: inspection

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

    # ---- user side: waiting

    async def wait_for_sent(
        self,
        predicate: Predicate | None = None,
        chat_id: int | User | Chat | None = None,
        count: int = 1,
        timeout: float = 30.0,
        start: int = 0,
    ) -> list[JSONDict]:
        """Wait until at least `count` entries of ``sent[start:]`` match; return all that match."""
        check = self._sent_check(predicate, _chat_id_of(chat_id), count, start)
        found = await self._wait(check, timeout)
        if found is None:
            raise TimeoutError(self._sent_timeout_message(count, timeout))
        return found

    def wait_for_sent_sync(
        self,
        predicate: Predicate | None = None,
        chat_id: int | User | Chat | None = None,
        count: int = 1,
        timeout: float = 30.0,
        start: int = 0,
    ) -> list[JSONDict]:
        """Blocking `wait_for_sent` for threads other than the server's (thread mode)."""
        check = self._sent_check(predicate, _chat_id_of(chat_id), count, start)
        found = self._wait_sync(check, timeout)
        if found is None:
            raise TimeoutError(self._sent_timeout_message(count, timeout))
        return found

    async def wait_for_request(
        self, method: str, predicate: Predicate | None = None, count: int = 1, timeout: float = 30.0
    ) -> list[JSONDict]:
        """Wait until at least `count` calls of `method` (matching `predicate`) were made."""
        found = await self._wait(self._request_check(method, predicate, count), timeout)
        if found is None:
            raise TimeoutError(f"expected {count} {method} request(s) within {timeout}s")
        return found

    def wait_for_request_sync(
        self, method: str, predicate: Predicate | None = None, count: int = 1, timeout: float = 30.0
    ) -> list[JSONDict]:
        found = self._wait_sync(self._request_check(method, predicate, count), timeout)
        if found is None:
            raise TimeoutError(f"expected {count} {method} request(s) within {timeout}s")
        return found

    def _sent_check(
        self, predicate: Predicate | None, chat_id: int | None, count: int, start: int
    ) -> Callable[[], list[JSONDict] | None]:
        def check() -> list[JSONDict] | None:
            found = [
                entry
                for entry in self.sent[start:]
                if (chat_id is None or entry["chat_id"] == chat_id)
                and (predicate is None or predicate(entry))
            ]
            return found if len(found) >= count else None

        return check

    def _request_check(
        self, method: str, predicate: Predicate | None, count: int
    ) -> Callable[[], list[JSONDict] | None]:
        def check() -> list[JSONDict] | None:
            found = [entry for entry in self.calls(method) if predicate is None or predicate(entry)]
            return found if len(found) >= count else None

        return check

    def _sent_timeout_message(self, count: int, timeout: float) -> str:
        return f"expected {count} matching sent message(s) within {timeout}s; sent so far:\n{_summarize(self.sent)}"

    async def _wait(
        self, check: Callable[[], list[JSONDict] | None], timeout: float
    ) -> list[JSONDict] | None:
        loop = self._loop
        if loop is None or self._activity is None:
            return check()
        if loop is not asyncio.get_running_loop():
            return await asyncio.to_thread(self._wait_sync, check, timeout)
        deadline = loop.time() + timeout
        while (found := check()) is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await self._activity.wait(remaining)
        return found

    def _wait_sync(self, check: Callable[[], list[JSONDict] | None], timeout: float) -> list[JSONDict] | None:
        if self._loop is not None and threading.get_ident() == self._loop_thread:
            raise RuntimeError("a sync wait would block the server's own loop; await wait_for_sent()")
        results: list[list[JSONDict]] = []

        def ready() -> bool:
            found = check()
            if found is not None:
                results.append(found)
            return found is not None

        with self._cond:
            self._cond.wait_for(ready, timeout)
        return results[-1] if results else None

    def _record(self, log: list[JSONDict], entry: JSONDict) -> None:
        with self._cond:
            log.append(entry)
            self._cond.notify_all()
        if self._activity is not None:
            self._activity.fire()

    # ---- fault injection

    def inject(
        self,
        method: str,
        *,
        status: int | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        drop: bool = False,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` ("download" for file downloads) fail.

        They answer `status` (429 carries ``parameters.retry_after``), or wait `delay` seconds first,
        or lose their connection without an answer (`drop`). With none given, status 500.
        """
        if status is None and not drop and delay <= 0:
            status = 500
        if status is not None and not 400 <= status <= 599:
            raise ValueError(f"an injected status must be an HTTP error, got {status}")
        if status == HTTPStatus.TOO_MANY_REQUESTS and retry_after is None:
            retry_after = 1
        fault = Fault(status=status, retry_after=retry_after, delay=delay, drop=drop, remaining=times)
        self._call_in_loop(self._add_fault, method.lower(), fault)

    def clear_faults(self) -> None:
        self._call_in_loop(self._faults.clear)

    def _add_fault(self, key: str, fault: Fault) -> None:
        self._faults.setdefault(key, []).append(fault)

    def _take_fault(self, key: str) -> Fault | None:
        queue = self._faults.get(key)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        return fault

    async def _apply_fault(self, request: web.Request, fault: Fault) -> web.StreamResponse | None:
        if fault.delay > 0:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            if request.transport is not None:
                request.transport.close()
            return web.Response()
        if fault.status is not None:
            return ApiError(fault.status, retry_after=fault.retry_after).to_response()
        return None

    # ---- HTTP

    def _token_ok(self, raw_token: str) -> bool:
        return unquote(raw_token) == self.token

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        if not self._token_ok(request.match_info["token"]):
            return ApiError(401).to_response()
        requested = request.match_info["method"]
        canonical, handler = self._methods.get(requested.lower(), (requested, None))
        try:
            params, files = await _read_params(request)
        except ApiError as error:
            return error.to_response()
        fault = self._take_fault(canonical.lower())
        self._record_request(canonical, params, files, fault)
        if fault is not None and (response := await self._apply_fault(request, fault)) is not None:
            return response
        if handler is None:
            return ApiError(404).to_response()
        try:
            result = await self._invoke(handler, Call(canonical, params, files))
        except ApiError as error:
            return error.to_response()
        return web.json_response({"ok": True, "result": result})

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        if not self._token_ok(request.match_info["token"]):
            return ApiError(401).to_response()
        file_path = unquote(request.match_info["file_path"])
        fault = self._take_fault("download")
        self._record_request("download", {"file_path": file_path}, {}, fault)
        if fault is not None and (response := await self._apply_fault(request, fault)) is not None:
            return response
        stored = self._files_by_path.get(file_path)
        if stored is None:
            return ApiError(404).to_response()
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")

    def _record_request(
        self, method: str, params: JSONDict, files: dict[str, Upload], fault: Fault | None
    ) -> None:
        entry = {
            "method": method,
            "params": params,
            "files": {name: upload.data for name, upload in files.items()},
            "time": time.time(),
            "fault": fault.describe() if fault else None,
        }
        self._record(self.requests, entry)

    @staticmethod
    async def _invoke(handler: Handler, call: Call) -> Any:
        result = handler(call)
        if inspect.isawaitable(result):
            result = await result
        return result

    def _method_table(self) -> dict[str, tuple[str, Handler]]:
        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "logOut": _accept,
            "close": _accept,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setWebhook": self._set_webhook,
            "getFile": self._get_file,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendMediaGroup": self._send_media_group,
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageMedia": self._edit_message_media,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "answerCallbackQuery": self._answer_callback_query,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "getChatMemberCount": self._get_chat_member_count,
            "leaveChat": _accept,
            **self._bot_text_handlers(),
        }
        return {name.lower(): (name, handler) for name, handler in handlers.items()}

    # ---- methods: bot and updates

    def _get_me(self, call: Call) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, call: Call) -> list[JSONDict]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            )
        offset = call.integer("offset", 0) or 0
        limit = min(max(call.integer("limit", 100) or 100, 1), 100)
        timeout = max(call.number("timeout", 0.0), 0.0)
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        assert self._update_signal is not None
        self._update_signal.fire()  # an older long poll sees the new generation and ends with 409
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            batch = [update for update in self._updates if update["update_id"] >= offset][:limit]
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing:
                return batch
            await self._update_signal.wait(remaining)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [update for update in self._updates if update["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _delete_webhook(self, call: Call) -> bool:
        if call.flag("drop_pending_updates"):
            self._updates.clear()
        self._webhook = None
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None
        return True

    def _get_webhook_info(self, call: Call) -> JSONDict:
        url = self._webhook[0] if self._webhook else ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    def _set_webhook(self, call: Call) -> bool:
        url = call.text("url") or ""
        if not url:
            return self._delete_webhook(call)
        if not url.startswith(("http://", "https://")):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if call.flag("drop_pending_updates"):
            self._updates.clear()
        self._webhook = (url, call.text("secret_token"))
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._deliver_to_webhook())
        return True

    async def _deliver_to_webhook(self) -> None:
        """POST pending updates to the webhook one at a time; an update is confirmed by a 2xx answer."""
        import aiohttp

        assert self._update_signal is not None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while self._webhook is not None and not self._closing:
                if not self._updates:
                    await self._update_signal.wait(1.0)
                    continue
                url, secret = self._webhook
                update = self._updates[0]
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                try:
                    async with session.post(url, json=update, headers=headers) as answer:
                        delivered = 200 <= answer.status < 300
                except (aiohttp.ClientError, TimeoutError):
                    delivered = False
                if delivered:
                    self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
                else:
                    await asyncio.sleep(0.5)

    def _get_file(self, call: Call) -> JSONDict:
        stored = self._files.get(call.text("file_id") or "")
        if stored is None:
            raise _bad_request("invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            raise _bad_request("file is too big")
        return stored.file_dict()

    # ---- methods: sending

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

    # ---- methods: editing and deleting

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

    # ---- methods: commands, descriptions, callbacks

    def _set_my_commands(self, call: Call) -> bool:
        commands = call.obj("commands")
        if not isinstance(commands, list):
            raise _bad_request("commands is empty")
        for command in commands:
            _check_command(command)
        key = (_scope_key(call.obj("scope")), call.text("language_code") or "")
        self._commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def _get_my_commands(self, call: Call) -> list[JSONDict]:
        return list(self._commands.get((_scope_key(call.obj("scope")), call.text("language_code") or ""), []))

    def _delete_my_commands(self, call: Call) -> bool:
        self._commands.pop((_scope_key(call.obj("scope")), call.text("language_code") or ""), None)
        return True

    def _bot_text_handlers(self) -> dict[str, Handler]:
        """set/getMyDescription, set/getMyShortDescription, set/getMyName."""
        handlers: dict[str, Handler] = {}
        for suffix, field, limit in (
            ("Description", "description", 512),
            ("ShortDescription", "short_description", 120),
            ("Name", "name", 64),
        ):
            handlers[f"setMy{suffix}"] = self._bot_text_setter(field, limit)
            handlers[f"getMy{suffix}"] = self._bot_text_getter(field)
        return handlers

    def _bot_text_setter(self, field: str, limit: int) -> Handler:
        def handler(call: Call) -> bool:
            value = call.text(field) or ""
            if len(value) > limit:
                raise _bad_request(f"{field} is too long")
            self._bot_texts[(field, call.text("language_code") or "")] = value
            return True

        return handler

    def _bot_text_getter(self, field: str) -> Handler:
        def handler(call: Call) -> JSONDict:
            return {field: self._bot_texts.get((field, call.text("language_code") or ""), "")}

        return handler

    def _answer_callback_query(self, call: Call) -> bool:
        query_id = call.text("callback_query_id") or ""
        if query_id not in self._callback_ids:
            raise _bad_request("query is too old and response timeout expired or query ID is invalid")
        if len(call.text("text") or "") > CALLBACK_TEXT_LIMIT:
            raise _bad_request("MESSAGE_TOO_LONG")
        self._callback_ids.discard(query_id)
        return True

    # ---- methods: chats and members

    def _get_chat(self, call: Call) -> JSONDict:
        chat = self._known_chat(call)
        gifts = dict.fromkeys(
            (
                "unlimited_gifts",
                "limited_gifts",
                "unique_gifts",
                "premium_subscription",
                "gifts_from_channels",
            ),
            False,
        )
        return {
            **chat.to_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    def _get_chat_member(self, call: Call) -> JSONDict:
        chat = self._known_chat(call)
        user_id = call.integer("user_id")
        if user_id is None:
            raise _bad_request("invalid user_id specified")
        return self._member(chat, user_id)

    def _get_chat_administrators(self, call: Call) -> list[JSONDict]:
        chat = self._known_chat(call)
        if chat.is_private:
            raise _bad_request("there are no administrators in the private chat")
        owner = self._owners.get(chat.id)
        user_ids = ([owner] if owner is not None else []) + [
            user_id for user_id in self._admins.get(chat.id, []) if user_id != owner
        ]
        return [self._member(chat, user_id) for user_id in user_ids]

    def _get_chat_member_count(self, call: Call) -> int:
        chat = self._known_chat(call)
        return len(self._members.get(chat.id, set()) | {self.bot_id})

    def _member(self, chat: Chat, user_id: int) -> JSONDict:
        user = self.bot_user if user_id == self.bot_id else self._users.get(user_id)
        if user is None:
            raise _bad_request("user not found")
        if self._owners.get(chat.id) == user_id:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if user_id in self._admins.get(chat.id, []):
            return {"status": "administrator", "user": user, **ADMIN_RIGHTS}
        in_chat = user_id in self._members.get(chat.id, set()) or user_id == self.bot_id
        return {"status": "member" if in_chat else "left", "user": user}


# --------------------------------------------------------------------------------------------------
# Small helpers for the method handlers


def _message_text(raw: str, parse_mode: str | None) -> str:
    text = render_markup(raw, parse_mode)
    if not text.strip():
        raise _bad_request("message text is empty")
    if utf16_len(text) > TEXT_LIMIT:
        raise _bad_request("message is too long")
    return text


def _caption_from_call(call: Call) -> JSONDict:
    return _bot_caption(call.text("caption"), call.text("parse_mode"))


def _bot_caption(raw: str | None, parse_mode: str | None) -> JSONDict:
    caption = render_markup(raw or "", parse_mode)
    if utf16_len(caption) > CAPTION_LIMIT:
        raise _bad_request("message caption is too long")
    return {"caption": caption} if caption else {}


def _caption_content(caption: str | None) -> JSONDict:
    """A user's caption with its command and mention entities."""
    if not caption:
        return {}
    entities = find_entities(caption)
    return {"caption": caption, "caption_entities": entities} if entities else {"caption": caption}


def _inline_markup(call: Call) -> JSONDict | None:
    markup = call.obj("reply_markup")
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None


def _check_web_app_buttons(markup: JSONDict, chat: Chat) -> None:
    """Telegram allows Mini App (`web_app`) buttons of inline keyboards in private chats only, and only
    with an HTTPS address (the stand-in also takes plain http on 127.0.0.1, as Telegram's test server does)."""
    for row in markup.get("inline_keyboard") or []:
        for button in row if isinstance(row, list) else []:
            if not isinstance(button, dict) or "web_app" not in button:
                continue
            if chat.type != "private":
                raise _bad_request("BUTTON_TYPE_INVALID")
            url = str((button["web_app"] or {}).get("url", "")) if isinstance(button["web_app"], dict) else ""
            if not url.startswith(("https://", "http://127.0.0.1")):
                raise _bad_request("BUTTON_URL_INVALID")


def _scope_key(scope: JSONDict | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")


def _check_command(command: Any) -> None:
    if not isinstance(command, dict) or not _COMMAND_NAME_RE.fullmatch(str(command.get("command", ""))):
        raise _bad_request("BOT_COMMAND_INVALID")
    if not 1 <= len(str(command.get("description", ""))) <= 256:
        raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")


def _extension(file_name: str) -> str:
    suffix = PurePosixPath(file_name).suffix.lstrip(".").lower()
    return suffix if re.fullmatch(r"[a-z0-9]{1,8}", suffix) else "bin"
