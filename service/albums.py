"""Albums: Telegram sends each photo of an album as its own message, the caption on the first only.

One memory per album, keyed by (chat, album id): every item's photo reference (file ids, never the photos),
kept `MEMORY_SECONDS` so /twins sent later as a reply to one item finds them all; and the front end's items
still waiting for the album to be complete (`ALBUM_WAIT` seconds without a new item), then handed over
once. `purpose` decides, from the album's caption and chat, what the album is for.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from service.photo_ref import PhotoRef

Item = TypeVar("Item")

MEMORY_SECONDS = 15 * 60  # how long an album's photo references are remembered for /twins
ALBUM_WAIT = 1.5  # seconds of quiet after the last item before an album is handled
MOST_ALBUMS = 10_000  # albums remembered at most: the oldest are forgotten first

ADD_CAPTION = re.compile(r"^/add(@\w+)?(\s|$)", re.IGNORECASE)
TWINS_CAPTION = re.compile(r"^/twins(@\w+)?(\s|$)", re.IGNORECASE)

Purpose = Literal["add", "twins", "selfies"]


@dataclass
class Album(Generic[Item]):
    """One album so far: when it was last seen, its photos, and the front end's items not yet handled."""

    seen: float
    refs: list[PhotoRef] = field(default_factory=list)
    waiting: list[Item] = field(default_factory=list)


class Albums(Generic[Item]):
    """Every recent album of every chat (in memory only)."""

    def __init__(self, memory_seconds: float = MEMORY_SECONDS, most: int = MOST_ALBUMS) -> None:
        self.memory_seconds = memory_seconds
        self.most = most
        self._albums: dict[tuple[int, str], Album[Item]] = {}

    def note(
        self,
        chat_id: int,
        album_id: str,
        ref: PhotoRef | None,
        item: Item | None = None,
        now: float | None = None,
    ) -> None:
        """An album item arrived: remember its photo, and `item` (if given) until the album is taken.

        `now`: the time.monotonic() of its arrival (now, unless told)."""
        now = time.monotonic() if now is None else now
        self._forget_old(now)
        album = self._albums.setdefault((chat_id, album_id), Album(now))
        album.seen = now
        if ref is not None and ref not in album.refs:
            album.refs.append(ref)
        if item is not None:
            album.waiting.append(item)

    def refs(self, chat_id: int, album_id: str | None) -> list[PhotoRef]:
        """The album's photos seen so far (none for a message outside an album)."""
        album = self._albums.get((chat_id, album_id)) if album_id is not None else None
        return list(album.refs) if album is not None else []

    def take(self, chat_id: int, album_id: str) -> list[Item]:
        """The items waiting, handed over once (the photo references stay for /twins)."""
        album = self._albums.get((chat_id, album_id))
        if album is None:
            return []
        items, album.waiting = album.waiting, []
        return items

    def _forget_old(self, now: float) -> None:
        for key, album in list(self._albums.items()):
            if now - album.seen > self.memory_seconds:
                del self._albums[key]
        while len(self._albums) >= self.most:
            del self._albums[next(iter(self._albums))]


def purpose(caption: str, private: bool) -> Purpose | None:
    """What a complete album is for: /add NAME (admins), /twins, a private chat's selfies; None: nothing."""
    if ADD_CAPTION.match(caption):
        return "add"
    if TWINS_CAPTION.match(caption):
        return "twins"
    return "selfies" if private else None
