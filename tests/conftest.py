from __future__ import annotations

import pytest

from engine.faces import FaceModels
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
