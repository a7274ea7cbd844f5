"""The stand-in Bot API server's messages, exercised with the real python-telegram-bot client: sending,
files and replies, then groups and privacy mode (polling, faults and waiting: `test_botapi_server.py`)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

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
    WebAppInfo,
)
from telegram.error import BadRequest, Forbidden

from tests.botapi import FakeBotAPI, find_entities, group, render_markup
from tests.botapi.server import ApiError
from tests.botapi_client import ANN, BEN, TOKEN, jpeg, make_bot


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(TOKEN) as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    async with make_bot(api) as client:
        yield client


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


# ---- file ids and inline keyboards


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
