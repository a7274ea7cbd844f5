"""/wikidata and /credits in chat, and credits.csv in an /import zip: the real bot over HTTP against the stand-in
Bot API, with Wikidata and Commons served by the stand-in of tests/wikimedia/."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

import pytest

from bot.handlers.wikidata_chat import summary_text
from service.texts import EN, KO
from store.wikidata_build import Report, Unresolved
from tests.botapi import FakeBotAPI, User
from tests.botapi.harness import RunningBot, next_message
from tests.paths import photo
from tests.wikimedia import WikimediaStandIn, korean_gallery

ADMIN = User(900, "Admin", "en")
KO_ADMIN = User(901, "관리자", "ko")


@pytest.fixture(scope="module")
def wm() -> Iterator[WikimediaStandIn]:
    with WikimediaStandIn() as server:
        yield korean_gallery(server)


@pytest.fixture(scope="module")
def bot(api: FakeBotAPI, wm: WikimediaStandIn, tmp_path_factory) -> Iterator[RunningBot]:
    running = RunningBot(
        api,
        tmp_path_factory.mktemp("bot") / "gallery.sqlite",
        admin_ids=f"{ADMIN.id},{KO_ADMIN.id}",
        env={**wm.env, "WIKIMEDIA_TIMEOUT": "2", "WIKIMEDIA_BACKOFF": "0.05"},
    )
    yield running
    assert running.stop() == 0


def test_wikidata_in_chat_shows_progress_in_one_message_then_the_summary(api, bot, wm) -> None:
    mark = len(api.sent)
    api.send_text(KO_ADMIN, "/wikidata Q1399 Q4717, Nobody Here")
    progress = api.wait_for_sent_sync(chat_id=KO_ADMIN.id, start=mark, timeout=30)[0]
    assert progress["method"] == "sendMessage" and progress["text"].startswith("위키데이터: 3명 중 0명")
    done = api.wait_for_sent_sync(
        lambda e: e["method"] == "editMessageText" and "명 추가" in (e["text"] or ""),
        chat_id=KO_ADMIN.id,
        start=mark,
        timeout=120,
    )[0]
    assert done["message_id"] == progress["message_id"]  # the same message, edited
    summary = done["text"].splitlines()
    assert summary[0] == "위키데이터: 1명 추가, 0명 갱신, 사진 1장 추가."
    assert "쓸 수 있는 사진 없음: Alex Lacamoire (Q4717)" in summary
    assert "찾지 못함: Nobody Here — 위키데이터에 그 이름의 사람이 없어요" in summary
    assert any(line.startswith("거절된 사진: 라이선스 3장") for line in summary), summary
    assert not [line for line in summary if re.search(r"[A-Za-z]{3,}", _without_names(line))], summary
    listing = next_message(api, ADMIN.id, lambda: api.send_text(ADMIN, "/list"))["text"]
    assert "로즈 레슬리 — 1 photos" in listing

    stranger = User(13, "Mallory")
    refused = next_message(api, stranger.id, lambda: api.send_text(stranger, "/wikidata Q76"))["text"]
    assert "only the bot's admins" in refused
    assert not [e for e in wm.requests("wbgetentities") if "Q76" in e.query.get("ids", "")]


def _without_names(line: str) -> str:
    """A summary line without what stays as Wikidata or the admin wrote it (names, Q-ids, P31≠Q5)."""
    for kept in ("Alex Lacamoire", "Nobody Here", "P31≠Q5"):
        line = line.replace(kept, "")
    return line


def test_credits_name_the_author_licence_and_page_and_the_caption_points_to_them(api, bot) -> None:
    ann = User(30, "Ann")
    credits = next_message(api, ann.id, lambda: api.send_text(ann, "/credits Rose Leslie"))["text"]
    lines = credits.splitlines()
    assert lines[0] == "Photo credits (1):"
    assert lines[1].startswith("로즈 레슬리: 김사진 (Kim & Co.), CC BY 2.0 — http://127.0.0.1:")
    assert lines[1].endswith("/wiki/File:Rose_Leslie_1.jpg")
    unknown = next_message(api, ann.id, lambda: api.send_text(ann, "/credits Nobody"))["text"]
    assert "There is nobody called Nobody" in unknown
    answer = next_message(api, ann.id, lambda: api.send_photo(ann, photo("rose_leslie/rose_leslie_img2.jpg")))
    assert answer["caption"].splitlines()[-1] == "Photo credits: /credits"


def test_an_imported_zip_keeps_the_credits_of_its_credits_csv(api, bot) -> None:
    rows = "path,author,license,license_url,source\nKit Harington/1.jpeg,Jane Doe,CC BY 4.0,https://creativecommons.org/licenses/by/4.0,https://example.org/kit\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("Kit Harington/1.jpeg", photo("kit_harington/kit_harington_john1.jpeg"))
        archive.writestr("credits.csv", rows)
    mark = len(api.sent)
    api.send_document(ADMIN, buffer.getvalue(), "kit.zip", "application/zip", caption="/import")
    started, done = api.wait_for_sent_sync(chat_id=ADMIN.id, start=mark, count=2, timeout=90)
    assert started["text"].startswith("Importing 1 photos")
    assert done["text"].startswith("Import done: 1 added")
    credits = next_message(api, ADMIN.id, lambda: api.send_text(ADMIN, "/credits Kit Harington"))["text"]
    assert "Kit Harington: Jane Doe, CC BY 4.0 — https://example.org/kit" in credits


def test_wikidata_unreachable_is_said_in_the_same_message_and_nothing_half_done_is_lost(api, bot, wm) -> None:
    wm.fail("wbgetentities", "503", times=6, retry_after=0)  # every attempt of one request (6 by default)
    mark = len(api.sent)
    api.send_text(ADMIN, "/wikidata Q6279")
    failed = api.wait_for_sent_sync(
        lambda e: e["method"] == "editMessageText", chat_id=ADMIN.id, start=mark, timeout=60
    )[0]
    assert failed["text"].startswith("Wikidata or Commons stayed unreachable (")
    assert "HTTP 503" in failed["text"] and "send the command again later" in failed["text"]
    assert "Traceback" not in bot.log
    listing = next_message(api, ADMIN.id, lambda: api.send_text(ADMIN, "/list"))["text"]
    assert "조 바이든" not in listing and "로즈 레슬리 — 1 photos" in listing


def test_the_summary_words_every_kind_of_note_in_the_admins_language_and_keeps_unknown_ones() -> None:
    report = Report(added=["로즈 레슬리"], photos_added=1, no_photo=["Alex Lacamoire (Q4717)"])
    report.refused.update({"license": 3, "download_failed (404)": 1, "a_newer_kind": 2})
    report.unresolved += [
        Unresolved("김민수", "ambiguous", {"count": 2, "choices": [["Q901", "김민수"], ["Q902", "김민수"]]}),
        Unresolved("Q14624", "not_person", {"label": "고양이"}),
        Unresolved("Q999999", "no_item"),
    ]
    assert summary_text(KO, report).splitlines()[1:] == [
        "거절된 사진: a_newer_kind 2장, 내려받기 실패 (404) 1장, 라이선스 3장",
        "쓸 수 있는 사진 없음: Alex Lacamoire (Q4717)",
        "찾지 못함: 김민수 — 2명이 해당돼요 (Q901 김민수, Q902 김민수). Q-id로 지정해 주세요",
        "찾지 못함: Q14624 — 고양이은(는) 사람이 아니에요 (P31≠Q5)",
        "찾지 못함: Q999999 — 위키데이터에 없는 항목이에요",
    ]
    assert summary_text(EN, report).splitlines()[1:] == [  # the English words the CLI's lines use
        "Photos refused: a_newer_kind 2, download_failed (404) 1, license 3",
        "No usable photo: Alex Lacamoire (Q4717)",
        "Not found: 김민수 — ambiguous: 2 people match (Q901 김민수, Q902 김민수); give the Q-id",
        "Not found: Q14624 — 고양이 is not a person (P31≠Q5)",
        "Not found: Q999999 — no such Wikidata item",
    ]
