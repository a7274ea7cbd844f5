"""The python-telegram-bot client side of the stand-in Bot API server's tests: the token, two users, a
JPEG with an orientation tag, and a `Bot` pointed at the stand-in."""

from __future__ import annotations

import io

from PIL import Image
from telegram import Bot

from tests.botapi import FakeBotAPI, User

TOKEN = "123456:ABC-def_fake-token"
ANN = User(1001, "Ann")
BEN = User(1002, "Ben", language_code="ko", username="ben_k")


def jpeg(width: int, height: int, *, orientation: int | None = 6) -> bytes:
    """A JPEG with an EXIF orientation tag (Telegram drops it from photos, keeps it in documents)."""
    image = Image.new("RGB", (width, height), (180, 120, 90))
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def make_bot(api: FakeBotAPI, token: str = TOKEN) -> Bot:
    """A PTB `Bot` whose methods and file downloads go to the stand-in."""
    return Bot(token, base_url=api.base_url, base_file_url=api.base_file_url)
