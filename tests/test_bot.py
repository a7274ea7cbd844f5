"""The bot end to end: the real application in a subprocess, over real HTTP, against the stand-in Bot API."""

from __future__ import annotations

import io
import signal
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image

from tests.botapi import FakeBotAPI, User, group
from tests.botapi.harness import TOKEN, RunningBot, next_message, start_api
from tests.paths import face, photo

ADMIN = User(900, "Admin", "en")
KO_ADMIN = User(901, "관리자", "ko")


def image_of(message: dict) -> Image.Image:
    assert message["method"] == "sendPhoto", message
    return Image.open(io.BytesIO(message["photo"]))


@pytest.fixture(scope="module")
def bot(api: FakeBotAPI, tmp_path_factory) -> Iterator[RunningBot]:
    running = RunningBot(
        api, tmp_path_factory.mktemp("bot") / "gallery.sqlite", admin_ids=f"{ADMIN.id},{KO_ADMIN.id}"
    )
    yield running
    assert running.stop() == 0


def test_the_start_up_line_says_the_demo_gallery_answers_and_how_to_add_celebrities(bot) -> None:
    ready = next(line for line in bot.log.splitlines() if " ready: " in line)
    assert "is empty, so the DEMO gallery answers (6 celebrities, 8 photos)" in ready
    assert "/add NAME" in ready and "lookalike import DIR" in ready
    assert "0 celebrities" not in ready
    assert "inline mode OFF: Share needs BotFather's /setinline" in ready  # the stand-in's default


def test_a_selfie_gets_a_collage_with_the_top_five_in_the_caption(api, bot) -> None:
    ann = User(1, "Ann")
    reply = next_message(api, 1, lambda: api.send_photo(ann, photo("barack_obama/test_obama1.jpg")))
    collage = image_of(reply)
    assert collage.format == "JPEG" and collage.width + collage.height <= 10_000
    lines = reply["caption"].splitlines()
    assert lines[0] == "Your closest celebrities:"
    assert lines[1].startswith("1. Barack Obama — ")
    assert len([line for line in lines if line[:2] in {f"{n}." for n in range(1, 10)}]) == 5  # of six
    assert lines[-1] == "Photo credits: /credits"  # the demo gallery's photos are credited too


def test_an_answer_that_takes_longer_than_a_second_shows_sending_photo_meanwhile(api, bot) -> None:
    """The indicator waits a second (a fast answer sends none); a photo whose download is held back
    shows it, and then gets its collage."""
    cleo = User(11, "Cleo")
    mark = len(api.requests)
    held = api.hold("getFile")
    api.send_photo(cleo, photo("barack_obama/test_obama1.jpg"))
    held.wait_reached()
    action = api.wait_for_request_sync(
        "sendChatAction", lambda r: r["params"]["chat_id"] == cleo.id, timeout=60
    )[0]
    assert action["params"]["action"] == "upload_photo"
    held.release()
    answer = api.wait_for_sent_sync(chat_id=cleo.id, timeout=120)[0]
    assert answer["method"] == "sendPhoto"
    getfile = next(r for r in api.requests[mark:] if r["method"] == "getFile")
    assert action["time"] - getfile["time"] >= 0.9  # not before the second was up


def test_an_image_sent_as_a_file_keeps_its_exif_rotation(api, bot) -> None:
    upright = Image.open(face("kit_harington/test_johnsnow_test1.jpg")).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned counter-clockwise, as phones do
    buffer = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_90).save(buffer, "JPEG", exif=exif.tobytes())
    bob = User(2, "Bob")
    reply = next_message(
        api, 2, lambda: api.send_document(bob, buffer.getvalue(), "selfie.jpg", "image/jpeg")
    )
    image_of(reply)
    assert reply["caption"].splitlines()[1].startswith("1. Kit Harington")


def test_korean_users_get_korean_texts(api, bot) -> None:
    jimin = User(3, "지민", "ko")
    start = next_message(api, 3, lambda: api.send_text(jimin, "/start"))
    assert "셀카" in start["text"] and "지민" in start["text"]
    reply = next_message(api, 3, lambda: api.send_photo(jimin, photo("rose_leslie/rose_leslie_img2.jpg")))
    assert reply["caption"].startswith("가장 닮은 연예인:")
    assert reply["caption"].splitlines()[1].startswith("1. Rose Leslie")
    privacy = next_message(api, 3, lambda: api.send_text(jimin, "/privacy"))
    assert "보관하지 않아요" in privacy["text"]


def test_help_and_privacy_explain_groups_and_what_is_kept(api, bot) -> None:
    ann = User(4, "Ann")
    text = next_message(api, 4, lambda: api.send_text(ann, "/help"))["text"]
    assert "/lookalike" in text and "/game" in text and "6 celebrities" in text
    assert "as an album" in text  # the steadier answer (bench/calibration.py) is worth knowing about
    assert "nearly tied, your last answer stays first" in text  # and why an answer may not move
    privacy = next_message(api, 4, lambda: api.send_text(ann, "/privacy"))["text"]
    assert "keep no user photo" in privacy
    assert "reference to each collage" not in privacy  # inline mode is off: nothing is kept to share


def _blank_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (90, 140, 200)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("send", "expected"),
    [
        (lambda api, u: api.send_photo(u, _blank_png()), "could not find a face"),
        (
            lambda api, u: api.send_document(
                u, photo("barack_obama/obama.jpg")[:5000], "cut.jpg", "image/jpeg"
            ),
            "could not read this image",
        ),
        (
            lambda api, u: api.send_document(u, b"%PDF-1.4 not a photo", "cv.pdf", "application/pdf"),
            "not an image",
        ),
        (
            lambda api, u: api.send_document(u, b"GIF89a-but-not-really", "x.gif", "image/gif"),
            "could not read",
        ),
        (
            lambda api, u: api.send_document(u, b"\0" * (21 * 1024 * 1024), "huge.jpg", "image/jpeg"),
            "too big",
        ),
        (lambda api, u: api.send_text(u, "hello there"), "Send me a selfie"),
        (lambda api, u: api.send_sticker(u), "only look at photos"),
        (lambda api, u: api.send_video(u), "only look at photos"),
    ],
    ids=["no-face", "truncated", "pdf", "fake-gif", "over-20mb", "text", "sticker", "video"],
)
def test_every_bad_input_gets_a_specific_friendly_answer(api, bot, send, expected) -> None:
    user = User(10, "Tester")
    reply = next_message(api, 10, lambda: send(api, user))
    assert reply["method"] == "sendMessage"
    assert expected in reply["text"]
    assert "Traceback" not in reply["text"]


def test_a_photo_with_several_faces_ranks_the_biggest_and_says_so(api, bot) -> None:
    ann = User(11, "Ann")
    reply = next_message(api, 11, lambda: api.send_photo(ann, photo("multiple/test_kit_with_rose.jpg")))
    image_of(reply)
    assert reply["caption"].splitlines()[1].startswith("1. Kit Harington")
    assert "found 2 faces" in reply["caption"]


def _admin_says(api: FakeBotAPI, user: User, action: Callable[[], object]) -> str:
    return next_message(api, user.id, action)["text"]


def _gallery(api: FakeBotAPI) -> str:
    return _admin_says(api, ADMIN, lambda: api.send_text(ADMIN, "/list"))


def test_admins_curate_the_gallery_and_strangers_change_nothing(api, bot) -> None:
    stranger = User(12, "Mallory")
    refused = _admin_says(
        api, stranger, lambda: api.send_photo(stranger, photo("joe_biden/biden.jpg"), caption="/add Joe")
    )
    assert "only the bot's admins" in refused
    for command in ("/remove Joe", "/rename A | B", "/list", "/stats", "/export"):
        assert "only the bot's admins" in _admin_says(
            api, stranger, lambda c=command: api.send_text(stranger, c)
        )
    assert "The gallery is empty" in _gallery(api)

    added = _admin_says(
        api, ADMIN, lambda: api.send_photo(ADMIN, photo("joe_biden/biden.jpg"), caption="/add 조 바이든")
    )
    assert added.splitlines() == ["Adding 조 바이든:", "✅ photo 1: added"]

    # an album: the caption is on the first item only
    album = [
        photo("barack_obama/obama.jpg"),
        photo("multiple/two_people.jpg"),
        photo("barack_obama/obama2.jpg"),
    ]
    result = _admin_says(api, ADMIN, lambda: api.send_album(ADMIN, album, caption="/add Barack Obama"))
    assert result.splitlines() == [
        "Adding Barack Obama:",
        "✅ photo 1: added",
        "❌ photo 2: several faces — a gallery photo needs exactly one",
        "✅ photo 3: added",
    ]

    # /add as a reply to a photo; the same photo again is a duplicate
    posted: dict = {}
    next_message(
        api, ADMIN.id, lambda: posted.update(api.send_photo(ADMIN, photo("rose_leslie/rose_leslie_img1.jpg")))
    )
    by_reply = _admin_says(api, ADMIN, lambda: api.send_text(ADMIN, "/add Rose Leslie", reply_to=posted))
    assert by_reply.splitlines()[1] == "✅ photo 1: added"
    again = _admin_says(api, ADMIN, lambda: api.send_text(ADMIN, "/add rose leslie", reply_to=posted))
    assert again.splitlines() == ["Adding Rose Leslie:", "↩️ photo 1: already in the gallery"]

    listing = _gallery(api)
    assert "Barack Obama — 2 photos" in listing and "조 바이든 — 1 photos" in listing

    assert _admin_says(api, ADMIN, lambda: api.send_text(ADMIN, "/rename 조 바이든 | Joe Biden")) == (
        "Renamed 조 바이든 to Joe Biden."
    )
    assert "is already in the gallery" in _admin_says(
        api, ADMIN, lambda: api.send_text(ADMIN, "/rename joe biden | BARACK OBAMA")
    )
    assert _admin_says(api, ADMIN, lambda: api.send_text(ADMIN, "/remove rose leslie")).startswith(
        "Removed Rose Leslie"
    )
    assert "nobody called" in _admin_says(api, ADMIN, lambda: api.send_text(ADMIN, "/remove Rose Leslie"))
    listing = _gallery(api)
    assert "Joe Biden — 1 photos" in listing and "Rose" not in listing

    # users are now ranked against the real gallery, not the demo
    ann = User(13, "Ann")
    reply = next_message(api, 13, lambda: api.send_photo(ann, photo("barack_obama/test_obama1.jpg")))
    ranked = reply["caption"].splitlines()[1:]
    assert (
        len(ranked) == 2 and ranked[0].startswith("1. Barack Obama") and ranked[1].startswith("2. Joe Biden")
    )

    stats = _admin_says(api, ADMIN, lambda: api.send_text(ADMIN, "/stats"))
    assert "2 celebrities, 3 photos" in stats

    exported = next_message(api, ADMIN.id, lambda: api.send_text(ADMIN, "/export"))
    assert exported["method"] == "sendDocument"
    with zipfile.ZipFile(io.BytesIO(exported["document"])) as archive:
        labels = archive.read("metadata.tsv").decode().splitlines()
        vectors = archive.read("vectors.tsv").decode().splitlines()
    assert sorted(labels) == ["Barack Obama", "Barack Obama", "Joe Biden"] and len(vectors) == 3


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_admins_import_a_zip_of_photos_in_both_layouts(api, bot) -> None:
    archive = _zip(
        {
            "Kit Harington/1.jpeg": photo("kit_harington/kit_harington_john1.jpeg"),
            "Kit Harington/2.jpeg": photo("kit_harington/kit_harington_john2.jpeg"),
            "알렉스.jpg": photo("alex_lacamoire/alex_lacamoire_img1.jpg"),
            "../escape.jpg": photo("joe_biden/biden_biden2.jpg"),
            "inner.zip": _zip({"x.jpg": b"x"}),
            "notes.txt": b"hello",
        }
    )
    mark = len(api.sent)
    api.send_document(KO_ADMIN, archive, "celebs.zip", "application/zip", caption="/import")
    started, done = api.wait_for_sent_sync(chat_id=KO_ADMIN.id, start=mark, count=2, timeout=90)
    assert started["text"].startswith("사진 3장 가져오는 중")
    summary = done["text"]
    assert summary.startswith("가져오기 완료: 3장 추가, 0장 이미 있음, 3장 거절.")
    assert "unsafe path" in summary and "nested archive" in summary and "not an image" in summary
    listing = _gallery(api)
    assert "Kit Harington — 2 photos" in listing and "알렉스 — 1 photos" in listing


def test_groups_answer_only_what_is_addressed_to_the_bot(api, bot) -> None:
    friends = group(-1001, "Friends")
    ann, bob = User(20, "Ann"), User(21, "Bob")
    captioned = next_message(
        api,
        friends.id,
        lambda: api.send_photo(ann, photo("joe_biden/biden_biden2.jpg"), caption="/lookalike", chat=friends),
    )
    assert captioned["reply_to_message_id"] is not None and captioned["caption"].splitlines()[1].startswith(
        "1. Joe Biden"
    )

    plain = api.send_photo(bob, photo("rose_leslie/rose_leslie_img2.jpg"), caption="look at us", chat=friends)
    by_reply = next_message(
        api, friends.id, lambda: api.send_text(bob, "/lookalike", chat=friends, reply_to=plain)
    )
    assert by_reply["method"] == "sendPhoto"
    mention = next_message(
        api,
        friends.id,
        lambda: api.send_photo(
            ann,
            photo("kit_harington/test_johnsnow_test1.jpg"),
            caption="who is this @lookalike_test_bot",
            chat=friends,
        ),
    )
    assert mention["caption"].splitlines()[1].startswith("1. Kit Harington")
    hint = next_message(api, friends.id, lambda: api.send_text(ann, "/lookalike", chat=friends))
    assert "/lookalike" in hint["text"]

    # a group where the bot is an admin sees every message: it must still ignore photos not meant for it
    open_group = group(-1002, "Open")
    api.set_chat_admins(open_group.id, [ann.id, api.bot_id])
    mark = len(api.sent)
    api.send_photo(bob, photo("barack_obama/obama.jpg"), caption="holiday!", chat=open_group)
    api.send_photo(bob, photo("barack_obama/obama2.jpg"), chat=open_group)
    addressed = next_message(api, open_group.id, lambda: api.send_text(ann, "/help", chat=open_group))
    assert addressed["method"] == "sendMessage"
    assert [m["method"] for m in api.sent[mark:] if m["chat_id"] == open_group.id] == ["sendMessage"]


def test_command_lists_are_registered_per_scope_and_language(api, bot) -> None:
    private = [c["command"] for c in api.commands({"type": "all_private_chats"})]
    groups = [c["command"] for c in api.commands({"type": "all_group_chats"})]
    korean = api.commands({"type": "all_private_chats"}, language_code="ko")
    assert private == ["start", "help", "privacy", "credits", "morph"]  # the Morph button is on by default
    assert "lookalike" in groups and "add" not in groups
    assert korean and korean[0]["description"] == "시작"
    admin_scoped = [c["command"] for c in api.commands({"type": "chat", "chat_id": ADMIN.id})]
    assert admin_scoped == [] or "add" in admin_scoped  # set once the admin has a chat with the bot


def test_the_token_never_reaches_the_log(api, bot) -> None:
    log = bot.log
    assert "ready" in log
    for secret in (TOKEN, quote(TOKEN, safe=""), TOKEN.split(":")[1]):
        assert secret not in log
    assert "Traceback" not in log


def _settings_error(tmp_path: Path, **env: str) -> tuple[int, str]:
    import os
    import subprocess
    import sys

    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ADMIN_", "LOOKALIKE_"))
    }
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, result.stderr


def test_missing_or_malformed_settings_exit_2_with_one_line(tmp_path) -> None:
    status, stderr = _settings_error(tmp_path)
    assert status == 2 and stderr.strip() == "lookalike: bad settings: TELEGRAM_BOT_TOKEN is required"
    status, stderr = _settings_error(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, ADMIN_IDS="12, bob")
    assert status == 2 and len(stderr.strip().splitlines()) == 1 and "ADMIN_IDS" in stderr
    status, stderr = _settings_error(tmp_path, TELEGRAM_BOT_TOKEN="nonsense", GAME_ROUND_SECONDS="soon")
    assert status == 2 and "TELEGRAM_BOT_TOKEN" in stderr and "GAME_ROUND_SECONDS" in stderr
    assert "nonsense" not in stderr  # a mistyped token is not echoed either


def test_sigterm_finishes_the_work_in_progress_and_exits_0(tmp_path) -> None:
    api = start_api()
    try:
        bot = RunningBot(api, tmp_path / "g.sqlite", env={"LOG_LEVEL": "DEBUG"})
        ann = User(30, "Ann")
        mark = len(api.sent)
        api.send_photo(ann, photo("barack_obama/obama-1080p.jpg"))
        api.wait_for_request_sync("getFile", timeout=30)  # the selfie is in work
        bot.process.send_signal(signal.SIGTERM)
        bot.process.send_signal(signal.SIGINT)  # a second signal while stopping (uv run may forward one)
        assert bot.stop(timeout=60) == 0
        reply = api.wait_for_sent_sync(chat_id=30, start=mark, timeout=5)[0]
        assert reply["method"] == "sendPhoto"
        log = bot.log
        assert "closed the gallery" in log and "Traceback" not in log
        assert TOKEN not in log and quote(TOKEN, safe="") not in log  # not even at DEBUG level
    finally:
        api.stop_thread()


def test_webhook_mode_serves_users_and_checks_the_secret(tmp_path) -> None:
    import socket

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = start_api()
    try:
        bot = RunningBot(
            api,
            tmp_path / "g.sqlite",
            env={
                "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
                "WEBHOOK_LISTEN": "127.0.0.1",
                "WEBHOOK_PORT": str(port),
                "WEBHOOK_SECRET": "s3cret-token",
            },
        )
        ann = User(40, "Ann")
        reply = next_message(api, 40, lambda: api.send_photo(ann, photo("barack_obama/test_obama1.jpg")))
        assert image_of(reply) and reply["caption"].splitlines()[1].startswith("1. Barack Obama")
        assert not api.calls("getUpdates")  # delivered by the webhook, not by polling
        forged = httpx.post(f"http://127.0.0.1:{port}/telegram", json={"update_id": 1}, timeout=10)
        assert forged.status_code == 403  # no secret token: not from Telegram
        assert bot.stop() == 0
        assert "Traceback" not in bot.log and TOKEN not in bot.log
    finally:
        api.stop_thread()


def test_a_long_gallery_list_is_paged(tmp_path) -> None:
    import asyncio

    import numpy as np

    from engine.faces import Face
    from store.gallery import Gallery

    async def seed(db: Path) -> None:
        rng = np.random.default_rng(5)
        thumbnail = face("barack_obama/obama_small.jpg").read_bytes()
        async with await Gallery.open(db) as gallery:
            for n in range(45):
                embedding = rng.normal(0, 0.1, 128).astype(np.float32)
                await gallery.add_face(
                    f"Celebrity {n:02d}", Face((0, 10, 10, 0), embedding, thumbnail), f"hash{n}"
                )

    db = tmp_path / "g.sqlite"
    asyncio.run(seed(db))
    api = start_api()
    try:
        bot = RunningBot(api, db, admin_ids=str(ADMIN.id))
        first = _admin_says(api, ADMIN, lambda: api.send_text(ADMIN, "/list")).splitlines()
        assert first[0] == "Celebrities (45), page 1 of 2:" and first[-1] == "More: /list 2"
        assert first[1] == "Celebrity 00 — 1 photos" and len(first) == 1 + 40 + 1
        second = _admin_says(api, ADMIN, lambda: api.send_text(ADMIN, "/list 2")).splitlines()
        assert second[0] == "Celebrities (45), page 2 of 2:" and second[1:] == [
            f"Celebrity {n} — 1 photos" for n in range(40, 45)
        ]
        assert bot.stop() == 0
    finally:
        api.stop_thread()
