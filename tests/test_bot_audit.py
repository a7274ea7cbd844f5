"""The bot end to end for calibration, audits and selfie albums: one answer for an album, warnings on /add,
/audit with its picture and decisions, /stats saying how the similarity % is computed."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image

from tests.botapi import FakeBotAPI, User
from tests.botapi.harness import RunningBot, next_message
from tests.paths import photo

ADMIN = User(950, "Admin", "en")


@pytest.fixture(scope="module")
def bot(api: FakeBotAPI, tmp_path_factory) -> Iterator[RunningBot]:
    running = RunningBot(api, tmp_path_factory.mktemp("bot") / "gallery.sqlite", admin_ids=str(ADMIN.id))
    yield running
    assert running.stop() == 0


def _blank_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (90, 140, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_selfie_album_gets_one_answer_for_its_faces_together(api, bot) -> None:
    ann = User(60, "Ann")
    mark = len(api.sent)
    album = [photo("barack_obama/test_obama1.jpg"), _blank_jpeg(), photo("barack_obama/obama2.jpg")]
    reply = next_message(api, ann.id, lambda: api.send_album(ann, album))
    assert reply["method"] == "sendPhoto"
    lines = reply["caption"].splitlines()
    assert lines[0] == "Your closest celebrities, from your 2 photos together:"  # the blank one has no face
    assert lines[1].startswith("1. Barack Obama")
    help_reply = next_message(api, ann.id, lambda: api.send_text(ann, "/help"))
    to_ann = [
        m for m in api.sent[mark:] if m["params"].get("chat_id") == ann.id and m["method"] != "sendChatAction"
    ]
    assert [m["method"] for m in to_ann] == ["sendPhoto", "sendMessage"] and to_ann[1] is help_reply


def _says(api: FakeBotAPI, action) -> dict:
    return next_message(api, ADMIN.id, action)


def test_a_wrong_photo_is_added_with_a_warning_and_shown_by_audit_until_kept(api, bot) -> None:
    stats = _says(api, lambda: api.send_text(ADMIN, "/stats"))["text"]
    assert "dlib's fixed curve" in stats  # the demo gallery: too small to fit, and it says so
    biden = [photo("joe_biden/biden.jpg"), photo("joe_biden/biden_biden2.jpg")]
    added = _says(api, lambda: api.send_album(ADMIN, biden, caption="/add Joe Biden"))["text"]
    assert added.splitlines()[1:] == ["✅ photo 1: added", "✅ photo 2: added"]
    assert "/audit" not in added
    clean = _says(api, lambda: api.send_text(ADMIN, "/audit"))
    assert "found nothing suspect" in clean["text"]

    wrong = _says(
        api, lambda: api.send_photo(ADMIN, photo("barack_obama/obama.jpg"), caption="/add Joe Biden")
    )
    line = wrong["text"].splitlines()[1]
    assert line.startswith("⚠️ photo 1: added, but far from Joe Biden's other photos (photo id ")
    photo_id = int(line.split("photo id ")[1].split(")")[0])

    report = _says(api, lambda: api.send_text(ADMIN, "/audit"))
    assert report["method"] == "sendPhoto"
    picture = Image.open(io.BytesIO(report["photo"]))
    assert picture.width > 200 and picture.height > 100
    assert f"photo {photo_id} of Joe Biden" in report["caption"]
    assert "/audit keep ID" in report["caption"]

    stranger = User(61, "Mallory")
    assert (
        "only the bot's admins"
        in next_message(api, stranger.id, lambda: api.send_text(stranger, "/audit"))["text"]
    )

    kept = _says(api, lambda: api.send_text(ADMIN, f"/audit keep {photo_id}"))["text"]
    assert kept == f"Photo {photo_id} kept: the audit will not report it again."
    assert "found nothing suspect" in _says(api, lambda: api.send_text(ADMIN, "/audit"))["text"]
    assert "There is no photo 99999" in _says(api, lambda: api.send_text(ADMIN, "/audit drop 99999"))["text"]
    dropped = _says(api, lambda: api.send_text(ADMIN, f"/audit drop {photo_id}"))["text"]
    assert dropped == f"Photo {photo_id} of Joe Biden removed."
    assert "Usage: /audit" in _says(api, lambda: api.send_text(ADMIN, "/audit frobnicate"))["text"]
    stats = _says(api, lambda: api.send_text(ADMIN, "/stats"))["text"]
    assert "Gallery: 1 celebrities, 2 photos." in stats and "dlib's fixed curve" in stats
