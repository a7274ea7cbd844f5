"""The bot when its gallery's disk misbehaves, end to end over the stand-in Bot API: a foreign or broken
gallery file stops it before polling; a disk that fills up while it runs refuses every change in one line
(chat and Mini App) while selfies keep being answered, and takes changes again once there is room; a
round whose end meets a full disk waits and ends by itself; a read-only gallery, and a disk the kernel
turns read-only under the running bot, answer and say read-only. Real files on a real tmpfs or ext4
(see tests/disk.py)."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.webapp.initdata import sign
from engine.faces import FaceModels
from service.texts import EN, KO
from tests.botapi import FakeBotAPI, User, group
from tests.botapi.harness import TOKEN, RunningBot, bot_environment, next_message
from tests.disk import (
    NEW_PHOTO,
    Ext4,
    Tmpfs,
    beside,
    counts,
    digest,
    game_rows,
    make_gallery,
    mounted_ext4,
    mounted_tmpfs,
    real_faces,
)
from tests.paths import photo

ADMIN = User(900, "Admin", "en")
KO_ADMIN = User(901, "관리자", "ko")
SELFIE = "barack_obama/test_obama1.jpg"


@pytest.fixture(scope="module")
def faces(models: FaceModels) -> dict:
    return real_faces(models)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mini_app_post(port: int, path: str, body: dict) -> httpx.Response:
    """A Mini App request signed for the admin, as Telegram's client would send it."""
    fields = {"user": json.dumps({"id": ADMIN.id, "first_name": "A"}), "auth_date": str(int(time.time()))}
    headers = {"Authorization": f"tma {sign(fields, TOKEN)}"}
    return httpx.post(f"http://127.0.0.1:{port}{path}", json=body, headers=headers, timeout=60)


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def assert_collage(answer: dict) -> None:
    assert answer["method"] == "sendPhoto", answer.get("text")
    assert answer["caption"].splitlines()[1].startswith("1. Barack Obama")


# A foreign or broken gallery file: the bot does not start


def _other_application(db: Path) -> None:
    import sqlite3

    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")


def _random_bytes(db: Path) -> None:
    db.write_bytes(os.urandom(30_000))


@pytest.mark.parametrize("make", [_other_application, _random_bytes], ids=["other app", "random bytes"])
def test_the_bot_refuses_a_foreign_gallery_file_in_one_line_before_polling(
    api: FakeBotAPI, tmp_path: Path, make
) -> None:
    db = tmp_path / "their.sqlite"
    make(db)
    before, polled = digest(db), len(api.calls("getUpdates"))
    log_path = tmp_path / "bot.log"
    with log_path.open("w") as log:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "run"],
            env=bot_environment(api, db),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            timeout=300,
            check=False,
        )
    text = log_path.read_text()
    assert done.returncode == 1, text
    refused = [line for line in text.splitlines() if "cannot start" in line]
    assert len(refused) == 1 and str(db) in refused[0] and "not a usable lookalike gallery" in refused[0]
    assert "Traceback" not in text
    assert len(api.calls("getUpdates")) == polled  # never polled
    assert digest(db) == before and beside(db) == set()


# The disk fills up while the bot runs


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Tmpfs]:
    with mounted_tmpfs(tmp_path / "disk") as mounted:
        yield mounted


def on_disk(disk: Tmpfs | Ext4, tmp_path: Path) -> Path:
    """The bot's gallery path: a link to a file on the tmpfs (the harness writes the bot's log beside
    the gallery path, and the log must not be on the disk that is filled or made read-only)."""
    link = tmp_path / "gallery.sqlite"
    link.symlink_to(disk.root / "gallery.sqlite")
    return link


def test_a_full_disk_refuses_every_change_in_one_line_answers_selfies_and_players_and_recovers_without_restart(
    api: FakeBotAPI, disk: Tmpfs, faces: dict, tmp_path: Path
) -> None:
    db = on_disk(disk, tmp_path)
    make_gallery(db, faces)
    port = free_port()
    bot = RunningBot(
        api,
        db,
        admin_ids=f"{ADMIN.id},{KO_ADMIN.id}",
        env={
            "WEB_APP_URL": f"http://127.0.0.1:{port}/",
            "WEB_APP_PORT": str(port),
            "GAME_ROUND_SECONDS": "600",
        },
    )
    try:
        chat, ann, bea = group(-2201, "Full disk"), User(51, "Ann"), User(52, "Bea", "ko")
        round_ = next_message(api, chat.id, lambda: api.send_text(ann, "/game Barack Obama", chat=chat))
        bot.wait_for_log(
            lambda text: f"round started in chat {chat.id}" in text
        )  # recorded after it is posted
        disk.fill()
        before = counts(db)
        # a player's entry and /endgame: a player's words, not the admins' "no space" line
        entry = next_message(
            api, chat.id, lambda: api.send_photo(bea, photo(SELFIE), chat=chat, reply_to=round_["message"])
        )["text"]
        head, tail = KO.game_entry_unrecorded.split("{similarity:.1f}%")
        assert entry.startswith(head.format(player="Bea", name="Barack Obama")), entry
        assert entry.endswith(tail.format(name="Barack Obama")), entry
        ended = next_message(api, chat.id, lambda: api.send_text(ann, "/endgame", chat=chat))
        assert ended["text"] == EN.game_end_waits_disk_full.format(name="Barack Obama")
        after_endgame = len(api.sent)  # from now on the round ends by itself once there is room
        # a round started on the full disk cannot be recorded: its message is taken back, its starter told
        other = group(-2202, "Full disk too")
        mark = len(api.sent)
        api.send_text(bea, "/game Barack Obama", chat=other)
        posted, refused = api.wait_for_sent_sync(chat_id=other.id, start=mark, count=2, timeout=120)
        assert posted["method"] == "sendPhoto" and (other.id, posted["message"]["message_id"]) in api.deleted
        assert refused["text"] == KO.gallery_paused, refused["text"]
        # selfies are answered (the job row cannot be written: said once in the log)
        assert_collage(next_message(api, 31, lambda: api.send_photo(User(31, "Ann"), photo(SELFIE))))
        bot.wait_for_log(lambda text: "without a durable job" in text)
        stats = next_message(api, ADMIN.id, lambda: api.send_text(ADMIN, "/stats"))["text"]
        assert EN.stats_not_durable in stats
        # /add, /import and the Mini App's edits: one line each, nothing changed
        kit = photo(NEW_PHOTO)
        add = next_message(api, ADMIN.id, lambda: api.send_photo(ADMIN, kit, caption="/add Kit Harington"))
        assert add["text"] == EN.gallery_disk_full
        add_ko = next_message(
            api, KO_ADMIN.id, lambda: api.send_photo(KO_ADMIN, kit, caption="/add Kit Harington")
        )
        assert add_ko["text"] == KO.gallery_disk_full
        mark = len(api.sent)
        archive = zip_of({"Kit Harington/1.jpeg": kit})
        api.send_document(ADMIN, archive, "kit.zip", "application/zip", caption="/import")
        started, failed = api.wait_for_sent_sync(chat_id=ADMIN.id, start=mark, count=2, timeout=120)
        assert failed["text"] == EN.gallery_disk_full, (started["text"], failed["text"])
        edit = mini_app_post(port, "/api/celebrity/rename", {"name": "Joe Biden", "new_name": "Joseph Biden"})
        assert edit.status_code == 507 and edit.json()["error"] == "disk_full"
        assert "no space left on the gallery's disk: nothing was changed" in edit.json()["message"]
        assert counts(db) == before and before[0] == "ok"
        # room again: the next add works, in the same process
        disk.free()
        added = next_message(api, ADMIN.id, lambda: api.send_photo(ADMIN, kit, caption="/add Kit Harington"))
        assert added["text"].startswith(EN.add_result_head.format(name="Kit Harington")), added["text"]
        assert_collage(next_message(api, 32, lambda: api.send_photo(User(32, "Bo"), photo(SELFIE))))
        # the round ends, by itself (its end is tried again every minute) or at /endgame, whichever first
        api.send_text(ann, "/endgame", chat=chat)
        nobody = EN.game_nobody.format(name="Barack Obama")  # Bea's entry was not kept
        api.wait_for_sent_sync(lambda m: m.get("text") == nobody, chat_id=chat.id, start=after_endgame)
        bot.wait_for_log(lambda text: "recorded as durable jobs again" in text)
        assert "Traceback" not in bot.log
    finally:
        assert bot.stop() == 0
    assert counts(db)[:3] == ("ok", 4, 4)


# A round whose end meets a full disk

ROUND_SECONDS = 30  # the timer's end, and then the tries again (every round's length: shorter than 60 s)


def test_a_round_whose_end_meets_a_full_disk_stays_open_says_so_once_and_ends_by_itself_once_there_is_room(
    api: FakeBotAPI, disk: Tmpfs, faces: dict, tmp_path: Path
) -> None:
    db = on_disk(disk, tmp_path)
    make_gallery(db, faces)
    # The end waits for entries in work for as long as the test needs: Bea's, held below, always counts.
    env = {"GAME_ROUND_SECONDS": str(ROUND_SECONDS), "GAME_ENTRY_WAIT_SECONDS": "120"}
    bot = RunningBot(api, db, env=env)
    try:
        chat, min_, bea = group(-2301, "닮은꼴"), User(61, "민", "ko"), User(62, "Bea", "ko")
        round_ = next_message(api, chat.id, lambda: api.send_text(min_, "/game Barack Obama", chat=chat))
        bot.wait_for_log(lambda text: f"round started in chat {chat.id}" in text)
        # Bea's entry is recorded; while its answer is held (the entry in work: the timer's end waits for
        # it), the disk fills up. So the timer's end meets a full disk whatever the machine's speed.
        mark = len(api.sent)
        held = api.hold("sendMessage", lambda params: params.get("chat_id") == chat.id)
        api.send_photo(bea, photo(SELFIE), chat=chat, reply_to=round_["message"])
        entry = held.wait_reached(180)["text"]
        try:
            assert entry.startswith("Bea: Barack Obama와(과) ") and "(최고 기록:" in entry, entry
            disk.fill()
            before, rows = counts(db), game_rows(db)
            assert before[0] == "ok" and rows[0] == [(chat.id, "Barack Obama")] and len(rows[1]) == 1, rows
        finally:
            held.release()
        waits = KO.game_end_waits_disk_full.format(name="Barack Obama")
        told = api.wait_for_sent_sync(
            lambda m: m.get("text") == waits, chat_id=chat.id, start=mark, timeout=180
        )
        assert told[0]["reply_to_message_id"] == round_["message_id"]
        assert counts(db) == before and game_rows(db) == rows  # nothing half written: the round is open
        # /endgame on the full disk: the one who asked hears the same
        ended = next_message(api, chat.id, lambda: api.send_text(min_, "/endgame", chat=chat))
        assert ended["text"] == waits, ended
        # the end is tried again (a warning line each time), the chat is not told again
        failing = f"round in chat {chat.id} cannot end yet"
        attempts = bot.log.count(failing)  # the timer's and /endgame's
        bot.wait_for_log(lambda text: text.count(failing) > attempts, 180)
        assert [m["text"] for m in api.sent[mark:] if m["chat_id"] == chat.id].count(waits) == 2
        assert counts(db) == before and game_rows(db) == rows
        # room again: the round ends by itself, with its board, without a restart
        disk.free()
        head = KO.game_result_head.format(name="Barack Obama")
        board = api.wait_for_sent_sync(
            lambda m: (m.get("caption") or "").startswith(head), chat_id=chat.id, start=mark, timeout=180
        )[0]
        assert board["method"] == "sendPhoto" and board["caption"].splitlines()[1].startswith("1. Bea — ")
        assert board["reply_to_message_id"] == round_["message_id"]
        assert counts(db)[:3] == before[:3]
        assert game_rows(db) == ([], [], [(chat.id, "Bea", 1)])
        log = bot.log
        assert "Traceback" not in log and "unhandled" not in log
        failed = [line for line in log.splitlines() if "cannot end yet" in line]
        assert len(failed) >= 3 and all("WARNING" in line and "no space left" in line for line in failed)
    finally:
        assert bot.stop() == 0


# A read-only gallery (a restored backup, a read-only volume)


def test_a_read_only_gallery_answers_and_says_read_only_at_start_in_stats_and_to_changes(
    api: FakeBotAPI, disk: Tmpfs, faces: dict, tmp_path: Path
) -> None:
    db = on_disk(disk, tmp_path)
    make_gallery(db, faces)
    disk.read_only()
    bot = RunningBot(api, db, admin_ids=f"{ADMIN.id},{KO_ADMIN.id}")
    try:
        ready = next(line for line in bot.log.splitlines() if " ready: " in line)
        assert "(3 celebrities, 3 photos) — READ-ONLY" in ready
        assert_collage(next_message(api, 41, lambda: api.send_photo(User(41, "Cy"), photo(SELFIE))))
        assert (
            EN.stats_read_only in next_message(api, ADMIN.id, lambda: api.send_text(ADMIN, "/stats"))["text"]
        )
        refused = next_message(api, ADMIN.id, lambda: api.send_text(ADMIN, "/remove Joe Biden"))
        assert refused["text"] == EN.gallery_read_only
        refused_ko = next_message(api, KO_ADMIN.id, lambda: api.send_text(KO_ADMIN, "/rename Joe Biden | 조"))
        assert refused_ko["text"] == KO.gallery_read_only
        assert "Traceback" not in bot.log
    finally:
        assert bot.stop() == 0
    assert counts(db)[:3] == ("ok", 3, 3)


# The kernel turns the gallery's disk read-only while the bot runs (ext4's errors=remount-ro)


@pytest.fixture
def failing_disk(tmp_path: Path) -> Iterator[Ext4]:
    with mounted_ext4(tmp_path / "ext4", tmp_path / "ext4.img") as mounted:
        yield mounted


def test_a_disk_turned_read_only_under_the_running_bot_answers_selfies_and_refuses_changes_in_one_line(
    api: FakeBotAPI, failing_disk: Ext4, faces: dict, tmp_path: Path
) -> None:
    db = on_disk(failing_disk, tmp_path)
    make_gallery(db, faces)
    chat, ann = group(-2401, "Read-only"), User(71, "Ann")
    env = {"GAME_ROUND_SECONDS": "600"}
    bot = RunningBot(api, db, admin_ids=f"{ADMIN.id},{KO_ADMIN.id}", env=env)
    try:
        next_message(api, chat.id, lambda: api.send_text(ann, "/game Barack Obama", chat=chat))
        bot.wait_for_log(lambda text: f"round started in chat {chat.id}" in text)
        failing_disk.fail()  # from now on every write is refused (EROFS), under the open files
        assert_collage(next_message(api, 72, lambda: api.send_photo(User(72, "Di"), photo(SELFIE))))
        bot.wait_for_log(lambda text: "without a durable job" in text)
        kit = photo(NEW_PHOTO)
        add = next_message(api, ADMIN.id, lambda: api.send_photo(ADMIN, kit, caption="/add Kit Harington"))
        assert add["text"] == EN.gallery_read_only
        add_ko = next_message(
            api, KO_ADMIN.id, lambda: api.send_photo(KO_ADMIN, kit, caption="/add Kit Harington")
        )
        assert add_ko["text"] == KO.gallery_read_only
        ended = next_message(api, chat.id, lambda: api.send_text(ann, "/endgame", chat=chat))
        assert ended["text"] == EN.game_end_waits_read_only.format(name="Barack Obama")
        log = bot.log
        assert "Traceback" not in log and "unhandled" not in log, log
        refused = [
            line for line in log.splitlines() if "the gallery is read-only: nothing was changed" in line
        ]
        assert len(refused) >= 3 and all(" WARNING " in line for line in refused), refused
    finally:
        assert bot.stop() == 0
    # Restarted on the disk still read-only: it starts read-only, the open round waits (the chat is told),
    # selfies are answered.
    mark = len(api.sent)
    bot = RunningBot(api, db, admin_ids=str(ADMIN.id), env=env)
    try:
        ready = next(line for line in bot.log.splitlines() if " ready: " in line)
        assert "— READ-ONLY" in ready, ready
        waits = EN.game_end_waits_read_only.format(name="Barack Obama")
        api.wait_for_sent_sync(lambda m: m.get("text") == waits, chat_id=chat.id, start=mark)
        assert_collage(next_message(api, 73, lambda: api.send_photo(User(73, "Ed"), photo(SELFIE))))
        assert "Traceback" not in bot.log and "unhandled" not in bot.log, bot.log
    finally:
        assert bot.stop() == 0
    assert counts(db)[:3] == ("ok", 3, 3)
