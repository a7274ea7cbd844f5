"""Where the shared test photos are: ../shared/faces beside the checkout, or $LOOKALIKE_FACES_DIR."""

from __future__ import annotations

import csv
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FACES_DIR = Path(os.environ.get("LOOKALIKE_FACES_DIR") or REPO.parent / "shared" / "faces")


def manifest() -> list[tuple[Path, str]]:
    """(photo path, identity) for every photo of ../shared/faces; identity 'multiple' for group photos."""
    with (FACES_DIR / "manifest.csv").open(encoding="utf-8") as f:
        return [(FACES_DIR / row["path"], row["identity"]) for row in csv.DictReader(f)]


def face(relative: str) -> Path:
    return FACES_DIR / relative


def photo(relative: str) -> bytes:
    """The bytes of a shared photo, as a user would send them."""
    return face(relative).read_bytes()
