"""Small helpers between Telegram and the rest: where a message's photo is, fetching it, showing work.

Transient Telegram faults (5xx, timeouts, dropped connections) are retried with backoff here; 429s are
handled by PTB's AIORateLimiter for sends. Permanent errors (400, 403) are not retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from telegram import Bot, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from service.photo_ref import PhotoRef

log = logging.getLogger(__name__)
T = TypeVar("T")
__all__ = ["PhotoRef", "download", "photo_ref", "reply_to", "showing_work", "with_retries"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic")


def photo_ref(message: Message | None) -> PhotoRef | None:
    """The photo (largest size) or the document of a message, or None if it has neither."""
    if message is None:
        return None
    if message.photo:
        largest = message.photo[-1]
        return PhotoRef(largest.file_id, largest.file_size, True)
    document = message.document
    if document is not None:
        mime = (document.mime_type or mimetypes.guess_type(document.file_name or "")[0] or "").lower()
        name = (document.file_name or "").lower()
        is_image = mime.startswith("image/") or name.endswith(IMAGE_EXTENSIONS)
        is_zip = mime in ("application/zip", "application/x-zip-compressed") or name.endswith(".zip")
        return PhotoRef(document.file_id, document.file_size, is_image, is_zip)
    return None


def reply_to(message_id: int) -> ReplyParameters:
    """Reply to a message, or send plainly if it was deleted meanwhile."""
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


async def with_retries(call: Callable[[], Awaitable[T]], what: str, attempts: int = 4) -> T:
    """Run a Bot API call, retrying transient faults with exponential backoff (0.5 s, 1 s, 2 s …)."""
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except RetryAfter as exc:
            if attempt == attempts:
                raise
            wait = (
                exc.retry_after
                if isinstance(exc.retry_after, int | float)
                else exc.retry_after.total_seconds()
            )
            await asyncio.sleep(min(float(wait), 60.0))
        except (BadRequest, Forbidden):
            raise
        except (TimedOut, NetworkError) as exc:
            if attempt == attempts:
                raise
            log.warning("%s failed (%s: %s); retrying in %.1f s", what, type(exc).__name__, exc, delay)
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


async def download(bot: Bot, file_id: str) -> bytes:
    """The bytes of a Telegram file (getFile, then the download), with retries."""
    file = await with_retries(lambda: bot.get_file(file_id), "getFile")
    return bytes(await with_retries(file.download_as_bytearray, "download"))


# An answer within a second needs no "sending photo…" (the reply is there before the user would notice
# it), and every indicator is a request to Telegram that PTB's rate limiter counts against the bot's 30 a
# second: sent at once, it took half of what a busy bot may send, and a request's CPU from every answer.
SHOW_WORK_AFTER = 1.0  # seconds


@contextlib.asynccontextmanager
async def showing_work(
    bot: Bot, chat_id: int, action: str = ChatAction.UPLOAD_PHOTO, after: float = SHOW_WORK_AFTER
) -> AsyncIterator[None]:
    """Show the chat's "sending photo…" indicator from `after` seconds into the block until it ends (the
    indicator lasts 5 s, so it is sent again every 4)."""

    async def keep_showing() -> None:
        await asyncio.sleep(after)
        while True:
            with contextlib.suppress(Exception):  # a lost indicator is not worth failing the answer
                await bot.send_chat_action(chat_id, action)
            await asyncio.sleep(4.0)

    task = asyncio.create_task(keep_showing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
