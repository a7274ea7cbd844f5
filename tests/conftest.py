from __future__ import annotations

import multiprocessing.forkserver
import multiprocessing.resource_tracker
import os
import uuid
from collections.abc import Iterator

import pytest

from engine.faces import FaceModels
from tests.botapi import FakeBotAPI
from tests.botapi.harness import RunningBot, start_api
from tests.paths import FACES_DIR
from tests.processes import descendants, describe, marked_processes, still_running

# Every process this run starts inherits this variable (the bot's workers through the bot), so whatever
# is left at the end can be found however it was orphaned. Not LOOKALIKE_*: the harness drops those.
RUN_MARK = "TESTRUN_MARK"


@pytest.fixture(scope="session", autouse=True)
def _nothing_left_running() -> Iterator[None]:
    """Fail the run if any process it started outlives it (set up first, so torn down last)."""
    mark = uuid.uuid4().hex
    os.environ[RUN_MARK] = mark
    yield
    # multiprocessing's helpers in this process (the pool tests' forkserver and resource tracker) would
    # end when pytest exits; stop them now so that anything still there is a real leftover.
    multiprocessing.forkserver._forkserver._stop()  # type: ignore[attr-defined]
    multiprocessing.resource_tracker._resource_tracker._stop()  # type: ignore[attr-defined]
    me = os.getpid()
    left = still_running(descendants(me) + marked_processes(RUN_MARK, mark, exclude=[me]), timeout=15)
    if left:
        pytest.fail(
            "processes left running by the tests:\n" + "\n".join(describe(p) for p in left), pytrace=False
        )


@pytest.fixture(scope="module", autouse=True)
def _no_bot_outlives_its_module() -> Iterator[None]:
    """Kill the bots a module's tests left running: a test that fails half-way never reaches its stop."""
    yield
    while RunningBot.started:
        bot = RunningBot.started.pop()
        if bot.process.poll() is None:
            bot.kill()


@pytest.fixture(scope="session")
def models() -> FaceModels:
    """One set of dlib models for the whole run (loading takes about a second)."""
    return FaceModels()


@pytest.fixture(scope="session", autouse=True)
def _shared_faces_present() -> None:
    if not (FACES_DIR / "manifest.csv").is_file():
        pytest.exit(
            f"the shared test photos are missing: {FACES_DIR} (set LOOKALIKE_FACES_DIR)", returncode=4
        )


@pytest.fixture(scope="module")
def api() -> Iterator[FakeBotAPI]:
    """A stand-in Bot API server on 127.0.0.1 shared by one test module's bot."""
    server = start_api()
    yield server
    server.stop_thread()
