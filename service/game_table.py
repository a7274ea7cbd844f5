"""Every group's running round: its stored scores (store/games.py) and what is kept in memory only."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np

from service.round_gate import RoundGate
from store.games import Games


@dataclass
class Live:
    """What a running round keeps in memory: the target's embeddings and face, players' best faces."""

    target: list[np.ndarray]
    target_face: bytes | None
    faces: dict[int, bytes] = field(default_factory=dict)


class GameTable:
    """Every group's running round: the store, and the in-memory parts (never written anywhere)."""

    def __init__(self, store: Games) -> None:
        self.store = store
        self.live: dict[int, Live] = {}
        self.round_messages: dict[int, int] = {}  # chat id → the round message players reply to
        self.locks: dict[int, asyncio.Lock] = {}
        self.gate = RoundGate()  # which replies are entries; entries in work, waited for at the end
        self.end_told: set[int] = set()  # chats told that their round's end waits for the disk

    def lock(self, chat_id: int) -> asyncio.Lock:
        return self.locks.setdefault(chat_id, asyncio.Lock())
