"""The application layer's path of a photo (service/photos.py), driven in-process by a front end of files.

Real photos through the real models (a thread pool), the shipped demo gallery, a real SQLite job table. The
front end here is the smallest one the layer accepts (service.photos.Chat): photos held in memory by
file id, answers collected in a list. The Telegram side of the same paths is tested end to end in
test_bot.py and test_games.py.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import get_args

import pytest
from PIL import Image

from engine.images import MAX_FILE_BYTES, ImageError
from engine.pool import DrawPool, FacePool
from service.albums import Albums, purpose
from service.photos import (
    CAPTION_LIMIT,
    Answer,
    PhotoRef,
    RefusalCode,
    Refused,
    Selfie,
    admitted,
    answer_selfie,
    caption_text,
    entry_face,
    image_refusal,
    refusal_text,
    twin_faces,
)
from service.services import Admission, LastAnswers, Services
from service.settings import Settings
from service.texts import EN, KO
from store.demo import open_demo_gallery
from store.gallery import Gallery
from store.jobs import Jobs
from tests.paths import photo

TOKEN = "123456:service-layer-test-token"
USER = 7


class FilesChat:
    """A front end holding its photos in memory by file id; what it is sent is kept in `answers`."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.answers: list[Answer] = []

    async def fetch(self, ref: PhotoRef) -> bytes:
        if ref.file_id not in self.files:
            raise Refused("unreadable")
        return self.files[ref.file_id]

    def working(self) -> AbstractAsyncContextManager[None]:
        return _nothing_shown()

    async def deliver(self, answer: Answer) -> bool:
        self.answers.append(answer)
        return True


@contextlib.asynccontextmanager
async def _nothing_shown() -> AsyncIterator[None]:
    yield


@pytest.fixture(scope="module")
def face_pool() -> FacePool:
    pool = FacePool("thread", 1)
    yield pool
    pool.close()


@pytest.fixture
async def svc(tmp_path, face_pool) -> AsyncIterator[Services]:
    gallery = await Gallery.open(tmp_path / "gallery.sqlite")
    demo = await open_demo_gallery()
    settings = Settings(telegram_bot_token=TOKEN)  # type: ignore[call-arg]
    draw = DrawPool("thread", 1)
    services = Services(
        settings, gallery, demo, face_pool, draw, Jobs(gallery), Admission(8), last_answers=LastAnswers(5)
    )
    yield services
    draw.close()
    await demo.close()
    await gallery.close()


def _image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(photo("barack_obama/obama.jpg"))).convert("RGB").resize((64, 64)).save(buffer, fmt)
    return buffer.getvalue()


def _selfie(*refs: PhotoRef, message_id: int = 1) -> Selfie:
    return Selfie(chat_id=USER, message_id=message_id, user_id=USER, refs=list(refs), language="en")


async def test_a_selfie_is_answered_with_a_collage_remembered_and_its_job_done(svc: Services) -> None:
    chat = FilesChat({"obama": photo("barack_obama/obama.jpg")})
    await answer_selfie(svc, _selfie(PhotoRef("obama", 100_000, True)), chat)
    [answer] = chat.answers
    assert answer.refusal is None and answer.photo is not None
    assert answer.photo.startswith(b"\xff\xd8")  # a JPEG collage
    assert answer.first is not None and answer.first in answer.text
    assert svc.last_answers.recall(USER) == answer.first
    assert await svc.jobs.pending() == []
    assert svc.admission.in_flight == 0


@pytest.mark.parametrize(
    ("ref", "files", "code"),
    [
        (PhotoRef("huge", MAX_FILE_BYTES + 1, True), {}, "too_large"),
        (PhotoRef("cv", 20, False), {"cv": b"%PDF-1.4"}, "not_image"),
        (PhotoRef("cut", None, True), {"cut": photo("barack_obama/obama.jpg")[:5000]}, "unreadable"),
        (PhotoRef("pcx", None, True), {"pcx": _image("PCX")}, "not_image"),
        (PhotoRef("gone", None, True), {}, "unreadable"),
    ],
    ids=["over-20mb", "pdf", "truncated", "unsupported-format", "fetch-refused"],
)
async def test_a_refused_photo_gets_one_code_as_a_selfie_a_round_entry_and_for_twins(
    svc: Services, ref: PhotoRef, files: dict[str, bytes], code: RefusalCode
) -> None:
    chat = FilesChat(files)
    await answer_selfie(svc, _selfie(ref), chat)
    assert [a.refusal for a in chat.answers] == [code]
    assert chat.answers[0].text == refusal_text(EN, code)
    with pytest.raises(Refused) as as_entry:
        await entry_face(svc, USER, ref, chat)
    with pytest.raises(Refused) as for_twins:
        await twin_faces(svc, USER, [ref], several_photos=False, chat=chat)
    assert as_entry.value.code == for_twins.value.code == code
    assert svc.admission.in_flight == 0


async def test_a_photo_without_a_face_is_no_face_and_a_round_entry_gets_none(svc: Services) -> None:
    blank = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 200, 200)).save(blank, "PNG")
    chat = FilesChat({"blank": blank.getvalue()})
    await answer_selfie(svc, _selfie(PhotoRef("blank", None, True)), chat)
    assert [a.refusal for a in chat.answers] == ["no_face"]
    assert await entry_face(svc, USER, PhotoRef("blank", None, True), chat) is None


async def test_a_photo_while_the_users_last_is_in_work_is_refused_again(svc: Services) -> None:
    chat = FilesChat({"obama": photo("barack_obama/obama.jpg")})
    with admitted(svc.admission, USER):  # the user's first photo, still in work
        await answer_selfie(svc, _selfie(PhotoRef("obama", None, True), message_id=2), chat)
        with pytest.raises(Refused) as caught:
            await entry_face(svc, USER, PhotoRef("obama", None, True), chat)
    assert [a.refusal for a in chat.answers] == ["again"]
    assert caught.value.code == "again"
    assert svc.admission.in_flight == 0


async def test_a_group_photo_gives_its_faces_left_to_right_for_twins(svc: Services) -> None:
    chat = FilesChat({"two": photo("multiple/test_kit_with_rose.jpg")})
    faces = await twin_faces(svc, USER, [PhotoRef("two", None, True)], several_photos=False, chat=chat)
    assert len(faces) == 2
    assert faces[0].box[3] < faces[1].box[3]


def test_every_refusal_code_has_its_own_words_in_english_and_korean() -> None:
    codes = get_args(RefusalCode)
    for t in (EN, KO):
        words = [refusal_text(t, code) for code in codes]
        assert all(words) and len(set(words)) == len(codes)
    assert all(refusal_text(EN, c) != refusal_text(KO, c) for c in codes)


def test_image_errors_are_told_apart_by_their_code_not_their_message() -> None:
    assert image_refusal(ImageError("unsupported", "anything at all")) == "not_image"
    assert image_refusal(ImageError("bad_image", "unsupported image format PCX")) == "unreadable"
    assert image_refusal(ImageError("too_large", "too many pixels")) == "too_large"
    assert image_refusal(ImageError("not_found", "no such file")) == "unreadable"


def test_every_caption_is_cut_to_telegrams_limit() -> None:
    assert len(caption_text(["x" * 700, "y" * 700])) == CAPTION_LIMIT
    assert caption_text(["a", "b"]) == "a\nb"


def test_one_album_memory_hands_waiting_items_over_once_and_keeps_its_photos_for_twins() -> None:
    albums: Albums[str] = Albums()
    first, second = PhotoRef("f1", None, True), PhotoRef("f2", None, True)
    albums.note(-5, "album", first, "update 1")
    albums.note(-5, "album", second, "update 2")
    albums.note(-5, "album", second)  # the same item noted for /twins too: kept once
    assert albums.take(-5, "album") == ["update 1", "update 2"]
    assert albums.take(-5, "album") == []
    assert albums.refs(-5, "album") == [first, second]
    assert albums.refs(-6, "album") == [] and albums.refs(-5, None) == []


def test_the_album_memory_forgets_old_albums_and_stays_bounded() -> None:
    albums: Albums[str] = Albums(memory_seconds=60.0)
    albums.note(1, "old", PhotoRef("a", None, True), now=1000.0)
    albums.note(1, "recent", PhotoRef("b", None, True), now=1030.0)
    albums.note(1, "new", PhotoRef("c", None, True), now=1061.0)
    assert albums.refs(1, "old") == [] and albums.refs(1, "recent") != []
    bounded: Albums[str] = Albums(most=3)
    for n in range(10):
        bounded.note(1, str(n), PhotoRef(str(n), None, True))
    assert [bool(bounded.refs(1, str(n))) for n in range(10)] == [False] * 7 + [True] * 3


def test_an_album_is_for_add_twins_or_a_private_chats_selfies() -> None:
    assert purpose("/add IU", private=False) == "add"
    assert purpose("/add@lookalike_bot IU", private=True) == "add"
    assert purpose("/twins", private=False) == "twins"
    assert purpose("", private=True) == "selfies"
    assert purpose("holiday", private=False) is None
    assert purpose("/additional", private=False) is None
