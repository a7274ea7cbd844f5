"""The Morph button's application layer (service/morphs.py, service/morph_memory.py), driven in-process.

Real photos through the real models (a thread pool, and a real Dask cluster for the cluster path), the
shipped demo gallery and a real SQLite gallery with licences, the real drawing. Expiry goes by a clock the
test moves, so it is exact. The Telegram side is tested end to end in test_bot_morph.py.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.cluster import ClusterPool, cluster_security
from engine.faces import FaceModels
from engine.landmarks import KeptFace
from engine.pool import DrawPool, FacePool
from service.morph_memory import MorphMemory, MorphOffer
from service.morphs import MIX, Fetch, draw_morph, offer_for, refusal_line
from service.photos import Answer, PhotoRef, Selfie, answer_selfie
from service.services import Admission, Services
from service.settings import Settings
from store.demo import open_demo_gallery
from store.gallery import Credit, Gallery, content_hash
from store.jobs import Jobs
from tests.cluster_harness import Cluster
from tests.paths import face, photo
from tests.test_service_photos import FilesChat

TOKEN = "123456:service-layer-test-token"
USER, OTHER = 7, 8
OBAMA = photo("barack_obama/obama.jpg")


class Clock:
    """A clock the test moves: the offers' expiry goes by it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def face_pool() -> Iterator[FacePool]:
    pool = FacePool("thread", 1)
    yield pool
    pool.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def _services(gallery_path: Path, face_pool: FacePool, morphs: MorphMemory) -> Services:
    gallery = await Gallery.open(gallery_path)
    settings = Settings(telegram_bot_token=TOKEN)  # type: ignore[call-arg]
    return Services(
        settings,
        gallery,
        await open_demo_gallery(),
        face_pool,
        DrawPool("thread", 1),
        Jobs(gallery),
        Admission(8),
        morphs=morphs,
    )


async def _close(svc: Services) -> None:
    svc.draw.close()
    await svc.demo.close()
    await svc.gallery.close()


@pytest.fixture
async def svc(tmp_path, face_pool, clock) -> AsyncIterator[Services]:
    services = await _services(tmp_path / "gallery.sqlite", face_pool, MorphMemory(10, most=3, timer=clock))
    yield services
    await _close(services)


async def _answer(svc: Services, data: bytes, chat_id: int = USER, message_id: int = 1) -> Answer:
    chat = FilesChat({"selfie": data})
    selfie = Selfie(chat_id, message_id, USER, [PhotoRef("selfie", len(data), True)], "en")
    await answer_selfie(svc, selfie, chat)
    [answer] = chat.answers
    return answer


def fetch_of(data: bytes, file_id: str = "selfie") -> Fetch:
    """A front end's fetch that holds one photo."""
    return FilesChat({file_id: data}).fetch


async def test_a_private_answer_keeps_only_its_selfies_reference_and_the_press_draws_the_morph_with_the_credit(
    svc: Services,
) -> None:
    answer = await _answer(svc, OBAMA)
    assert answer.first == "Barack Obama" and answer.morph is not None
    offer = offer_for(svc, answer.morph, USER)
    assert isinstance(offer, MorphOffer)
    assert offer.name == "Barack Obama" and offer.photo is not None and offer.photo.in_demo
    # nothing of the face: the photo stays with the front end, known by its file id
    assert offer.selfie == PhotoRef("selfie", len(OBAMA), True)
    assert not any(isinstance(value, KeptFace | np.ndarray | bytes) for value in vars(offer).values())
    morph = await draw_morph(svc, offer, "en", fetch_of(OBAMA))
    assert morph.refusal is None and morph.photo is not None
    picture = Image.open(io.BytesIO(morph.photo))
    assert picture.format == "JPEG" and picture.size == (512, 512)
    lines = morph.text.splitlines()
    assert lines[0] == f"You {round((1 - MIX) * 100)}% · Barack Obama {round(MIX * 100)}%"
    assert lines[1].startswith("Photo of Barack Obama: MIT · ")  # the demo photos' licence and author
    assert lines[2].startswith("https://github.com/")  # the photo's source page
    korean = await draw_morph(svc, offer, "ko", fetch_of(OBAMA))
    assert korean.text.splitlines()[0] == "나 50% · Barack Obama 50%"
    assert svc.admission.in_flight == 0


async def test_someone_elses_press_learns_only_that_it_is_not_theirs(svc: Services) -> None:
    answer = await _answer(svc, OBAMA)
    assert answer.morph is not None
    assert offer_for(svc, answer.morph, OTHER) == "not_yours"
    line = refusal_line("en", "not_yours")
    assert "Obama" not in line and line == "Only the person who sent this selfie can morph it."


async def test_an_offer_expires_after_its_minutes_to_the_second(svc: Services, clock: Clock) -> None:
    answer = await _answer(svc, OBAMA)
    assert answer.morph is not None
    clock.now += 10 * 60 - 1
    offer = offer_for(svc, answer.morph, USER)
    assert isinstance(offer, MorphOffer)
    clock.now += 1
    assert offer_for(svc, answer.morph, USER) == "expired"
    assert offer_for(svc, "never-a-key", USER) == "expired"
    assert "send your selfie again" in refusal_line("en", "expired")
    # an offer taken just before it expired is still drawn: the press was in time
    assert (await draw_morph(svc, offer, "en", fetch_of(OBAMA))).photo is not None


def _no_face() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (120, 160, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


async def test_an_album_answer_offers_the_photo_whose_face_its_collage_shows(svc: Services) -> None:
    files = {"sky": _no_face(), "one": OBAMA, "two": photo("barack_obama/obama2.jpg")}
    chat = FilesChat(files)
    refs = [PhotoRef(name, len(data), True) for name, data in files.items()]
    await answer_selfie(svc, Selfie(USER, 1, USER, refs, "en"), chat)
    [answer] = chat.answers
    offer = offer_for(svc, answer.morph or "", USER)
    assert isinstance(offer, MorphOffer)
    assert "from your 2 photos together" in answer.text
    # the first photo with a face, as the collage shows it (the faceless one is left out)
    assert offer.selfie == refs[1]
    assert (await draw_morph(svc, offer, "en", chat.fetch)).photo is not None


async def test_a_press_whose_selfie_cannot_be_had_again_is_told_the_morph_failed(svc: Services) -> None:
    answer = await _answer(svc, OBAMA)
    offer = offer_for(svc, answer.morph or "", USER)
    assert isinstance(offer, MorphOffer)
    gone = await draw_morph(svc, offer, "en", FilesChat({}).fetch)  # the front end no longer has it
    assert gone.photo is None and gone.refusal == "failed" and gone.text == refusal_line("en", "failed")
    unreadable = await draw_morph(svc, offer, "ko", fetch_of(b"not a photo"))
    assert unreadable.refusal == "failed" and unreadable.text == refusal_line("ko", "failed")
    faceless = await draw_morph(svc, offer, "en", fetch_of(_no_face()))
    assert faceless.refusal == "failed"
    assert svc.admission.in_flight == 0


async def test_a_press_while_the_users_photo_is_in_work_is_refused_one_at_a_time(svc: Services) -> None:
    answer = await _answer(svc, OBAMA)
    offer = offer_for(svc, answer.morph or "", USER)
    assert isinstance(offer, MorphOffer)
    assert svc.admission.enter(USER) == "ok"  # a selfie (or another press) of the user's in work
    try:
        again = await draw_morph(svc, offer, "en", fetch_of(OBAMA))
    finally:
        svc.admission.leave(USER)
    assert again.photo is None and again.refusal == "again" and again.text == refusal_line("en", "again")
    assert (await draw_morph(svc, offer, "en", fetch_of(OBAMA))).photo is not None  # once it is done


async def test_the_memory_keeps_at_most_its_count_the_oldest_go_first(svc: Services) -> None:
    keys = [(await _answer(svc, OBAMA, message_id=n)).morph for n in range(1, 5)]
    assert all(keys) and len(set(keys)) == 4 and len(svc.morphs) == 3
    assert offer_for(svc, keys[0] or "", USER) == "expired"
    assert all(isinstance(offer_for(svc, k or "", USER), MorphOffer) for k in keys[1:])


async def test_a_group_answer_and_the_off_switch_offer_no_morph(tmp_path, face_pool) -> None:
    off = await _services(tmp_path / "off.sqlite", face_pool, MorphMemory(0))
    try:
        answer = await _answer(off, OBAMA)
        assert answer.photo is not None and answer.morph is None and not off.morphs.on
        assert offer_for(off, "any", USER) == "off"
    finally:
        await _close(off)
    on = await _services(tmp_path / "on.sqlite", face_pool, MorphMemory(10))
    try:
        in_group = await _answer(on, OBAMA, chat_id=-100)
        assert in_group.photo is not None and in_group.morph is None and len(on.morphs) == 0
    finally:
        await _close(on)


# (name, photo, licence): Obama's photo is shared alike, Rose's photos all forbid changes.
LICENSED = [
    ("Barack Obama", "barack_obama/obama2.jpg", "CC BY-SA 4.0"),
    ("Rose Leslie", "rose_leslie/rose_leslie_img1.jpg", "CC BY-ND 2.0"),
    ("Rose Leslie", "rose_leslie/rose_leslie_img2.jpg", "All rights reserved"),
    ("Kit Harington", "kit_harington/kit_harington_john1.jpeg", "CC BY 2.0"),
]


async def build_licensed_gallery(path: Path, models: FaceModels) -> None:
    """A gallery whose photos carry the licences of `LICENSED`."""
    async with await Gallery.open(path) as gallery:
        for name, relative, license_name in LICENSED:
            data = face(relative).read_bytes()
            credit = Credit(f"Photographer of {name}", license_name, "", f"https://example.org/{relative}")
            await gallery.add_face(name, models.analyze(data).faces[0], content_hash(data), relative, credit)


async def test_share_alike_photos_make_share_alike_morphs_and_forbidden_ones_are_refused_by_name(
    tmp_path, face_pool, models
) -> None:
    path = tmp_path / "licensed.sqlite"
    await build_licensed_gallery(path, models)
    svc = await _services(path, face_pool, MorphMemory(10))
    try:
        obama = await _answer(svc, OBAMA)
        offer = offer_for(svc, obama.morph or "", USER)
        assert isinstance(offer, MorphOffer) and offer.photo is not None and not offer.photo.in_demo
        morph = await draw_morph(svc, offer, "en", fetch_of(OBAMA))
        assert morph.photo is not None
        assert "Photo of Barack Obama: CC BY-SA 4.0 · Photographer of Barack Obama" in morph.text
        assert "This morph is shared under CC BY-SA 4.0, as the photo is." in morph.text
        rose = await _answer(svc, photo("rose_leslie/rose_leslie_img2.jpg"), message_id=2)
        assert rose.first == "Rose Leslie"
        refused = offer_for(svc, rose.morph or "", USER)
        assert isinstance(refused, MorphOffer) and refused.photo is None
        answer = await draw_morph(svc, refused, "en", FilesChat({}).fetch)
        assert answer.photo is None and answer.refusal == "not_allowed"
        assert (
            answer.text
            == "None of Rose Leslie's photos may be changed (their licences forbid it), so there is no morph."
        )
        assert "Rose Leslie" in (await draw_morph(svc, refused, "ko", FilesChat({}).fetch)).text
    finally:
        await _close(svc)


async def test_the_cluster_keeps_the_same_face_as_the_local_pool(tmp_path, face_pool) -> None:
    cluster = Cluster(tmp_path)
    try:
        worker = cluster.add_worker()
        await asyncio.to_thread(worker.wait_for_log, lambda text: "models loaded" in text, 300)
        remote = ClusterPool(cluster.address, cluster_security(None), wait=120)
        await remote.start()
        try:
            analysis, kept = await remote.analyze_keeping(OBAMA)
            local_analysis, local_kept = await face_pool.analyze_keeping(OBAMA)
            thumbnail = analysis.faces[0].thumbnail
            remote_thumb = await remote.keep_thumbnail(thumbnail)
            local_thumb = await face_pool.keep_thumbnail(thumbnail)
        finally:
            await remote.close()
    finally:
        cluster.stop()
    assert isinstance(kept, KeptFace) and isinstance(local_kept, KeptFace)
    assert analysis.faces[0].box == local_analysis.faces[0].box
    np.testing.assert_array_equal(kept.landmarks, local_kept.landmarks)
    assert kept.crop == local_kept.crop
    np.testing.assert_array_equal(remote_thumb.landmarks, local_thumb.landmarks)
