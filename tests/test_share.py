"""Share (inline mode) end to end: the Share button on private collages, the user's own recent collages
offered by file id, never anyone else's, never a group's, expiry, Korean labels, and sharing off."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.botapi import FakeBotAPI, User, group
from tests.botapi.harness import RunningBot, next_message, start_api
from tests.paths import photo

SHARE_MINUTES = 0.5  # short, so that expiry can be seen; long enough for a loaded machine's answers


@pytest.fixture(scope="module")
def api() -> Iterator[FakeBotAPI]:
    """A stand-in server for a bot with inline mode on (BotFather's /setinline)."""
    server = start_api(inline_mode=True)
    yield server
    server.stop_thread()


@pytest.fixture(scope="module")
def bot(api: FakeBotAPI, tmp_path_factory) -> Iterator[RunningBot]:
    env = {"LOOKALIKE_SHARE_MINUTES": str(SHARE_MINUTES)}
    running = RunningBot(api, tmp_path_factory.mktemp("share") / "gallery.sqlite", env=env)
    yield running
    assert running.stop() == 0


def collage_for(api: FakeBotAPI, user: User, name: str) -> dict:
    """The bot's answer to `user`'s selfie `name` in their private chat (a collage)."""
    answer = next_message(api, user.id, lambda: api.send_photo(user, photo(name)), timeout=180)
    assert answer["method"] == "sendPhoto", answer
    return answer


def share_buttons(sent: dict) -> list[dict]:
    """The Share buttons under a sent message (the Morph button may stand beside them in the row)."""
    rows = (sent["reply_markup"] or {}).get("inline_keyboard", [])
    return [button for row in rows for button in row if "switch_inline_query" in button]


def share_button(sent: dict) -> dict:
    (button,) = share_buttons(sent)
    return button


def test_the_start_up_line_says_inline_mode_is_on(bot) -> None:
    ready = next(line for line in bot.log.splitlines() if " ready: " in line)
    assert "inline mode on: Share works" in ready


def test_a_private_collage_carries_a_share_button_in_the_users_language(api, bot) -> None:
    ann, jimin = User(501, "Ann"), User(502, "지민", "ko")
    english = share_button(collage_for(api, ann, "barack_obama/obama.jpg"))
    assert english == {"text": "📤 Share", "switch_inline_query": ""}  # opens the chat list
    assert share_button(collage_for(api, jimin, "joe_biden/biden.jpg"))["text"] == "📤 공유하기"


def test_share_offers_exactly_the_users_own_collages_newest_first(api, bot) -> None:
    bob, ben = User(511, "Bob"), User(512, "Ben", "ko")
    first = collage_for(api, bob, "barack_obama/obama.jpg")
    second = collage_for(api, bob, "kit_harington/test_johnsnow_test1.jpg")
    answer = api.ask_inline(bob)
    assert not answer["cached"] and answer["is_personal"] and 0 < answer["cache_time"] <= 10
    assert [r["photo_file_id"] for r in answer["results"]] == [
        sent["message"]["photo"][-1]["file_id"] for sent in (second, first)
    ]
    assert [r["caption"] for r in answer["results"]] == [second["caption"], first["caption"]]
    assert answer["results"][0]["type"] == "photo" and answer["button"] is None
    # picked in the chat list and sent to friends: exactly the collage Bob got
    friends = group(-5101, "Friends")
    shared = api.choose_inline_result(bob, answer, answer["results"][0]["id"], friends)
    assert shared["photo"][-1]["file_id"] == second["message"]["photo"][-1]["file_id"]
    assert shared["caption"] == second["caption"] and shared["via_bot"]["username"] == api.bot_username
    # a text the bot does not understand: the same answer as an empty one
    assert api.ask_inline(bob, "what is this?")["results"] == answer["results"]
    # another user, even asking the very same: nothing of Bob's, and a button to a private chat
    other = api.ask_inline(ben)
    assert not other["cached"] and other["results"] == []
    assert other["button"] == {
        "text": "아직 공유할 결과가 없어요: 셀카를 보내 주세요",
        "start_parameter": "share",
    }


def test_a_group_answer_is_never_offered(api, bot) -> None:
    carol = User(521, "Carol")
    friends = group(-5201, "Carol's group")
    answer = next_message(
        api,
        friends.id,
        lambda: api.send_photo(carol, photo("barack_obama/obama.jpg"), caption="/lookalike", chat=friends),
        timeout=180,
    )
    assert answer["method"] == "sendPhoto" and answer["reply_markup"] is None
    offered = api.ask_inline(carol)
    assert offered["results"] == [] and offered["button"]["text"].startswith("No result to share yet")


def test_a_shared_result_expires_after_the_share_minutes(api, bot) -> None:
    dan = User(531, "Dan")
    sent = collage_for(api, dan, "barack_obama/obama2.jpg")
    assert len(api.ask_inline(dan)["results"]) == 1
    time.sleep(max(0.0, sent["message"]["date"] + SHARE_MINUTES * 60 + 2 - time.time()))
    assert api.ask_inline(dan, "later")["results"] == []


def test_privacy_says_what_sharing_keeps_in_both_languages(api, bot) -> None:
    en = next_message(api, 541, lambda: api.send_text(User(541, "Eve"), "/privacy"))["text"]
    assert "Telegram's reference to each collage" in en and "not your photo" in en
    assert f"for {SHARE_MINUTES:g} minutes, in memory only" in en
    ko = next_message(api, 542, lambda: api.send_text(User(542, "서연", "ko"), "/privacy"))["text"]
    assert "사진은 아니에요" in ko and f"{SHARE_MINUTES:g}분" in ko


def test_share_minutes_0_turns_sharing_and_the_button_off(tmp_path) -> None:
    api = start_api(inline_mode=True)
    try:
        off = RunningBot(api, tmp_path / "gallery.sqlite", env={"LOOKALIKE_SHARE_MINUTES": "0"})
        try:
            assert "sharing off (LOOKALIKE_SHARE_MINUTES=0)" in off.log
            fay = User(551, "Fay")
            assert share_buttons(collage_for(api, fay, "barack_obama/obama.jpg")) == []
            nothing = api.ask_inline(fay)
            assert nothing["results"] == [] and nothing["button"]["start_parameter"] == "share"
            privacy = next_message(api, fay.id, lambda: api.send_text(fay, "/privacy"))["text"]
            assert "reference to each collage" not in privacy
        finally:
            assert off.stop() == 0
    finally:
        api.stop_thread()
