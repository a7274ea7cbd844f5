"""The stand-in Bot API server, exercised with the real python-telegram-bot client: identity and long
polling, faults, waiting, holds, a real Application, thread mode, inline mode (messages, files, keyboards
and groups are in `test_botapi_messages.py`)."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot, InlineQueryResultCachedPhoto, InlineQueryResultsButton, Update
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from tests.botapi import FakeBotAPI, group
from tests.botapi_client import ANN, BEN, TOKEN, jpeg, make_bot


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(TOKEN) as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    async with make_bot(api) as client:
        yield client


def seconds(retry_after: int | dtm.timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, dtm.timedelta) else float(retry_after)


# ---- identity and long polling


async def test_get_me(bot: Bot, api: FakeBotAPI) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot
    assert me.username == "lookalike_test_bot" == api.bot_username
    assert api.calls("getMe")


async def test_long_poll_returns_when_an_update_arrives(bot: Bot, api: FakeBotAPI) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()
    api.send_text(ANN, "/start")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1.5
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None
    assert message.text == "/start"
    assert message.chat.id == ANN.id
    assert message.chat.type == "private"
    assert message.from_user is not None
    assert message.from_user.first_name == "Ann"
    assert message.entities[0].type == "bot_command"


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 1.8


async def test_offset_confirms_for_every_client(api: FakeBotAPI) -> None:
    api.send_text(ANN, "one")
    api.send_text(ANN, "two")
    api.send_text(ANN, "three")
    async with make_bot(api) as first:
        updates = await first.get_updates(timeout=0)
        assert [u.message.text for u in updates if u.message] == ["one", "two", "three"]
        assert updates[1].update_id == updates[0].update_id + 1
        again = await first.get_updates(timeout=0, limit=2)
        assert [u.update_id for u in again] == [u.update_id for u in updates[:2]]
        rest = await first.get_updates(offset=updates[0].update_id + 1, timeout=0)
        assert [u.message.text for u in rest if u.message] == ["two", "three"]
    async with make_bot(api) as restarted:
        fresh = await restarted.get_updates(timeout=0)
        assert [u.message.text for u in fresh if u.message] == ["two", "three"]
        assert await restarted.get_updates(offset=fresh[-1].update_id + 1, timeout=0) == ()
    assert api.pending_updates == []


async def test_second_long_poll_terminates_the_first(bot: Bot, api: FakeBotAPI) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    async with make_bot(api) as other:
        second = asyncio.create_task(other.get_updates(timeout=5))
        with pytest.raises(Conflict):
            await asyncio.wait_for(first, 2)
        api.send_text(ANN, "hello")
        assert len(await asyncio.wait_for(second, 2)) == 1


async def test_delete_webhook_can_drop_pending_updates(bot: Bot, api: FakeBotAPI) -> None:
    api.send_text(ANN, "old")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates(timeout=0) == ()


# ---- faults


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_injected_429_is_retry_after(bot: Bot, api: FakeBotAPI) -> None:
    api.add_chat(ANN)
    api.inject("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(ANN.id, "hi")
    assert seconds(caught.value.retry_after) == 7
    assert (await bot.send_message(ANN.id, "hi")).text == "hi"
    assert [entry["fault"] for entry in api.calls("sendMessage")] == ["status=429", None]


async def test_injected_500_is_network_error(bot: Bot, api: FakeBotAPI) -> None:
    api.add_chat(ANN)
    api.inject("sendmessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(ANN.id, "hi")
        assert type(caught.value) is NetworkError
    assert await bot.send_message(ANN.id, "hi")


async def test_dropped_connection_is_network_error(bot: Bot, api: FakeBotAPI) -> None:
    api.add_chat(ANN)
    api.inject("sendMessage", drop=True)
    with pytest.raises(NetworkError):  # TimedOut is a NetworkError too
        await bot.send_message(ANN.id, "hi")
    assert await bot.send_message(ANN.id, "hi")
    assert len(api.sent) == 1


async def test_delay_and_download_faults(bot: Bot, api: FakeBotAPI) -> None:
    api.inject("getMe", delay=1.0)
    with pytest.raises(TimedOut):
        await bot.get_me(read_timeout=0.3)
    shown = api.send_photo(ANN, jpeg(100, 100))
    file = await bot.get_file(shown["photo"][-1]["file_id"])
    api.inject("download", status=502)
    with pytest.raises(NetworkError):
        await file.download_as_bytearray()
    assert await file.download_as_bytearray()
    api.inject("download", drop=True)
    api.clear_faults()
    assert await file.download_as_bytearray()


async def test_wrong_token_is_invalid_token(api: FakeBotAPI) -> None:
    with pytest.raises(InvalidToken):
        async with make_bot(api, "999:wrong-token"):
            pass


async def test_unknown_method_and_raw_http(bot: Bot, api: FakeBotAPI) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("frobnicate")
    api.add_chat(ANN)
    shown = api.send_photo(ANN, jpeg(100, 100))
    file_path = api._files[shown["photo"][-1]["file_id"]].file_path
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{api.base_url}{TOKEN}/frobnicate") as response:
            assert response.status == 404
            assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with session.post(
            f"{api.base_url}{TOKEN}/SENDMESSAGE", json={"chat_id": ANN.id, "text": "hi"}
        ) as response:
            body = await response.json()
            assert body["ok"] and body["result"]["text"] == "hi"
        async with session.get(f"{api.base_url}999:bad/getMe") as response:
            assert response.status == 401
            assert await response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        for token in (TOKEN, TOKEN.replace(":", "%3A")):
            async with session.get(f"{api.base_file_url}{token}/{file_path}") as response:
                assert response.status == 200
                assert await response.read() == api.file_bytes(shown["photo"][-1]["file_id"])


# ---- waiting, a real Application, thread mode


async def test_wait_for_sent(bot: Bot, api: FakeBotAPI) -> None:
    api.add_chat(ANN)

    async def reply_later() -> None:
        await asyncio.sleep(0.1)
        await bot.send_message(ANN.id, "first")
        await bot.send_message(ANN.id, "second")

    task = asyncio.create_task(reply_later())
    found = await api.wait_for_sent(chat_id=ANN, count=2, timeout=2)
    assert [entry["text"] for entry in found] == ["first", "second"]
    await task
    with pytest.raises(TimeoutError):
        await api.wait_for_sent(lambda entry: entry["text"] == "never", timeout=0.2)
    later = await api.wait_for_sent(start=1, timeout=0.1)
    assert [entry["text"] for entry in later] == ["second"]


async def test_real_application_polls_and_replies(api: FakeBotAPI) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Send me a selfie", do_quote=True)

    application = (
        ApplicationBuilder().token(TOKEN).base_url(api.base_url).base_file_url(api.base_file_url).build()
    )
    application.add_handler(CommandHandler("start", start))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        try:
            api.send_text(ANN, "/start")
            (reply,) = await api.wait_for_sent(chat_id=ANN.id, timeout=5)
        finally:
            await application.updater.stop()
            await application.stop()
    assert reply["text"] == "Send me a selfie"
    assert reply["reply_to_message_id"] is not None
    assert api.pending_updates == []


async def test_thread_mode() -> None:
    api = FakeBotAPI(TOKEN).start_in_thread()
    try:
        assert api.port != 0
        api.send_text(ANN, "/start")  # from this thread, executed on the server's
        async with make_bot(api) as client:
            (update,) = await client.get_updates(timeout=0)
            assert update.message is not None
            await client.send_message(ANN.id, "hi", reply_to_message_id=update.message.message_id)
        found = await asyncio.to_thread(api.wait_for_sent_sync, chat_id=ANN.id, timeout=2)
        assert found[0]["text"] == "hi"
        assert (await api.wait_for_sent(chat_id=ANN.id, timeout=2))[0]["reply_to_message_id"] == 1
        api.inject("getMe", status=500)
        assert api.calls("download") == []
    finally:
        api.stop_thread()
    with FakeBotAPI(TOKEN) as again:
        assert again.port != 0


# ---- holds, inline mode


async def test_a_held_answer_leaves_the_message_sent_but_the_bot_waiting(bot: Bot, api: FakeBotAPI) -> None:
    api.add_chat(ANN)
    held = api.hold("sendPhoto", lambda params: params.get("chat_id") == ANN.id)
    sending = asyncio.create_task(bot.send_photo(ANN.id, jpeg(64, 48, orientation=None)))
    message = await asyncio.to_thread(held.wait_reached, 10)
    assert api.message(ANN.id, message["message_id"]) is not None  # there for the user already
    await asyncio.sleep(0.3)
    assert not sending.done()
    held.release()
    sent = await asyncio.wait_for(sending, 5)
    assert sent.message_id == message["message_id"]


async def test_get_me_reports_inline_mode_as_botfather_set_it() -> None:
    for inline_mode in (False, True):
        async with FakeBotAPI(TOKEN, inline_mode=inline_mode) as server, make_bot(server) as client:
            assert (await client.get_me()).supports_inline_queries is inline_mode
            if not inline_mode:
                with pytest.raises(RuntimeError, match="inline mode is off"):
                    server.send_inline_query(ANN)


async def test_inline_queries_are_answered_checked_and_cached_as_telegram_does() -> None:
    async with FakeBotAPI(TOKEN, inline_mode=True) as api, make_bot(api) as bot:
        api.add_chat(ANN)
        photo = (await bot.send_photo(ANN.id, jpeg(64, 48, orientation=None), caption="me")).photo[-1]
        query_id = api.send_inline_query(ANN, "")
        (update,) = await bot.get_updates(timeout=1)
        assert update.inline_query.id == query_id and update.inline_query.from_user.id == ANN.id
        assert update.inline_query.chat_type == "sender"
        result = InlineQueryResultCachedPhoto("1", photo.file_id, caption="me")
        with pytest.raises(BadRequest, match=r"(?i)result_id_duplicate"):
            await bot.answer_inline_query(query_id, [result, result])
        with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
            await bot.answer_inline_query(query_id, [InlineQueryResultCachedPhoto("2", "AgACnope")])
        with pytest.raises(BadRequest, match=r"(?i)start_param_invalid"):
            await bot.answer_inline_query(
                query_id, [], button=InlineQueryResultsButton("Go", start_parameter="a b")
            )
        await bot.answer_inline_query(query_id, [result], is_personal=True, cache_time=30)
        answer = api.inline_answer(query_id)
        assert answer["is_personal"] and answer["cache_time"] == 30
        assert answer["results"][0]["photo_file_id"] == photo.file_id
        with pytest.raises(BadRequest, match=r"(?i)query id is invalid"):  # answered once, then gone
            await bot.answer_inline_query(query_id, [])
        assert api.cached_inline_answer(ANN, "") == answer  # the same user: from Telegram's cache
        assert api.cached_inline_answer(BEN, "") is None  # personal: never someone else's
        shared = api.choose_inline_result(ANN, answer, "1", group(-5001, "Friends"))
        assert shared["via_bot"]["id"] == bot.id and shared["caption"] == "me"
        assert shared["photo"][-1]["file_id"] == photo.file_id
        # not personal: Telegram hands the first user's answer to anyone asking the same
        other = api.send_inline_query(BEN, "x")
        await bot.get_updates(offset=update.update_id + 1, timeout=1)
        await bot.answer_inline_query(other, [result], cache_time=30)
        assert api.cached_inline_answer(ANN, "x")["results"][0]["id"] == "1"
