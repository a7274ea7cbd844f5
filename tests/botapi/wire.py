"""The wire format: decoding a method call's parameters and uploads, and small shared helpers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from aiohttp import web

from tests.botapi.model import UPLOAD_LIMIT, ApiError, Chat, JSONDict, Upload, User, _bad_request

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
        "is_personal",
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
        "results",
        "button",
    }
)


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
