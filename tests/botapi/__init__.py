"""A stand-in Telegram Bot API server for end-to-end tests and benchmarks (see `server`)."""

from tests.botapi.server import (
    ApiError,
    Chat,
    EncodedPhoto,
    FakeBotAPI,
    Fault,
    StoredFile,
    User,
    find_entities,
    group,
    reencode_photo,
    render_markup,
)

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
