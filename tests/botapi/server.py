"""A stand-in Telegram Bot API server for end-to-end tests and benchmarks.

`FakeBotAPI` (this module; its parts in the sibling modules, one per area) is a small aiohttp web server that speaks the Bot API wire format the way
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
  dropped connections), also for file downloads. `hold` does a call at once but keeps its answer from
  the bot until released: a race window (a message users see before the bot knows its id) made certain.
* Inline keyboards (buttons checked: a text and exactly one action), callback queries
  (`press_button`, answerCallbackQuery) and inline mode when ``inline_mode=True`` (BotFather's
  /setinline; getMe's ``supports_inline_queries``): `send_inline_query` / `ask_inline` make
  inline_query updates, answerInlineQuery is checked (ids, at most 50 results, cached photos by a known
  file id, the results button) and cached as Telegram does — for everyone, or per user with
  ``is_personal`` — for ``cache_time`` seconds (default 300), during which the bot never sees the query;
  `choose_inline_result` sends a picked result into a chat ``via_bot``.
* Every photo the bot uploads gets new, distinct file ids (as Telegram's), so a file id names one
  collage.

Where it deliberately differs from Telegram
-------------------------------------------
* One bot, one process, everything in memory; updates never expire (Telegram keeps them 24 h).
* Webhooks over plain HTTP only (setWebhook takes any URL; no certificates, no IP checks): while one
  is set, updates are POSTed to it one at a time (with ``X-Telegram-Bot-Api-Secret-Token``) and
  getUpdates answers 409, as Telegram does. No payments, channels, topics, or flood control (inject
  429s instead). Inline results are cached photos only; inline messages (``inline_message_id``),
  chosen_inline_result updates and the 10-second answer deadline are not modelled.
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
import inspect
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tests.botapi.chats import ChatsMixin
from tests.botapi.editing import EditingMixin
from tests.botapi.faults import FaultsMixin, Hold
from tests.botapi.images import EncodedPhoto, reencode_photo
from tests.botapi.inline import InlineMixin
from tests.botapi.messages import MessagesMixin
from tests.botapi.model import (
    UPLOAD_LIMIT,
    ApiError,
    Chat,
    Fault,
    JSONDict,
    StoredFile,
    T,
    Upload,
    User,
    group,
)
from tests.botapi.text import find_entities, render_markup
from tests.botapi.updates import UpdatesMixin
from tests.botapi.users import UsersMixin
from tests.botapi.waiting import WaitingMixin
from tests.botapi.wire import Call, Handler, _accept, _bot_id_from_token, _read_params, _Signal

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


class FakeBotAPI(
    ChatsMixin, UsersMixin, WaitingMixin, FaultsMixin, UpdatesMixin, MessagesMixin, EditingMixin, InlineMixin
):
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
        inline_mode: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        first_update_id: int = 100_000_001,
    ) -> None:
        self.token = token
        self.bot_id = _bot_id_from_token(token)
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.privacy_mode = privacy_mode
        self.inline_mode = inline_mode  # BotFather's /setinline: getMe's supports_inline_queries
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
        self._inline_queries: dict[str, tuple[int, str, float]] = {}  # id → (user id, query, when)
        self._inline_answers: dict[str, JSONDict] = {}  # query id → the bot's answer
        # (personal or everyone, user id, query) → (expires, answer): Telegram's cache of inline answers
        self._inline_cache: dict[tuple[str, int | None, str], tuple[float, JSONDict]] = {}
        self._holds: dict[str, list[Hold]] = {}
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

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    @property
    def bot_user(self) -> JSONDict:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_name, "username": self.bot_username}

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

    def _record(self, log: list[JSONDict], entry: JSONDict) -> None:
        with self._cond:
            log.append(entry)
            self._cond.notify_all()
        if self._activity is not None:
            self._activity.fire()

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
        await self._hold_answer(canonical.lower(), params, result)
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
            "answerInlineQuery": self._answer_inline_query,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "getChatMemberCount": self._get_chat_member_count,
            "leaveChat": _accept,
            **self._bot_text_handlers(),
        }
        return {name.lower(): (name, handler) for name, handler in handlers.items()}
