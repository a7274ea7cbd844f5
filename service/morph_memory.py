"""What the bot keeps so that an answer's Morph button works for a few minutes: the user's face (crop and
68 landmarks, no embedding) and the celebrity photo chosen for the morph — in memory only, bounded in
count, forgotten after `LOOKALIKE_MORPH_MINUTES` or a restart (said in /privacy).

An offer is known by a random key (the button carries it), never by anything of the user's.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from cachetools import TTLCache

from engine.landmarks import KeptFace
from store.derivatives import MorphRefused, morph_source
from store.gallery import Credit, Gallery

# About 50 KB per offer (a JPEG crop and 68 points): 2000 offers stay near 100 MB, and 2000 answers in
# ten minutes is more than one bot's two cores draw.
MOST_OFFERS = 2000
KEY_BYTES = 12  # 16 URL-safe characters: a button's callback data holds 64 bytes


@dataclass(frozen=True)
class MorphPhoto:
    """The gallery photo a morph would use: its id (in the demo gallery or the real one: the demo answers
    until the real one has photos), its credit, and the licence the morph is shared under when the
    photo's asks for it ('' otherwise)."""

    photo_id: int
    credit: Credit
    morph_license: str = ""
    in_demo: bool = False


@dataclass(frozen=True)
class MorphOffer:
    """One answer's morph: whose face, which celebrity (the #1), and the photo — or, when no photo of
    the celebrity may be changed, `photo` None (the refusal is told when the button is pressed)."""

    user_id: int
    face: KeptFace
    name: str
    photo: MorphPhoto | None


class MorphMemory:
    """Offers by key, each for `minutes` after its answer, at most `most` at once (the oldest go first).

    `minutes` 0 keeps nothing: the Morph button is off. `timer`: the clock expiry goes by (seconds)."""

    def __init__(
        self, minutes: float, most: int = MOST_OFFERS, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.minutes = minutes
        self._offers: TTLCache[str, MorphOffer] | None = (
            TTLCache(maxsize=most, ttl=minutes * 60, timer=timer) if minutes > 0 else None
        )

    @property
    def on(self) -> bool:
        """Whether answers offer a morph at all."""
        return self._offers is not None

    def keep(self, offer: MorphOffer) -> str:
        """Keep `offer`; returns its new random key (for the button)."""
        assert self._offers is not None, "the Morph button is off"
        key = secrets.token_urlsafe(KEY_BYTES)
        self._offers[key] = offer
        return key

    def recall(self, key: str) -> MorphOffer | None:
        """The offer under `key`, or None once it has expired (or never was)."""
        return None if self._offers is None else self._offers.get(key)

    def __len__(self) -> int:
        return 0 if self._offers is None else len(self._offers)


async def choose_photo(
    gallery: Gallery, name: str, embedding: np.ndarray, in_demo: bool = False
) -> MorphPhoto | None:
    """The photo of `name` a morph of this face uses (the nearest the licence lets us change), or None."""
    try:
        source = await morph_source(gallery, name, embedding)
    except MorphRefused:
        return None
    return MorphPhoto(source.photo_id, source.credit, source.morph_license, in_demo)
