"""Group games in the gallery file: the running round of each group, its players' best scores, and the
leaderboard of winners. Only names and numbers are stored — never a player's photo or face embedding.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from store.gallery import Gallery


@dataclass(frozen=True)
class Round:
    chat_id: int
    message_id: int  # the announcement: players reply to it with selfies
    starter_id: int
    celebrity: str
    language: str
    ends_at: float

    def seconds_left(self, now: float | None = None) -> int:
        return max(0, round(self.ends_at - (time.time() if now is None else now)))


@dataclass(frozen=True)
class Entry:
    user_id: int
    player: str
    similarity: float


@dataclass(frozen=True)
class Placed:
    """A player's place in the final ranking (equal similarities share a place)."""

    rank: int
    entry: Entry


@dataclass(frozen=True)
class Winner:
    player: str
    wins: int
    best_similarity: float


def final_ranking(entries: list[Entry]) -> list[Placed]:
    """Closest face first; players with the same similarity (to 0.1 %) share a place."""
    ordered = sorted(entries, key=lambda e: (-round(e.similarity, 1), e.player))
    placed: list[Placed] = []
    for index, entry in enumerate(ordered):
        tied = placed and round(placed[-1].entry.similarity, 1) == round(entry.similarity, 1)
        placed.append(Placed(placed[-1].rank if tied else index + 1, entry))
    return placed


class Games:
    """Rounds, entries and winners, in the gallery file (writes through the gallery's transactions)."""

    def __init__(self, gallery: Gallery) -> None:
        self._gallery = gallery
        self._db = gallery.db

    async def start(self, round_: Round) -> bool:
        """Record a new round; False if the group already has one."""
        async with self._gallery.transaction() as db:
            cursor = await db.execute(
                "INSERT INTO game_round (chat_id, message_id, starter_id, celebrity, language, ends_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (chat_id) DO NOTHING",
                (
                    round_.chat_id,
                    round_.message_id,
                    round_.starter_id,
                    round_.celebrity,
                    round_.language,
                    round_.ends_at,
                ),
            )
        return cursor.rowcount == 1

    async def current(self, chat_id: int) -> Round | None:
        sql = "SELECT chat_id, message_id, starter_id, celebrity, language, ends_at FROM game_round WHERE chat_id = ?"
        async with self._db.execute(sql, (chat_id,)) as cursor:
            row = await cursor.fetchone()
        return Round(*row) if row else None

    async def all_rounds(self) -> list[Round]:
        sql = "SELECT chat_id, message_id, starter_id, celebrity, language, ends_at FROM game_round"
        async with self._db.execute(sql) as cursor:
            return [Round(*row) async for row in cursor]

    async def record(self, chat_id: int, entry: Entry) -> float:
        """Keep a player's best similarity in the round; returns that best."""
        async with self._gallery.transaction() as db:
            await db.execute(
                "INSERT INTO game_entry (chat_id, user_id, player, similarity) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (chat_id, user_id) DO UPDATE SET player = excluded.player, "
                "similarity = max(similarity, excluded.similarity)",
                (chat_id, entry.user_id, entry.player, entry.similarity),
            )
        sql = "SELECT similarity FROM game_entry WHERE chat_id = ? AND user_id = ?"
        async with self._db.execute(sql, (chat_id, entry.user_id)) as cursor:
            row = await cursor.fetchone()
        return float(row[0]) if row else entry.similarity

    async def entries(self, chat_id: int) -> list[Entry]:
        sql = "SELECT user_id, player, similarity FROM game_entry WHERE chat_id = ?"
        async with self._db.execute(sql, (chat_id,)) as cursor:
            return [Entry(*row) async for row in cursor]

    async def finish(self, chat_id: int) -> tuple[Round, list[Placed]] | None:
        """Close the group's round in one transaction: rank it, credit the winners, forget the entries.

        Returns None if there was no round (it was finished already, e.g. by /endgame racing the timer).
        """
        async with self._gallery.transaction() as db:
            round_ = await self.current(chat_id)
            if round_ is None:
                return None
            placed = final_ranking(await self.entries(chat_id))
            for place in placed:
                if place.rank != 1:
                    break
                entry = place.entry
                await db.execute(
                    "INSERT INTO game_winner (chat_id, user_id, player, wins, best_similarity) "
                    "VALUES (?, ?, ?, 1, ?) ON CONFLICT (chat_id, user_id) DO UPDATE SET "
                    "player = excluded.player, wins = wins + 1, "
                    "best_similarity = max(best_similarity, excluded.best_similarity)",
                    (chat_id, entry.user_id, entry.player, entry.similarity),
                )
            await db.execute("DELETE FROM game_entry WHERE chat_id = ?", (chat_id,))
            await db.execute("DELETE FROM game_round WHERE chat_id = ?", (chat_id,))
        return round_, placed

    async def leaderboard(self, chat_id: int, limit: int = 10) -> list[Winner]:
        sql = (
            "SELECT player, wins, best_similarity FROM game_winner WHERE chat_id = ? "
            "ORDER BY wins DESC, best_similarity DESC, player LIMIT ?"
        )
        async with self._db.execute(sql, (chat_id, limit)) as cursor:
            return [Winner(*row) async for row in cursor]
