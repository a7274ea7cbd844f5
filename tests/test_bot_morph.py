"""The Morph button end to end: the real bot in a subprocess, over HTTP, against the stand-in Bot API.

One bot answers from a real gallery whose photos carry licences (Obama's shared alike, Rose Leslie's all
forbidding changes); two more show the button's minutes running out and the off switch. The application
layer's rules (expiry to the second, the bound, the cluster path) are pinned in test_service_morphs.py.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator

import pytest
from PIL import Image

from tests.botapi import FakeBotAPI, User, group
from tests.botapi.harness import RunningBot, next_message, start_api
from tests.paths import photo
from tests.test_service_morphs import build_licensed_gallery

OBAMA = photo("barack_obama/obama.jpg")
ROSE = photo("rose_leslie/rose_leslie_img2.jpg")
EXPIRY_SECONDS = 1.2


@pytest.fixture(scope="module")
def bot(api: FakeBotAPI, tmp_path_factory, models) -> Iterator[RunningBot]:
    db = tmp_path_factory.mktemp("morph-bot") / "gallery.sqlite"
    asyncio.run(build_licensed_gallery(db, models))
    running = RunningBot(api, db)
    yield running
    assert running.stop() == 0


def morph_button(answer: dict) -> dict:
    """The Morph button of a sent answer (its one row of buttons must hold one)."""
    markup = answer["reply_markup"]
    assert markup is not None, "the answer has no buttons"
    [row] = markup["inline_keyboard"]
    [button] = [b for b in row if b.get("callback_data", "").startswith("morph:")]
    return button


def press(api: FakeBotAPI, user: User, answer: dict) -> str:
    """`user` presses the Morph button of `answer` (the message as the chat now holds it)."""
    message = api.message(answer["chat_id"], answer["message_id"])
    assert message is not None
    return api.press_button(user, message, morph_button(answer)["callback_data"])


def callback_answer(api: FakeBotAPI, query_id: str) -> dict:
    """The bot's answerCallbackQuery for `query_id` (waited for): its parameters."""
    [call] = api.wait_for_request_sync(
        "answerCallbackQuery", lambda c: c["params"].get("callback_query_id") == query_id, timeout=120
    )
    return call["params"]


def test_a_private_answer_has_a_morph_button_that_sends_the_morph_with_its_credit(api, bot) -> None:
    ann = User(1, "Ann")
    answer = next_message(api, ann.id, lambda: api.send_photo(ann, OBAMA))
    assert answer["caption"].splitlines()[1].startswith("1. Barack Obama")
    assert morph_button(answer)["text"] == "🎭 Morph"

    mark = len(api.sent)
    query_id = press(api, ann, answer)
    morph = api.wait_for_sent_sync(chat_id=ann.id, start=mark, timeout=120)[0]
    assert morph["method"] == "sendPhoto" and morph["reply_to_message_id"] == answer["message_id"]
    picture = Image.open(io.BytesIO(morph["photo"]))
    assert picture.format == "JPEG" and picture.size == (512, 512)
    lines = morph["caption"].splitlines()
    assert lines[0] == "You 50% · Barack Obama 50%"
    assert lines[1] == "Photo of Barack Obama: CC BY-SA 4.0 · Photographer of Barack Obama"
    assert lines[2] == "This morph is shared under CC BY-SA 4.0, as the photo is."
    assert lines[3] == "https://example.org/barack_obama/obama2.jpg"
    assert "text" not in callback_answer(api, query_id)  # answered, silently: the photo is the answer


def test_korean_users_get_the_button_and_the_credit_in_korean(api, bot) -> None:
    jimin = User(2, "지민", "ko")
    answer = next_message(api, jimin.id, lambda: api.send_photo(jimin, OBAMA))
    assert morph_button(answer)["text"] == "🎭 얼굴 합성"
    mark = len(api.sent)
    press(api, jimin, answer)
    morph = api.wait_for_sent_sync(chat_id=jimin.id, start=mark, timeout=120)[0]
    assert morph["caption"].splitlines()[:2] == [
        "나 50% · Barack Obama 50%",
        "Barack Obama 사진: CC BY-SA 4.0 · Photographer of Barack Obama",
    ]


def test_someone_else_pressing_the_button_gets_one_line_and_nothing_of_the_face(api, bot) -> None:
    ann, bob = User(3, "Ann"), User(4, "Bob")
    answer = next_message(api, ann.id, lambda: api.send_photo(ann, OBAMA))
    mark = len(api.sent)
    query_id = press(api, bob, answer)  # a forwarded copy of Ann's answer, pressed by Bob
    said = callback_answer(api, query_id)
    assert said["text"] == "Only the person who sent this selfie can morph it."
    time.sleep(1.0)  # the answer came; nothing else may follow it
    assert api.sent[mark:] == []


def test_morph_as_a_reply_to_an_answer_sends_the_morph_and_elsewhere_says_how(api, bot) -> None:
    ann = User(5, "Ann")
    answer = next_message(api, ann.id, lambda: api.send_photo(ann, OBAMA))
    replied = api.message(ann.id, answer["message_id"])
    morph = next_message(api, ann.id, lambda: api.send_text(ann, "/morph", reply_to=replied), timeout=120)
    assert morph["method"] == "sendPhoto" and morph["caption"].startswith("You 50% · Barack Obama 50%")
    usage = next_message(api, ann.id, lambda: api.send_text(ann, "/morph"))
    assert usage["text"].startswith("Reply /morph to one of my answers (within 10 minutes)")

    # in a group, /morph on someone else's answer (Ann's, forwarded there) reveals nothing
    friends = group(-1005, "Friends")
    bob = User(6, "Bob")
    other = next_message(
        api, friends.id, lambda: api.send_text(bob, "/morph", chat=friends, reply_to=replied)
    )
    assert other["method"] == "sendMessage"
    assert other["text"] == "Only the person who sent this selfie can morph it."

    # Ann herself, there: her face goes to her private chat only
    mark = len(api.sent)
    api.send_text(ann, "/morph", chat=friends, reply_to=replied)
    private = api.wait_for_sent_sync(chat_id=ann.id, start=mark, timeout=120)[0]
    assert private["method"] == "sendPhoto" and private["caption"].startswith("You 50% · Barack Obama 50%")
    assert [m for m in api.sent[mark:] if m["chat_id"] == friends.id] == []


def test_no_photo_of_the_lookalike_may_be_changed_so_the_button_says_so(api, bot) -> None:
    ann = User(7, "Ann")
    answer = next_message(api, ann.id, lambda: api.send_photo(ann, ROSE))
    assert answer["caption"].splitlines()[1].startswith("1. Rose Leslie")
    mark = len(api.sent)
    press(api, ann, answer)
    said = api.wait_for_sent_sync(chat_id=ann.id, start=mark, timeout=120)[0]
    assert said["method"] == "sendMessage"
    assert said["text"] == (
        "None of Rose Leslie's photos may be changed (their licences forbid it), so there is no morph."
    )


def test_a_press_whose_selfie_telegram_no_longer_gives_is_told_the_morph_failed(api, bot) -> None:
    ann = User(12, "Ann")
    answer = next_message(api, ann.id, lambda: api.send_photo(ann, OBAMA))
    failed = "I could not draw the morph just now; press the button again in a minute."
    # the press fetches the selfie again: Telegram refuses the file (400), then its download keeps failing
    for method, status, times in (("getFile", 400, 1), ("download", 502, 4)):
        api.inject(method, status=status, times=times)
        mark = len(api.sent)
        query_id = press(api, ann, answer)
        said = api.wait_for_sent_sync(chat_id=ann.id, start=mark, timeout=120)[0]
        assert said["text"] == failed and said["reply_to_message_id"] == answer["message_id"]
        assert "text" not in callback_answer(api, query_id)
    api.clear_faults()
    mark = len(api.sent)
    press(api, ann, answer)  # and once Telegram gives it again, the morph comes
    assert api.wait_for_sent_sync(chat_id=ann.id, start=mark, timeout=120)[0]["method"] == "sendPhoto"


PRIVATE = {"type": "all_private_chats"}


def command_names(api: FakeBotAPI, scope: dict, language: str = "") -> list[str]:
    return [c["command"] for c in api.commands(scope, language_code=language)]


def test_help_and_the_private_command_list_tell_of_the_morph_in_both_languages(api, bot) -> None:
    ann, jimin = User(13, "Ann"), User(14, "지민", "ko")
    english = next_message(api, ann.id, lambda: api.send_text(ann, "/help"))["text"]
    assert english.endswith(
        "🎭 Morph: press the button under one of my answers, or reply /morph to it (within 10 minutes), "
        "to get your face blended with your #1's."
    )
    korean = next_message(api, jimin.id, lambda: api.send_text(jimin, "/help"))["text"]
    assert korean.endswith("(10분 이내) 내 얼굴과 1위 연예인 얼굴을 합성해 드려요.")
    for language in ("", "ko"):
        assert command_names(api, PRIVATE, language)[-1] == "morph"
        assert "morph" not in command_names(api, {"type": "all_group_chats"}, language)


def test_a_group_answer_has_no_button_and_privacy_says_what_is_kept_in_both_languages(api, bot) -> None:
    friends = group(-1006, "Friends")
    ann = User(8, "Ann")
    in_group = next_message(
        api, friends.id, lambda: api.send_photo(ann, OBAMA, caption="/lookalike", chat=friends)
    )
    assert in_group["method"] == "sendPhoto" and in_group["reply_markup"] is None
    english = next_message(api, ann.id, lambda: api.send_text(ann, "/privacy"))["text"]
    assert "For the Morph button, I keep Telegram's reference to your selfie" in english
    assert "nothing computed from your face" in english and "for 10 minutes" in english
    assert "in memory only: a restart forgets it" in english
    jimin = User(9, "지민", "ko")
    korean = next_message(api, jimin.id, lambda: api.send_text(jimin, "/privacy"))["text"]
    assert "얼굴 합성 버튼을 위해" in korean and "10분 동안" in korean and "메모리에만" in korean
    assert "셀카를 가리키는 참조" in korean


@pytest.fixture
def lone_api() -> Iterator[FakeBotAPI]:
    server = start_api()
    yield server
    server.stop_thread()


def test_a_button_pressed_after_its_minutes_asks_for_the_selfie_again(lone_api, tmp_path) -> None:
    api = lone_api
    running = RunningBot(
        api,
        tmp_path / "gallery.sqlite",
        env={"LOOKALIKE_MORPH_MINUTES": str(EXPIRY_SECONDS / 60), "LOOKALIKE_WORKERS": "1"},
    )
    try:
        ann = User(10, "Ann")
        answer = next_message(api, ann.id, lambda: api.send_photo(ann, OBAMA))
        time.sleep(EXPIRY_SECONDS + 0.5)  # the answer was drawn after the face was kept: it is older still
        mark = len(api.sent)
        query_id = press(api, ann, answer)
        said = api.wait_for_sent_sync(chat_id=ann.id, start=mark, timeout=120)[0]
        assert said["text"] == "That answer is too old to morph: send your selfie again."
        assert "text" not in callback_answer(api, query_id)
        replied = api.message(ann.id, answer["message_id"])
        by_command = next_message(api, ann.id, lambda: api.send_text(ann, "/morph", reply_to=replied))
        assert by_command["text"] == "That answer is too old to morph: send your selfie again."
    finally:
        assert running.stop() == 0


def test_zero_minutes_turns_the_button_off(lone_api, tmp_path) -> None:
    api = lone_api
    running = RunningBot(
        api, tmp_path / "gallery.sqlite", env={"LOOKALIKE_MORPH_MINUTES": "0", "LOOKALIKE_WORKERS": "1"}
    )
    try:
        ann = User(11, "Ann")
        answer = next_message(api, ann.id, lambda: api.send_photo(ann, OBAMA))
        assert answer["method"] == "sendPhoto" and answer["reply_markup"] is None
        replied = api.message(ann.id, answer["message_id"])
        off = next_message(api, ann.id, lambda: api.send_text(ann, "/morph", reply_to=replied))
        assert off["text"] == "Morphs are turned off on this bot."
        assert "Morph" not in next_message(api, ann.id, lambda: api.send_text(ann, "/help"))["text"]
        assert "morph" not in command_names(api, PRIVATE) and "help" in command_names(api, PRIVATE)
        privacy = next_message(api, ann.id, lambda: api.send_text(ann, "/privacy"))["text"]
        assert "keep no user photo" in privacy and "Morph" not in privacy
    finally:
        assert running.stop() == 0
