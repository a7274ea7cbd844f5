"""Reliability end to end: bursts, floods, Telegram's faults, crashes, backups while running (hostile input:
`test_hostile_input.py`).

Each test runs the real bot (`python -m bot run`) as a subprocess against its own stand-in Bot API server.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot_checks import ADMIN, assert_clean_log, integrity, says
from tests.botapi import FakeBotAPI, User
from tests.botapi.harness import REPO, RunningBot, next_message, start_api
from tests.paths import photo

SMALL_SELFIES = (
    "barack_obama/obama-240p.jpg",
    "barack_obama/obama_small.jpg",
    "rose_leslie/rose_leslie_img2.jpg",
)
CELEBRITIES = {
    "Joe Biden": "joe_biden/biden.jpg",
    "Rose Leslie": "rose_leslie/rose_leslie_img1.jpg",
    "Kit Harington": "kit_harington/kit_harington_john1.jpeg",
}


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    server = start_api()
    yield server
    server.stop_thread()


def add_celebrities(api: FakeBotAPI) -> None:
    for name, relative in CELEBRITIES.items():
        added = says(
            api, ADMIN, lambda n=name, r=relative: api.send_photo(ADMIN, photo(r), caption=f"/add {n}")
        )
        assert added.splitlines() == [f"Adding {name}:", "✅ photo 1: added"]


def job_rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT chat_id, message_id FROM job").fetchall()


def polling_after(api: FakeBotAPI, update_id: int, timeout: float = 60) -> None:
    """Wait until the bot polls again having taken `update_id`: it is back in its long poll, and Telegram
    counts that update (and every one before it) as delivered."""
    api.wait_for_request_sync(
        "getUpdates", lambda r: int(r["params"].get("offset") or 0) > update_id, timeout=timeout
    )


def answers_per_message(api: FakeBotAPI) -> Counter:
    """How often the bot replied to each (chat, message)."""
    return Counter(
        (entry["chat_id"], entry["reply_to_message_id"])
        for entry in list(api.sent)
        if entry["reply_to_message_id"] is not None
    )


# 4. A crash


@pytest.mark.parametrize("confirmed", [False, True], ids=["update-unconfirmed", "update-confirmed"])
def test_a_crash_mid_selfie_loses_nothing_and_the_selfie_is_answered_once(api, tmp_path, confirmed) -> None:
    db = tmp_path / "gallery.sqlite"
    first = RunningBot(api, db, admin_ids=str(ADMIN.id))
    add_celebrities(api)
    ann = User(40, "Ann")
    assert "Send me a selfie" in says(api, ann, lambda: api.send_text(ann, "/start"))
    polling_after(api, api.last_update_id)  # the bot is back in its long poll
    if not confirmed:
        api.inject("getUpdates", delay=60)  # the next poll (which would confirm the selfie) hangs
    api.inject("download", delay=60)  # the selfie hangs in work
    mark = len(api.sent)
    selfie = api.send_photo(ann, photo("barack_obama/obama-240p.jpg"))
    selfie_update = api.last_update_id
    api.wait_for_request_sync("download", lambda r: r["fault"] is not None, timeout=60)
    if confirmed:
        polling_after(api, selfie_update)
    first.kill()
    assert api.sent_to(ann)[-1]["text"] is not None  # the /start answer; nothing for the selfie yet
    assert len(api.sent) == mark
    waiting = [u["message"]["message_id"] for u in api.pending_updates if "message" in u]
    assert waiting == ([] if confirmed else [selfie["message_id"]])
    assert job_rows(db) == [(ann.id, selfie["message_id"])]  # accepted, durably

    second = RunningBot(api, db, admin_ids=str(ADMIN.id))
    reply = api.wait_for_sent_sync(chat_id=ann.id, start=mark, timeout=60)[0]
    assert reply["method"] == "sendPhoto" and reply["reply_to_message_id"] == selfie["message_id"]
    assert reply["caption"].splitlines()[1].startswith("1. ")
    listing = says(api, ADMIN, lambda: api.send_text(ADMIN, "/list"))  # the gallery is intact
    for name in CELEBRITIES:
        assert f"{name} — 1 photos" in listing
    if not confirmed:  # Telegram delivered the selfie's update again: the bot saw it and let the job answer
        second.wait_for_log(lambda text: "delivered again, already taken from the job table" in text, 60)
    assert second.stop() == 0  # a clean stop finishes the work in progress: whatever was to come has come
    assert [e for e in api.sent[mark:] if e["chat_id"] == ann.id] == [reply]  # once, and no "one at a time"

    assert job_rows(db) == []
    assert integrity(db) == "ok"
    assert max(answers_per_message(api).values()) == 1
    starts = [e for e in api.sent_to(ann) if (e["text"] or "").startswith("Hi Ann")]
    assert len(starts) == 1  # a confirmed update is not delivered again
    assert_clean_log(first)
    assert_clean_log(second)


# 3. Telegram's faults


def _selfie_answered(api: FakeBotAPI, user: User, relative: str = "barack_obama/obama-240p.jpg") -> dict:
    reply = next_message(api, user.id, lambda: api.send_photo(user, photo(relative)), timeout=60)
    assert reply["method"] == "sendPhoto", reply["text"]
    assert reply["caption"].startswith("Your closest celebrities:")
    return reply


def _faulted(api: FakeBotAPI, method: str, since: int) -> list[dict]:
    return [r for r in api.requests[since:] if r["method"].lower() == method.lower() and r["fault"]]


def _gaps(api: FakeBotAPI, method: str, since: int) -> list[float]:
    times = [r["time"] for r in api.requests[since:] if r["method"].lower() == method.lower()]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def test_telegram_faults_are_retried_with_backoff_and_the_user_still_gets_the_answer(api, tmp_path) -> None:
    bot = RunningBot(api, tmp_path / "gallery.sqlite")

    # getUpdates: two 5xx answers and a dropped connection; PTB's updater polls again, slower each time
    ann = User(50, "Ann")
    since = len(api.requests)  # before the faults: a long poll may time out and hit one at any moment
    api.inject("getUpdates", status=502, times=2)
    api.inject("getUpdates", drop=True)
    # The long poll in flight when the faults are set may bring /start itself; the polls after it meet the
    # faults. The selfie is sent once all three have happened, so its answer shows polling came back.
    mark = len(api.sent)
    api.send_text(ann, "/start")
    (start,) = api.wait_for_sent_sync(chat_id=ann.id, start=mark, count=1, timeout=60)
    assert start["text"].startswith("Hi Ann")
    deadline = time.monotonic() + 60
    while len(_faulted(api, "getUpdates", since)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    mark = len(api.sent)
    api.send_photo(ann, photo("barack_obama/obama-240p.jpg"))
    (collage,) = api.wait_for_sent_sync(chat_id=ann.id, start=mark, count=1, timeout=60)
    assert collage["method"] == "sendPhoto"
    failed = _faulted(api, "getUpdates", since)
    assert len(failed) == 3
    assert all(b["time"] - a["time"] >= 0.9 for a, b in itertools.pairwise(failed))  # 1 s, then 1.5 s

    # getFile and the download: a 5xx, a dropped connection and a timeout each (read timeout 5 s)
    for method, user in (("getFile", User(51, "Bob")), ("download", User(52, "Cat"))):
        api.inject(method, status=500)
        api.inject(method, drop=True)
        api.inject(method, delay=6)
        since = len(api.requests)
        _selfie_answered(api, user)
        assert len(_faulted(api, method, since)) == 3
        gaps = _gaps(api, method, since)
        if method == "download":
            # A GET whose kept-alive connection the server closed is sent again at once by the HTTP client
            # (RFC 9112, 9.3.1.1); PTB's backoff then follows the timeout
            assert len(gaps) == 3 and gaps[0] >= 0.45 and gaps[1] < 0.45 and gaps[2] >= 4.9, gaps
        else:
            assert len(gaps) == 3 and gaps[0] >= 0.45 and gaps[1] >= 0.9 and gaps[2] >= 4.9, gaps

    # sendPhoto: 429 with retry_after (PTB's AIORateLimiter waits it out), then a 5xx and a dropped connection
    dan = User(53, "Dan")
    api.inject("sendPhoto", status=429, retry_after=1)
    api.inject("sendPhoto", status=503)
    api.inject("sendPhoto", drop=True)
    since = len(api.requests)
    _selfie_answered(api, dan)
    assert len(_faulted(api, "sendPhoto", since)) == 3
    gaps = _gaps(api, "sendPhoto", since)
    assert len(gaps) == 3 and gaps[0] >= 1.0 and gaps[1] >= 0.45, gaps
    assert len([m for m in api.sent_to(dan) if m["method"] == "sendPhoto"]) == 1  # no duplicate

    assert bot.stop() == 0
    log = assert_clean_log(bot)
    assert "retrying" in log  # the retries are visible, one line each


# 1. A burst, 2. a flood

BUSY = "I am very busy right now — please try again in a minute."
ONE_AT_A_TIME = "I am still working on your previous photo — one at a time, please."


def test_a_burst_of_selfies_gets_every_answer_and_admission_control_bounds_the_work(api, tmp_path) -> None:
    bot = RunningBot(api, tmp_path / "gallery.sqlite", env={"LOOKALIKE_QUEUE_LIMIT": "8"})
    users = [User(1000 + n, f"User {n}") for n in range(40)]
    selfies = {relative: photo(relative) for relative in SMALL_SELFIES}
    eve = User(1100, "Eve")
    # The first admitted selfies' downloads take 4 s (under PTB's 5 s read timeout): they hold their
    # places while the rest of the burst arrives, however slowly a loaded machine queues it.
    api.inject("download", delay=4, times=8)
    since, mark = len(api.requests), len(api.sent)
    for n, user in enumerate(users):
        api.send_photo(user, selfies[SMALL_SELFIES[n % len(SMALL_SELFIES)]])
        if n == 20:  # in the middle of the burst: a plain command
            start_mark = len(api.sent)
            api.send_text(eve, "/start")

    hello = api.wait_for_sent_sync(chat_id=eve.id, start=start_mark, timeout=60)[0]
    assert hello["text"].startswith("Hi Eve")

    ids = {user.id for user in users}
    api.wait_for_sent_sync(lambda e: e["chat_id"] in ids, start=mark, count=40, timeout=300)
    assert bot.stop() == 0  # a clean stop finishes the work in progress: nothing more can come
    replies = [e for e in api.sent[mark:] if e["chat_id"] in ids]
    # the command did not wait for the photos: it was answered before any collage
    assert api.sent.index(hello) < min(api.sent.index(e) for e in replies if e["method"] == "sendPhoto")
    assert sorted(e["chat_id"] for e in replies) == sorted(ids)  # everyone, exactly once
    collages = [e for e in replies if e["method"] == "sendPhoto"]
    busy = [e for e in replies if e["text"] == BUSY]
    assert len(collages) + len(busy) == 40
    assert busy and len(collages) >= 8  # the limit engaged instead of an unbounded queue
    # refused selfies were never downloaded: memory holds at most the admitted ones
    assert len([r for r in api.requests[since:] if r["method"] == "getFile"]) == len(collages)
    assert_clean_log(bot)


def test_a_flood_from_one_user_keeps_one_photo_in_flight_and_others_are_served(api, tmp_path) -> None:
    bot = RunningBot(api, tmp_path / "gallery.sqlite")
    flooder, other = User(60, "Flo"), User(61, "Ola")
    api.inject("download", delay=3)  # the first admitted photo stays in work while the flood arrives
    since, mark = len(api.requests), len(api.sent)
    flood = [api.send_photo(flooder, photo("barack_obama/obama_small.jpg")) for _ in range(20)]
    api.wait_for_sent_sync(chat_id=flooder.id, start=mark, count=19, timeout=30)
    api.send_photo(other, photo("rose_leslie/rose_leslie_img2.jpg"))

    api.wait_for_sent_sync(chat_id=flooder.id, start=mark, count=20, timeout=60)
    served = api.wait_for_sent_sync(chat_id=other.id, start=mark, timeout=60)[0]
    assert served["method"] == "sendPhoto"
    assert bot.stop() == 0  # a clean stop finishes the work in progress: nothing more can come
    replies = [e for e in api.sent[mark:] if e["chat_id"] == flooder.id]
    assert len(replies) == 20
    assert sorted(e["reply_to_message_id"] for e in replies) == sorted(m["message_id"] for m in flood)
    assert [e["method"] for e in replies].count("sendPhoto") == 1
    assert [e["text"] for e in replies].count(ONE_AT_A_TIME) == 19
    assert len([r for r in api.requests[since:] if r["method"] == "getFile"]) == 2  # flooder's one + other's
    assert_clean_log(bot)


# 6. Backups while the bot writes

GALLERY_PHOTOS = [
    ("Joe Biden", "joe_biden/biden.jpg"),
    ("Joe Biden", "joe_biden/biden_biden2.jpg"),
    ("Rose Leslie", "rose_leslie/rose_leslie_img1.jpg"),
    ("Rose Leslie", "rose_leslie/rose_leslie_img2.jpg"),
    ("Kit Harington", "kit_harington/kit_harington_john1.jpeg"),
    ("Kit Harington", "kit_harington/kit_harington_john2.jpeg"),
    ("Kit Harington", "kit_harington/test_johnsnow_test1.jpg"),
    ("Alex Lacamoire", "alex_lacamoire/alex_lacamoire_img1.jpg"),
    ("Alex Lacamoire", "alex_lacamoire/test_alex_lacamoire1.jpg"),
    ("Barack Obama", "barack_obama/obama.jpg"),
    ("Barack Obama", "barack_obama/obama2.jpg"),
    ("Barack Obama", "barack_obama/test_obama1.jpg"),
]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`lookalike ARGS` in a folder without a .env."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_a_backup_taken_while_the_bot_adds_photos_is_a_consistent_gallery(api, tmp_path) -> None:
    db = tmp_path / "gallery.sqlite"
    bot = RunningBot(api, db, admin_ids=str(ADMIN.id))
    added: list[str] = []
    # Each add after the first waits for a backup to have started: the copies and the adds interleave
    # whatever their speeds (a quick analysis can add every photo before one CLI has started).
    backup_started = threading.Event()

    def keep_adding() -> None:
        for name, relative in GALLERY_PHOTOS:
            reply = says(
                api, ADMIN, lambda n=name, r=relative: api.send_photo(ADMIN, photo(r), caption=f"/add {n}")
            )
            if "✅" in reply:
                added.append(name)
            backup_started.wait(timeout=120)
            backup_started.clear()

    writer = threading.Thread(target=keep_adding)
    writer.start()
    while not added and writer.is_alive():  # an empty gallery would be listed as the demo gallery
        time.sleep(0.05)
    backups = []
    while writer.is_alive() or len(backups) < 3:
        target = tmp_path / f"backup-{len(backups)}.sqlite"
        before = len(added)
        backup_started.set()
        result = _cli("--db", str(db), "backup", str(target), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        backups.append((target, before, len(added), writer.is_alive()))
    writer.join()
    assert len(added) >= 10
    assert any(alive for *_, alive in backups)  # at least one copy was taken while photos were being added

    listed = backups[:: max(1, len(backups) // 3)][:3]  # the CLI takes a second each: three of them
    with concurrent.futures.ThreadPoolExecutor() as executor:
        listings = dict(
            zip(
                [b[0] for b in listed],
                executor.map(lambda b: _cli("--db", str(b[0]), "list", "--json", cwd=tmp_path), listed),
                strict=True,
            )
        )
    for target, before, after, _ in backups:
        with sqlite3.connect(target) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
            photos = connection.execute("SELECT COUNT(*) FROM photo").fetchone()[0]
            # a celebrity and its first photo are one transaction: never one without the other
            bare = "SELECT COUNT(*) FROM celebrity WHERE id NOT IN (SELECT celebrity_id FROM photo)"
            assert connection.execute(bare).fetchone()[0] == 0
        assert before <= photos <= after + 1  # everything committed before the copy began is in it
        if target in listings:
            assert listings[target].returncode == 0, listings[target].stderr
            celebrities = json.loads(listings[target].stdout)["celebrities"]
            assert sum(c["photos"] for c in celebrities) == photos
            assert all(c["photos"] >= 1 for c in celebrities)

    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM photo").fetchone()[0] == len(added)
    assert bot.stop() == 0
    assert_clean_log(bot)
