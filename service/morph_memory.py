"""What the bot keeps so that an answer's Morph button works for a few minutes: the front end's reference to
the user's photo (a Telegram file id: the photo stays where it is, with Telegram) and the celebrity photo
chosen for the morph — in memory only, bounded in count, forgotten after `LOOKALIKE_MORPH_MINUTES` or a
restart (said in /privacy). Nothing of the face is computed for it until the button is pressed: a press
fetches the photo again and finds its face then (`service.morphs.draw_morph`), so the answers nobody
morphs cost nothing more.

An offer is known by a random key (the button carries it), never by anything of the user's.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from cachetools import TTLCache

from service.photo_ref import PhotoRef
from store.derivatives import MorphRefused, morph_source
from store.gallery import Credit, Gallery

# Under 1 KB per offer (a file id, a name, a credit): 20000 offers stay under 20 MB, and Telegram's 30
# messages a second for ten minutes is 18000 answers.
MOST_OFFERS = 20_000
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
    """One answer's morph: whose selfie (`selfie`: the photo whose face the collage shows, by reference),
    which celebrity (the #1), and the photo — or, when no photo of the celebrity may be changed, `photo`
    None (the refusal is told when the button is pressed)."""

    user_id: int
    selfie: PhotoRef
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
