"""The PTB application the bot builds keeps nothing per user it has met (no persistence, no sets)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from telegram import Chat, Message, Update, User
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.app import build_application
from bot.application import LookalikeApplication
from service.settings import Settings
from tests.botapi import FakeBotAPI
from tests.botapi.harness import start_api


async def noted(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A handler that does nothing: an update some handler took is what PTB marks for persistence."""


def update_from(user_id: int, update_id: int) -> Update:
    user = User(user_id, f"user{user_id}", is_bot=False)
    message = Message(update_id, None, Chat(user_id, Chat.PRIVATE), from_user=user, text="hi")  # type: ignore[arg-type]
    return Update(update_id, message=message)


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    server = start_api()
    yield server
    server.stop_thread()


def test_updates_from_many_users_leave_no_trace_in_the_application(api: FakeBotAPI) -> None:
    settings = Settings(  # type: ignore[call-arg]
        telegram_bot_token=api.token, telegram_base_url=api.base_url, telegram_base_file_url=api.base_file_url
    )
    application = build_application(settings)
    application.add_handler(MessageHandler(filters.ALL, noted), group=99)
    assert isinstance(application, LookalikeApplication) and application.persistence is None

    async def process() -> None:
        async with application:
            for n in range(1, 501):
                await application.process_update(update_from(n, n))

    asyncio.run(process())
    assert not application._user_ids_to_be_updated_in_persistence
    assert not application._chat_ids_to_be_updated_in_persistence
    assert not application.user_data and not application.chat_data


def test_ptbs_own_application_keeps_every_user_id_without_persistence(api: FakeBotAPI) -> None:
    """Why the subclass exists: if PTB stops doing this, it can go."""
    application = Application.builder().token(api.token).base_url(api.base_url).build()
    application.add_handler(MessageHandler(filters.ALL, noted), group=99)

    async def process() -> None:
        async with application:
            for n in range(1, 51):
                await application.process_update(update_from(n, n))

    asyncio.run(process())
    assert len(application._user_ids_to_be_updated_in_persistence) == 50
