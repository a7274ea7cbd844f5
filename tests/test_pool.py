from __future__ import annotations

import asyncio
import os
import signal

import pytest

from engine.faces import FaceModels
from engine.images import ImageError
from engine.pool import Busy, DrawPool, FacePool, WorkerCrashed
from engine.ranking import distance_between
from tests.paths import face
from tests.test_faces import press_photo


@pytest.fixture(scope="module", params=["process", "thread"])
def pool(request) -> FacePool:
    pool = FacePool(request.param, workers=2, queue_limit=4)
    yield pool
    pool.close()


async def test_the_pool_embeds_like_the_models_in_process(pool: FacePool, models: FaceModels) -> None:
    data = face("multiple/test_kit_with_rose.jpg").read_bytes()
    remote = await pool.analyze(data)
    local = models.analyze(data)
    assert [f.box for f in remote.faces] == [f.box for f in local.faces]
    for a, b in zip(remote.faces, local.faces, strict=True):
        assert distance_between(a.embedding, b.embedding) < 1e-5


async def test_the_pool_runs_the_thorough_pass_when_asked(pool: FacePool) -> None:
    data = press_photo(0.3)  # a far smaller face behind a large one: beyond the cheap pass
    assert (await pool.analyze(data)).faces_found == 1
    assert (await pool.analyze(data, thorough=True)).faces_found == 2


async def test_image_errors_cross_the_pool_with_their_code(pool: FacePool) -> None:
    with pytest.raises(ImageError) as caught:
        await pool.analyze(b"not an image")
    assert caught.value.code == "bad_image"


async def test_photos_past_the_queue_limit_are_refused_at_once(pool: FacePool) -> None:
    data = face("barack_obama/obama-720p.jpg").read_bytes()
    results = await asyncio.gather(*(pool.analyze(data) for _ in range(7)), return_exceptions=True)
    busy = [r for r in results if isinstance(r, Busy)]
    done = [r for r in results if not isinstance(r, BaseException)]
    assert len(busy) == 3 and len(done) == 4
    assert pool.pending == 0


async def test_a_killed_worker_fails_one_photo_and_the_pool_recovers() -> None:
    pool = FacePool("process", workers=1, queue_limit=4)
    try:
        pool.warm_up()
        data = face("barack_obama/obama-1080p.jpg").read_bytes()
        work = [asyncio.ensure_future(pool.analyze(data)) for _ in range(3)]
        await asyncio.sleep(0.05)
        for pid in list(pool._executor._processes):  # type: ignore[attr-defined]
            os.kill(pid, signal.SIGKILL)
        results = await asyncio.gather(*work, return_exceptions=True)
        assert isinstance(results[0], WorkerCrashed)
        assert all(isinstance(r, WorkerCrashed) for r in results)
        again = await pool.analyze(data)
        assert len(again.faces) == 1
    finally:
        pool.close()


async def test_drawings_run_in_a_process_of_their_own_and_survive_a_killed_worker() -> None:
    faces, draw = FacePool("process", workers=1), DrawPool("process", workers=1, preload=["service.render"])
    try:
        faces.warm_up()
        draw.warm_up()
        drawer = await draw.run(os.getpid)
        face_workers = set(faces._executor._processes)  # type: ignore[attr-defined]
        assert drawer != os.getpid() and drawer not in face_workers
        os.kill(drawer, signal.SIGKILL)
        with pytest.raises(WorkerCrashed):
            await draw.run(os.getpid)
        assert await draw.run(os.getpid) not in {drawer, os.getpid()}  # a new worker took over
    finally:
        faces.close()
        draw.close()
