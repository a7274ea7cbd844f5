"""Photos fetched and analysed a few at a time, in the order they came (`service.services.Intake`).

The intake itself is driven step by step on one event loop (every wait is an `asyncio.Event` the test
sets, so no outcome depends on timing); then a burst of selfies goes through the application layer with
real photos, the real models (a thread pool) and the demo gallery, to pin that a photo's download waits
for the analyses before it, and that every photo of the burst is still answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from engine.pool import DrawPool, FacePool
from service.photos import PhotoRef, Selfie, answer_selfie
from service.services import Admission, Intake, Services
from service.settings import Settings
from store.demo import open_demo_gallery
from store.gallery import Gallery
from store.jobs import Jobs
from tests.paths import photo
from tests.test_service_photos import TOKEN, FilesChat


async def _holder(intake: Intake, name: str, entered: list[str], release: asyncio.Event) -> None:
    async with intake.turn():
        entered.append(name)
        await release.wait()


async def _settle() -> None:
    """Let every task that can run, run (a few passes of the event loop)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_the_intake_lets_in_its_limit_and_the_rest_in_the_order_they_came() -> None:
    intake = Intake(2)
    entered: list[str] = []
    releases = {name: asyncio.Event() for name in "abcde"}
    tasks = [asyncio.create_task(_holder(intake, n, entered, releases[n])) for n in "abcde"]
    await _settle()
    assert entered == ["a", "b"] and intake.active == 2 and intake.waiting == 3
    releases["b"].set()
    await _settle()
    assert entered == ["a", "b", "c"] and intake.active == 2
    releases["a"].set()
    releases["c"].set()
    await _settle()
    assert entered == ["a", "b", "c", "d", "e"] and intake.waiting == 0
    releases["d"].set()
    releases["e"].set()
    await asyncio.gather(*tasks)
    assert intake.active == 0


async def test_a_free_intake_is_entered_without_yielding_to_the_event_loop() -> None:
    """So a photo that finds room keeps its place among the other tasks (a round's race windows)."""
    intake = Intake(1)
    order: list[str] = []

    async def other() -> None:
        order.append("other")

    task = asyncio.create_task(other())
    async with intake.turn():
        order.append("entered")
    await task
    assert order == ["entered", "other"]


async def test_a_photo_that_stops_waiting_takes_no_place_and_one_cancelled_as_it_is_woken_hands_it_on() -> (
    None
):
    intake = Intake(1)
    entered: list[str] = []
    release = {name: asyncio.Event() for name in "abcd"}
    first = asyncio.create_task(_holder(intake, "a", entered, release["a"]))
    gone = asyncio.create_task(_holder(intake, "b", entered, release["b"]))
    woken = asyncio.create_task(_holder(intake, "c", entered, release["c"]))
    last = asyncio.create_task(_holder(intake, "d", entered, release["d"]))
    await _settle()
    gone.cancel()  # the user's photo is abandoned while it waits
    await _settle()
    assert intake.waiting == 2 and intake.active == 1
    release["a"].set()
    await asyncio.sleep(0)  # "a" leaves and hands its place to "c", which has not run yet ...
    assert first.done() and entered == ["a"] and intake.active == 1
    woken.cancel()  # ... and is cancelled before it does: the place goes on to "d"
    await _settle()
    assert entered == ["a", "d"] and intake.active == 1
    release["d"].set()
    await last
    for task in (gone, woken):
        with pytest.raises(asyncio.CancelledError):
            await task
    assert intake.active == 0 and intake.waiting == 0


async def test_the_intake_follows_a_limit_that_grows_with_the_workers() -> None:
    workers = [1]
    intake = Intake(lambda: 2 * workers[0])
    entered: list[str] = []
    release = asyncio.Event()
    tasks = [asyncio.create_task(_holder(intake, n, entered, release)) for n in "abcdef"]
    await _settle()
    assert entered == ["a", "b"]
    workers[0] = 0  # a cluster whose last worker left still takes one photo at a time
    assert intake.limit == 1
    workers[0] = 3  # two workers joined: the next place freed lets in everyone who now fits
    release.set()
    await asyncio.gather(*tasks)
    assert entered == list("abcdef") and intake.active == 0


class _RecordingChat(FilesChat):
    """`FilesChat` that notes when each photo's download starts."""

    def __init__(self, files: dict[str, bytes], events: list[str]) -> None:
        super().__init__(files)
        self.events = events

    async def fetch(self, ref: PhotoRef) -> bytes:
        self.events.append(f"fetch {ref.file_id}")
        await asyncio.sleep(0)  # a download yields to the event loop, as Telegram's does
        return await super().fetch(ref)


class _RecordingPool:
    """The real face pool, noting when each analysis ends."""

    def __init__(self, pool: FacePool, events: list[str]) -> None:
        self.pool, self.events = pool, events

    async def analyze(self, data: bytes, max_faces: int = 1) -> object:
        analysis = await self.pool.analyze(data, max_faces=max_faces)
        self.events.append(f"analysed {len(data)}")
        return analysis

    def __getattr__(self, name: str) -> object:
        return getattr(self.pool, name)


@pytest.fixture
async def burst_svc(tmp_path) -> AsyncIterator[Services]:
    gallery = await Gallery.open(tmp_path / "gallery.sqlite")
    demo = await open_demo_gallery()
    pool, draw = FacePool("thread", 1), DrawPool("thread", 1)
    settings = Settings(telegram_bot_token=TOKEN)  # type: ignore[call-arg]
    yield Services(settings, gallery, demo, pool, draw, Jobs(gallery), Admission(8), intake=Intake(1))
    pool.close()
    draw.close()
    await demo.close()
    await gallery.close()


async def test_a_bursts_photos_are_fetched_in_turn_and_every_one_is_answered(burst_svc: Services) -> None:
    """With room for one, each photo is downloaded only once the one before it is analysed (so the first
    reaches a worker without waiting for every download); all four are answered."""
    events: list[str] = []
    burst_svc.pool = _RecordingPool(burst_svc.pool, events)  # type: ignore[assignment]
    names = ["obama.jpg", "obama2.jpg", "obama_small.jpg", "obama-240p.jpg"]
    files = {name: photo(f"barack_obama/{name}") for name in names}
    chat = _RecordingChat(files, events)
    selfies = [
        Selfie(chat_id=n, message_id=1, user_id=n, refs=[PhotoRef(name, None, True)], language="en")
        for n, name in enumerate(names, start=1)
    ]
    await asyncio.gather(*(answer_selfie(burst_svc, selfie, chat) for selfie in selfies))
    assert events == [e for name in names for e in (f"fetch {name}", f"analysed {len(files[name])}")]
    assert len(chat.answers) == 4 and all(a.photo is not None for a in chat.answers)
    assert burst_svc.intake.active == 0 and burst_svc.admission.in_flight == 0
