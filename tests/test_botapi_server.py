"""The stand-in Bot API server, exercised with the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from PIL import Image
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    ReplyParameters,
    Update,
    WebAppInfo,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from tests.botapi import FakeBotAPI, User, find_entities, group, render_markup
from tests.botapi.server import ApiError

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
    return Bot(token, base_url=api.base_url, base_file_url=api.base_file_url)


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


# ---- sending, files and replies


async def test_send_photo_upload_round_trip(bot: Bot, api: FakeBotAPI) -> None:
    asked = api.send_text(ANN, "who do I look like?")
    original = jpeg(1600, 1200)
    message = await bot.send_photo(
        chat_id=ANN.id,
        photo=original,
        caption="<b>You</b> look like &lt;someone&gt;",
        parse_mode="HTML",
        reply_parameters=ReplyParameters(message_id=asked["message_id"]),
    )
    assert message.caption == "You look like <someone>"
    assert message.from_user is not None
    assert message.from_user.id == api.bot_id
    assert message.message_id == asked["message_id"] + 1
    assert message.reply_to_message is not None
    assert message.reply_to_message.text == "who do I look like?"

    record = api.sent[-1]
    assert record["method"] == "sendPhoto"
    assert record["photo"] == original
    assert record["chat_id"] == ANN.id
    assert record["reply_to_message_id"] == asked["message_id"]

    largest = message.photo[-1]
    assert (largest.width, largest.height) == (1280, 960)
    assert message.photo[0].width == 320
    assert largest.file_size is None  # a sent photo's sizes are made when first downloaded
    file = await bot.get_file(largest.file_id)
    data = await file.download_as_bytearray()
    assert file.file_size == len(data)
    with Image.open(io.BytesIO(bytes(data))) as image:
        assert image.format == "JPEG"
        assert image.size == (1280, 960)
        assert not image.getexif()
    small = await (await bot.get_file(message.photo[0].file_id)).download_as_bytearray()
    with Image.open(io.BytesIO(bytes(small))) as image:
        assert image.size == (message.photo[0].width, message.photo[0].height) == (320, 240)


async def test_a_sent_photo_cut_short_is_refused_like_telegram(bot: Bot, api: FakeBotAPI) -> None:
    api.send_text(ANN, "hi")
    whole = jpeg(800, 600)
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(ANN.id, whole[: len(whole) // 2])
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(ANN.id, b"not a picture at all")


async def test_send_photo_by_file_id_and_reply_to_message_id(bot: Bot, api: FakeBotAPI) -> None:
    shown = api.send_photo(ANN, jpeg(400, 300))
    again = await bot.send_photo(
        ANN.id, shown["photo"][-1]["file_id"], reply_to_message_id=shown["message_id"]
    )
    assert again.photo[-1].file_id == shown["photo"][-1]["file_id"]
    assert again.reply_to_message is not None
    assert api.sent[-1]["photo"] is None
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(ANN.id, "x", reply_to_message_id=999)
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(ANN.id, "AgACnonsense")


async def test_users_photo_is_reencoded_and_downloadable(bot: Bot, api: FakeBotAPI) -> None:
    api.send_photo(ANN, jpeg(2000, 1000), caption="/lookalike")
    (update,) = await bot.get_updates(timeout=0)
    message = update.message
    assert message is not None
    assert message.caption == "/lookalike"
    assert message.caption_entities[0].type == "bot_command"
    assert [(p.width, p.height) for p in message.photo] == [(320, 160), (1280, 640)]
    file = await bot.get_file(message.photo[-1].file_id)
    assert file.file_size == message.photo[-1].file_size
    data = bytes(await file.download_as_bytearray())
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (1280, 640)  # no rotation applied despite orientation 6
        assert not image.getexif()


async def test_users_document_keeps_its_bytes(bot: Bot, api: FakeBotAPI) -> None:
    original = jpeg(640, 480)
    api.send_document(ANN, original, "face.jpg", "image/jpeg", caption="as a file")
    (update,) = await bot.get_updates(timeout=0)
    document = update.message.document if update.message else None
    assert document is not None
    assert (document.file_name, document.mime_type, document.file_size) == (
        "face.jpg",
        "image/jpeg",
        len(original),
    )
    data = bytes(await (await bot.get_file(document.file_id)).download_as_bytearray())
    assert data == original
    with Image.open(io.BytesIO(data)) as image:
        assert image.getexif()[0x0112] == 6


async def test_file_over_20_mb_is_too_big(bot: Bot, api: FakeBotAPI) -> None:
    api.send_document(ANN, bytes(21 * 1024 * 1024), "big.bin", "application/octet-stream")
    (update,) = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.document is not None
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await bot.get_file(update.message.document.file_id)


async def test_send_document_upload(bot: Bot, api: FakeBotAPI) -> None:
    api.add_chat(ANN)
    message = await bot.send_document(ANN.id, b"%PDF-1.4 fake", filename="report.pdf", caption="here")
    assert message.document is not None
    assert message.document.file_name == "report.pdf"
    assert api.sent[-1]["document"] == b"%PDF-1.4 fake"
    data = await (await bot.get_file(message.document.file_id)).download_as_bytearray()
    assert bytes(data) == b"%PDF-1.4 fake"


async def test_album_shares_media_group_id(bot: Bot, api: FakeBotAPI) -> None:
    api.send_album(ANN, [jpeg(300, 300), jpeg(500, 400), jpeg(200, 100)], caption="three of us")
    updates = await bot.get_updates(timeout=0)
    messages = [u.message for u in updates if u.message]
    assert len(messages) == 3
    assert len({m.media_group_id for m in messages}) == 1
    assert messages[0].media_group_id is not None
    assert [m.caption for m in messages] == ["three of us", None, None]


async def test_media_group_from_the_bot(bot: Bot, api: FakeBotAPI) -> None:
    api.add_chat(ANN)
    media = [InputMediaPhoto(jpeg(300, 200), caption="first"), InputMediaPhoto(jpeg(200, 300))]
    messages = await bot.send_media_group(ANN.id, media)
    assert len(messages) == 2
    assert messages[0].media_group_id == messages[1].media_group_id
    assert [entry["method"] for entry in api.sent] == ["sendMediaGroup", "sendMediaGroup"]
    assert all(entry["photo"] for entry in api.sent)


async def test_sticker_and_video_are_valid_objects(bot: Bot, api: FakeBotAPI) -> None:
    api.send_sticker(ANN)
    api.send_video(BEN)
    sticker_update, video_update = await bot.get_updates(timeout=0)
    assert sticker_update.message is not None and sticker_update.message.sticker is not None
    assert sticker_update.message.sticker.width == 512
    assert video_update.message is not None and video_update.message.video is not None
    assert video_update.message.from_user is not None
    assert video_update.message.from_user.language_code == "ko"


async def test_edit_delete_and_not_modified(bot: Bot, api: FakeBotAPI) -> None:
    api.add_chat(ANN)
    sent = await bot.send_message(ANN.id, "Looking…")
    edited = await bot.edit_message_text("Found 3 matches", chat_id=ANN.id, message_id=sent.message_id)
    assert edited.text == "Found 3 matches"
    assert edited.edit_date is not None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Found 3 matches", chat_id=ANN.id, message_id=sent.message_id)
    photo = await bot.send_photo(ANN.id, jpeg(100, 100), caption="a")
    captioned = await bot.edit_message_caption(chat_id=ANN.id, message_id=photo.message_id, caption="b")
    assert captioned.caption == "b"
    assert await bot.delete_message(ANN.id, sent.message_id)
    assert api.deleted == [(ANN.id, sent.message_id)]
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(ANN.id, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=ANN.id, message_id=sent.message_id)
    assert [entry["method"] for entry in api.sent_to(ANN)] == [
        "sendMessage",
        "editMessageText",
        "sendPhoto",
        "editMessageCaption",
    ]


async def test_parse_modes(bot: Bot, api: FakeBotAPI) -> None:
    api.add_chat(ANN)
    message = await bot.send_message(ANN.id, r"*Top match:* Kim \(92\.5%\)", parse_mode="MarkdownV2")
    assert message.text == "Top match: Kim (92.5%)"
    with pytest.raises(BadRequest, match=r"(?i)Character '\.' is reserved"):
        await bot.send_message(ANN.id, "Similarity 92.5%", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match=r"(?i)Unsupported start tag"):
        await bot.send_message(ANN.id, "a <br> b", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(ANN.id, "<b></b>", parse_mode="HTML")
    assert render_markup("*bold* and _it_", "Markdown") == "bold and it"
    with pytest.raises(ApiError):
        render_markup("user_name", "Markdown")


async def test_web_app_buttons_go_to_private_chats_with_an_https_address(bot: Bot, api: FakeBotAPI) -> None:
    def keyboard(url: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("Open", web_app=WebAppInfo(url))]])

    api.send_text(ANN, "/admin")
    sent = await bot.send_message(ANN.id, "app", reply_markup=keyboard("https://example.org/app/"))
    assert sent.reply_markup.inline_keyboard[0][0].web_app.url == "https://example.org/app/"
    with pytest.raises(BadRequest, match=r"(?i)button_url_invalid"):
        await bot.send_message(ANN.id, "app", reply_markup=keyboard("http://example.org/app/"))
    lounge = group(-1001234567891, "Lounge")
    api.send_text(ANN, "/admin", chat=lounge)
    with pytest.raises(BadRequest, match=r"(?i)button_type_invalid"):
        await bot.send_message(lounge.id, "app", reply_markup=keyboard("https://example.org/app/"))


async def test_chat_checks(bot: Bot, api: FakeBotAPI) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(424242, "hi")
    lounge = group(-1001234567890, "Lounge")
    api.send_text(BEN, "hello all", chat=lounge)
    with pytest.raises(Forbidden, match=r"(?i)can't initiate conversation"):
        await bot.send_message(BEN.id, "hi")
    api.send_text(ANN, "/start")
    api.block(ANN)
    with pytest.raises(Forbidden, match=r"(?i)blocked"):
        await bot.send_chat_action(ANN.id, "typing")


async def test_chat_action_and_commands_are_recorded(bot: Bot, api: FakeBotAPI) -> None:
    api.add_chat(ANN)
    assert await bot.send_chat_action(ANN.id, "upload_photo")
    assert api.calls("sendChatAction")[-1]["params"] == {"chat_id": ANN.id, "action": "upload_photo"}
    scope = BotCommandScopeAllPrivateChats()
    commands = [BotCommand("start", "Start"), BotCommand("lookalike", "Find your celebrity twin")]
    assert await bot.set_my_commands(commands, scope=scope, language_code="ko")
    request = api.calls("setMyCommands")[-1]["params"]
    assert request["scope"] == {"type": "all_private_chats"}
    assert request["language_code"] == "ko"
    assert await bot.get_my_commands(scope=scope, language_code="ko") == tuple(commands)
    assert api.commands({"type": "all_private_chats"}, "ko")[1]["command"] == "lookalike"
    assert await bot.get_my_commands() == ()
    assert await bot.delete_my_commands(scope=scope, language_code="ko")
    assert api.commands({"type": "all_private_chats"}, "ko") == []
    assert await bot.set_my_description("Find your lookalike")
    assert (await bot.get_my_description()).description == "Find your lookalike"
    assert await bot.set_my_short_description("Lookalike")
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


async def test_callback_query(bot: Bot, api: FakeBotAPI) -> None:
    api.add_chat(ANN)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:1")]])
    sent = await bot.send_message(ANN.id, "Top match", reply_markup=keyboard)
    assert sent.reply_markup == keyboard
    query_id = api.press_button(ANN, api.sent[-1]["message"], "more:1")
    (update,) = await bot.get_updates(timeout=0)
    assert update.callback_query is not None
    assert update.callback_query.data == "more:1"
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query_id, text="Loading")
    with pytest.raises(BadRequest, match=r"(?i)query ID is invalid"):
        await bot.answer_callback_query(query_id)


# ---- groups and privacy mode


async def test_privacy_mode_and_admins(bot: Bot, api: FakeBotAPI) -> None:
    lounge = group(-1001234567890, "Lounge")
    api.send_photo(ANN, jpeg(200, 200), chat=lounge)  # not for the bot
    api.send_text(ANN, "/lookalike@other_bot", chat=lounge)  # another bot's command
    command = api.send_text(ANN, "/lookalike@lookalike_test_bot", chat=lounge)
    mention = api.send_photo(BEN, jpeg(200, 200), caption="hey @lookalike_test_bot", chat=lounge)
    updates = await bot.get_updates(timeout=0)
    assert [u.message.message_id for u in updates if u.message] == [
        command["message_id"],
        mention["message_id"],
    ]
    reply_to = await bot.send_message(lounge.id, "Send me a photo", reply_to_message_id=command["message_id"])
    answer = api.send_photo(ANN, jpeg(200, 200), chat=lounge, reply_to=api.sent[-1]["message"])
    assert answer["reply_to_message"]["message_id"] == reply_to.message_id

    api.set_chat_admins(lounge.id, [ANN.id, api.bot_id], owner=BEN.id)
    api.send_text(BEN, "just chatting", chat=lounge)  # the bot is admin now: it sees everything
    updates = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert [u.message.text or u.message.caption for u in updates if u.message] == [None, "just chatting"]

    admins = await bot.get_chat_administrators(lounge.id)
    assert [(m.user.id, m.status) for m in admins] == [
        (BEN.id, "creator"),
        (ANN.id, "administrator"),
        (api.bot_id, "administrator"),
    ]
    assert (await bot.get_chat_member(lounge.id, ANN.id)).status == "administrator"
    chat = await bot.get_chat(lounge.id)
    assert chat.title == "Lounge"


async def test_entities_use_utf16_offsets() -> None:
    text = "😀 /start@lookalike_test_bot hi @someone_else"
    assert find_entities(text) == [
        {"offset": 3, "length": 25, "type": "bot_command"},
        {"offset": 32, "length": 13, "type": "mention"},
    ]
    assert find_entities("mail me at a@example.com") == []


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


# ---- holds, inline keyboards on photos, inline mode


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


async def test_every_photo_the_bot_sends_gets_distinct_file_ids(bot: Bot, api: FakeBotAPI) -> None:
    api.add_chat(ANN)
    same = jpeg(64, 48, orientation=None)
    first, second = await bot.send_photo(ANN.id, same), await bot.send_photo(ANN.id, same)
    ids = [size.file_id for size in (*first.photo, *second.photo)]
    assert len(set(ids)) == len(ids)
    assert {s.file_unique_id for s in first.photo}.isdisjoint(s.file_unique_id for s in second.photo)


async def test_a_photo_carries_an_inline_keyboard_and_buttons_are_checked(bot: Bot, api: FakeBotAPI) -> None:
    api.add_chat(ANN)
    share = InlineKeyboardMarkup([[InlineKeyboardButton("Share", switch_inline_query="")]])
    sent = await bot.send_photo(ANN.id, jpeg(64, 48, orientation=None), reply_markup=share)
    assert sent.reply_markup == share
    assert api.message(ANN.id, sent.message_id)["reply_markup"]["inline_keyboard"][0][0]["text"] == "Share"
    with pytest.raises(BadRequest, match=r"(?i)button_type_invalid"):
        await bot.send_message(ANN.id, "x", reply_markup={"inline_keyboard": [[{"text": "no action"}]]})


async def test_get_me_reports_inline_mode_as_botfather_set_it() -> None:
    for inline_mode in (False, True):
        async with FakeBotAPI(TOKEN, inline_mode=inline_mode) as server, make_bot(server) as client:
            assert (await client.get_me()).supports_inline_queries is inline_mode
            if not inline_mode:
                with pytest.raises(RuntimeError, match="inline mode is off"):
                    server.send_inline_query(ANN)


async def test_inline_queries_are_answered_checked_and_cached_as_telegram_does() -> None:
    from telegram import InlineQueryResultCachedPhoto, InlineQueryResultsButton

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
