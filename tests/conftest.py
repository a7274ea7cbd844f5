from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.faces import FaceModels
from tests.botapi import FakeBotAPI
from tests.botapi.harness import start_api
from tests.paths import FACES_DIR


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
