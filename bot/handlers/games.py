"""Group games: lookalike rounds against a celebrity, twin checks, and each group's leaderboard.

A round: /game [NAME] posts the celebrity's face; players reply to that message with selfies; each entry
is acknowledged with its similarity and a player's best counts; the round ends on its timer (PTB's
JobQueue) or at /endgame, and the final board is posted. Scores (names and numbers) are kept in SQLite so
a restart finishes a round instead of leaving it hanging; players' faces live in memory only, for the
board, and are gone when the round ends.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import string
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from telegram import Message, Update, User
from telegram.error import TelegramError
from telegram.ext import ContextTypes, filters

from bot.handlers.info import reply, texts_for
from bot.render import Card, draw_board, draw_pairs
from bot.round_gate import RoundGate
from bot.services import services
from bot.telegram_io import PhotoRef, download, photo_ref, reply_to, showing_work, with_retries
from bot.texts import Texts, texts
from engine.collage import CollageText
from engine.faces import Face
from engine.images import ImageError
from engine.pool import Busy, WorkerCrashed
from engine.ranking import distance_between, similarity
from store.games import Entry, Games, Placed, Round
from store.names import InvalidName

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_TWIN_FACES = 6  # 15 pairs: as many rows as a phone screen can show
ANNOUNCE_WAIT_SECONDS = 60  # an entry waits at most this for its round to be recorded
ALBUM_MEMORY_SECONDS = 15 * 60  # how long the file ids of an album's items are remembered for /twins


@dataclass
class Live:
    """What a running round keeps in memory: the target's embeddings and face, players' best faces."""

    target: list[np.ndarray]
    target_face: bytes | None
    faces: dict[int, bytes] = field(default_factory=dict)


class GameTable:
    """Every group's running round: the store, and the in-memory parts (never written anywhere)."""

    def __init__(self) -> None:
        self.store: Games  # set in post_init, once the gallery file is open
        self.live: dict[int, Live] = {}
        self.round_messages: dict[int, int] = {}  # chat id → the round message players reply to
        self.locks: dict[int, asyncio.Lock] = {}
        self.gate = RoundGate()  # which replies are entries; entries in work, waited for at the end
        # (chat id, media group id) → (when, the items' photos): Telegram file ids only, never the photos
        self.albums: dict[tuple[int, str], tuple[float, list[PhotoRef]]] = {}

    def remember_album_item(self, chat_id: int, group_id: str, ref: PhotoRef) -> None:
        now = time.monotonic()
        for key, (seen, _) in list(self.albums.items()):
            if now - seen > ALBUM_MEMORY_SECONDS:
                del self.albums[key]
        _, refs = self.albums.setdefault((chat_id, group_id), (now, []))
        if ref not in refs:
            refs.append(ref)

    def album(self, chat_id: int, group_id: str | None) -> list[PhotoRef]:
        if group_id is None:
            return []
        return list(self.albums.get((chat_id, group_id), (0.0, []))[1])

    def lock(self, chat_id: int) -> asyncio.Lock:
        return self.locks.setdefault(chat_id, asyncio.Lock())


def table(context: ContextTypes.DEFAULT_TYPE) -> GameTable:
    return context.application.bot_data["games"]


class ReplyToRound(filters.MessageFilter):
    """Messages that reply to their group's round message: running, being announced, or ended."""

    def __init__(self, games: GameTable) -> None:
        super().__init__(name="ReplyToRound")
        self.games = games

    def filter(self, message: Message) -> bool:
        return self.games.gate.is_round_reply(message, self.games.round_messages.get(message.chat_id))


def player_name(user: User | None) -> str:
    if user is None:
        return "?"
    return (user.full_name or user.username or str(user.id))[:64]


def board_text(t: Texts, celebrity: str) -> CollageText:
    return CollageText(
        title=t.game_board_title.format(name=celebrity),
        you=celebrity,
        distance=t.distance,
        similarity=t.similarity,
        footer="",
        empty=t.game_board_empty,
    )


async def admitted(
    update: Update, context: ContextTypes.DEFAULT_TYPE, work: Coroutine[Any, Any, T]
) -> tuple[bool, T]:
    """Run photo work under the user's admission slot; on refusal or failure, say why and return (False, None)."""
    t = texts_for(update)
    user = update.effective_user
    svc = services(context)
    verdict = svc.admission.enter(user.id if user else 0)
    if verdict != "ok":
        work.close()
        await reply(update, t.one_at_a_time if verdict == "again" else t.busy)
        return False, None  # type: ignore[return-value]
    try:
        return True, await work
    except (ImageError, WorkerCrashed, TelegramError):
        await reply(update, t.unreadable)
    except Busy:
        await reply(update, t.busy)
    finally:
        svc.admission.leave(user.id if user else 0)
    return False, None  # type: ignore[return-value]


# /game


async def on_game(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    t = texts_for(update)
    if message.chat.type == "private":
        await reply(update, t.game_groups_only)
        return
    games = table(context)
    async with games.lock(message.chat_id):
        running = await games.store.current(message.chat_id)
        if running is not None:
            await reply(update, t.game_running.format(name=running.celebrity, seconds=running.seconds_left()))
            return
        await _start_round(update, context, message, user, t)


async def _start_round(
    update: Update, context: ContextTypes.DEFAULT_TYPE, message: Message, user: User, t: Texts
) -> None:
    svc = services(context)
    gallery = svc.active_gallery()
    wanted = (message.text or "").split(maxsplit=1)
    try:
        if len(wanted) > 1:
            name = await gallery.find(wanted[1])
            if name is None:
                await reply(update, t.unknown_name.format(name=wanted[1][:64]))
                return
        else:
            celebrities = [c.name for c in await gallery.celebrities() if c.photos]
            if not celebrities:
                await reply(update, t.game_empty_gallery)
                return
            name = random.choice(celebrities)
    except InvalidName:
        await reply(update, t.unknown_name.format(name="?"))
        return
    photos = await gallery.photos_of(name)
    target_face = await gallery.thumbnail(photos[0][0]) if photos else None
    seconds = svc.settings.game_round_seconds
    caption = t.game_started.format(name=name, seconds=seconds)
    games = table(context)
    games.gate.announce(message.chat_id, caption)  # replies may come before Telegram's answer does
    try:
        await _announce_round(context, message, user, name, caption, target_face, photos, seconds)
    finally:
        games.gate.announced(message.chat_id)


async def _announce_round(
    context: ContextTypes.DEFAULT_TYPE,
    message: Message,
    user: User,
    name: str,
    caption: str,
    target_face: bytes | None,
    photos: list[tuple[int, np.ndarray]],
    seconds: int,
) -> None:
    """Post the round message, record the round, start its timer."""
    if target_face:
        announcement = await with_retries(
            lambda: context.bot.send_photo(message.chat_id, target_face, caption=caption), "sendPhoto"
        )
    else:
        announcement = await with_retries(
            lambda: context.bot.send_message(message.chat_id, caption), "sendMessage"
        )
    games = table(context)
    language = user.language_code or ""
    round_ = Round(message.chat_id, announcement.message_id, user.id, name, language, time.time() + seconds)
    await games.store.start(round_)
    games.live[message.chat_id] = Live([emb for _, emb in photos], target_face)
    games.round_messages[message.chat_id] = announcement.message_id
    job_queue = context.job_queue
    assert job_queue is not None
    job_queue.run_once(_on_timer, seconds, chat_id=message.chat_id, name=f"round:{message.chat_id}")
    log.info("round started in chat %s against %s for %s s", message.chat_id, name, seconds)


# entries


async def on_round_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A reply to the round message: a selfie entry (anything else gets the rules again).

    Received before the end, it is in the ranking (the end waits for it, bounded); after, one line says so.
    """
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.reply_to_message is None:
        return
    t = texts_for(update)
    games = table(context)
    chat_id = message.chat_id
    if games.gate.is_over(chat_id, message.reply_to_message.message_id, games.round_messages.get(chat_id)):
        await reply(update, t.game_over_entry.format(player=player_name(user)))
        return
    with games.gate.entry(chat_id):  # from now on, the round's end waits for this entry
        await games.gate.wait_announced(chat_id, ANNOUNCE_WAIT_SECONDS)
        await _play_entry(update, context, message, user, t)


async def _play_entry(
    update: Update, context: ContextTypes.DEFAULT_TYPE, message: Message, user: User, t: Texts
) -> None:
    """Score one entry against the running round, record the player's best, answer with the score."""
    games = table(context)
    player = player_name(user)
    live = games.live.get(message.chat_id)
    round_ = await games.store.current(message.chat_id)
    if live is None or round_ is None:  # the round's announcement failed, or it has ended meanwhile
        await reply(update, t.game_over_entry.format(player=player))
        return
    ref = photo_ref(message)
    if ref is None:
        await reply(update, t.game_running.format(name=round_.celebrity, seconds=round_.seconds_left()))
        return
    done, face = await admitted(update, context, _entry_face(context, message.chat_id, ref))
    if not done:
        return
    if face is None:
        await reply(update, t.game_entry_no_face.format(player=player))
        return
    # Scored like a lookalike answer: the gallery's calibrated similarity (engine/calibration.py).
    calibration = services(context).active_gallery().calibration
    score = calibration.similarity(
        min((distance_between(face.embedding, t) for t in live.target), default=9.0)
    )
    async with games.lock(message.chat_id):  # not between the end's ranking and its clean-up
        over = games.live.get(message.chat_id) is not live  # ended while this entry was in work
        best = score if over else await games.store.record(message.chat_id, Entry(user.id, player, score))
    if over:
        await reply(update, t.game_entry_late.format(player=player, similarity=score, name=round_.celebrity))
        return
    if score >= best:
        live.faces[user.id] = face.thumbnail
    await reply(
        update, t.game_entry.format(player=player, similarity=score, name=round_.celebrity, best=best)
    )


async def _entry_face(context: ContextTypes.DEFAULT_TYPE, chat_id: int, ref: PhotoRef) -> Face | None:
    """The largest face of an entry photo, or None if it has no face."""
    if ref.too_large or not ref.is_image:
        raise ImageError("bad_image", "not a usable photo")
    async with showing_work(context.bot, chat_id, "typing"):
        data = await download(context.bot, ref.file_id)
        analysis = await services(context).pool.analyze(data, max_faces=1)
    return analysis.faces[0] if analysis.faces else None


# the end of a round


async def _on_timer(context: ContextTypes.DEFAULT_TYPE) -> None:
    assert context.job is not None and context.job.chat_id is not None
    await finish_round(context, context.job.chat_id)


async def on_endgame(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    t = texts_for(update)
    games = table(context)
    async with games.lock(message.chat_id):  # a /game still announcing its round is recorded first
        round_ = await games.store.current(message.chat_id)
    if round_ is None:
        await reply(update, t.game_no_round)
        return
    if user.id != round_.starter_id and not await _is_group_admin(context, message.chat_id, user.id):
        await reply(update, t.game_not_yours)
        return
    if not await finish_round(context, message.chat_id):  # another end came first
        await reply(update, t.game_no_round)


async def _is_group_admin(context: ContextTypes.DEFAULT_TYPE, chat_id: int, user_id: int) -> bool:
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError:
        return False
    return member.status in ("administrator", "creator")


async def finish_round(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> bool:
    """Wait (bounded) for the entries in work, rank the round, credit the winners, post the board, forget
    the players' faces. False if there was no round to finish (another end came first)."""
    games = table(context)
    wait = services(context).settings.game_entry_wait_seconds
    with games.gate.ending(chat_id):  # entries arriving from now on are after the end
        if games.gate.in_work(chat_id):
            log.info(
                "round in chat %s ends: waiting up to %s s for %s entries in work",
                chat_id,
                wait,
                games.gate.in_work(chat_id),
            )
        if not await games.gate.settled(chat_id, wait):
            log.info("round in chat %s: ranked without the entries still in work after %s s", chat_id, wait)
        async with games.lock(chat_id):
            finished = await games.store.finish(chat_id)
            live = games.live.pop(chat_id, None)
            message_id = games.round_messages.pop(chat_id, None)
            if finished is not None:
                games.gate.ended(chat_id, finished[0].message_id)
            elif message_id is not None:
                games.gate.ended(chat_id, message_id)
    job_queue = context.job_queue
    if job_queue is not None:
        for job in job_queue.get_jobs_by_name(f"round:{chat_id}"):
            job.schedule_removal()
    if finished is None:
        return False
    await _post_result(context, chat_id, finished, live)
    return True


async def _post_result(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, finished: tuple[Round, list[Placed]], live: Live | None
) -> None:
    """The board (or the lines, after a restart; or "nobody played") of a finished round."""
    round_, placed = finished
    t = texts(round_.language)
    if not placed:
        await with_retries(
            lambda: context.bot.send_message(chat_id, t.game_nobody.format(name=round_.celebrity)),
            "sendMessage",
        )
        return
    caption = result_caption(t, round_.celebrity, placed, t.game_result_head.format(name=round_.celebrity))
    if live is None:  # finished after a restart: the faces are gone, the scores are not
        head = t.game_interrupted_result.format(name=round_.celebrity)
        await with_retries(
            lambda: context.bot.send_message(chat_id, result_caption(t, round_.celebrity, placed, head)),
            "sendMessage",
        )
        return
    target = Card(live.target_face, round_.celebrity)
    cards = [
        Card(live.faces.get(p.entry.user_id), p.entry.player, None, p.entry.similarity, p.rank)
        for p in placed
    ]
    board = await services(context).draw.run(draw_board, target, cards, board_text(t, round_.celebrity))
    await with_retries(
        lambda: context.bot.send_photo(
            chat_id, board, caption=caption, reply_parameters=reply_to(round_.message_id)
        ),
        "sendPhoto",
    )


def result_caption(t: Texts, celebrity: str, placed: list[Placed], head: str) -> str:
    lines = [head]
    lines += [
        t.game_result_line.format(rank=p.rank, player=p.entry.player, similarity=p.entry.similarity)
        for p in placed[:20]
    ]
    winners = [p.entry.player for p in placed if p.rank == 1]
    template = t.game_winner if len(winners) == 1 else t.game_winners
    lines += ["", template.format(players=", ".join(winners))]
    return "\n".join(lines)[:1024]


async def recover_rounds(context: ContextTypes.DEFAULT_TYPE) -> None:
    """At start: finish (with the stored scores) or cancel every round the last run left open."""
    games = table(context)
    for round_ in await games.store.all_rounds():
        entries = await games.store.entries(round_.chat_id)
        if entries:
            await finish_round(context, round_.chat_id)
            continue
        await games.store.finish(round_.chat_id)
        t = texts(round_.language)
        try:
            await context.bot.send_message(round_.chat_id, t.game_interrupted.format(name=round_.celebrity))
        except TelegramError as exc:
            log.info("could not tell chat %s its round was cancelled: %s", round_.chat_id, exc)


# /leaderboard


async def on_leaderboard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    t = texts_for(update)
    winners = await table(context).store.leaderboard(message.chat_id)
    if not winners:
        await reply(update, t.leaderboard_empty)
        return
    lines = [t.leaderboard_head]
    lines += [
        t.leaderboard_line.format(rank=rank, player=w.player, wins=w.wins, best=w.best_similarity)
        for rank, w in enumerate(winners, start=1)
    ]
    await reply(update, "\n".join(lines))


# /twins


async def on_twins(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/twins as a reply to a photo with two or more faces: how alike they are, pair by pair."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    replied = message.reply_to_message
    album = table(context).album(message.chat_id, replied.media_group_id if replied else None)
    if len(album) >= 2:
        await twins_from(update, context, album, several_photos=True)
        return
    ref = photo_ref(replied)
    if ref is None:
        await reply(update, texts_for(update).twins_usage)
        return
    await twins_from(update, context, [ref], several_photos=False)


async def on_album_item(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remember which photos belong to an album (for /twins as a reply to one of them); answers nothing."""
    message = update.effective_message
    ref = photo_ref(message)
    if message is not None and message.media_group_id is not None and ref is not None:
        table(context).remember_album_item(message.chat_id, message.media_group_id, ref)


async def twins_from(
    update: Update, context: ContextTypes.DEFAULT_TYPE, refs: list[PhotoRef], several_photos: bool
) -> None:
    """Faces from one photo (all its faces) or from several (the largest face of each): the pairs."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    t = texts_for(update)
    done, faces = await admitted(update, context, _twin_faces(context, message.chat_id, refs, several_photos))
    if not done:
        return
    if len(faces) < 2:
        await reply(update, t.twins_need_two.format(count=len(faces)))
        return
    await _send_pairs(context, message, faces, t)


async def _twin_faces(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, refs: list[PhotoRef], several_photos: bool
) -> list[Face]:
    pool = services(context).pool
    faces: list[Face] = []
    async with showing_work(context.bot, chat_id):
        for ref in refs[:MAX_TWIN_FACES]:
            if ref.too_large or not ref.is_image:
                raise ImageError("bad_image", "not a usable photo")
            analysis = await pool.analyze(await download(context.bot, ref.file_id), max_faces=MAX_TWIN_FACES)
            faces += analysis.faces[:1] if several_photos else analysis.faces
    if not several_photos:
        faces.sort(key=lambda f: f.box[3])  # left to right, so A, B, C … read like the photo
    return faces[:MAX_TWIN_FACES]


async def _send_pairs(
    context: ContextTypes.DEFAULT_TYPE, message: Message, faces: list[Face], t: Texts
) -> None:
    labels = string.ascii_uppercase
    pairs = []
    for (i, a), (j, b) in itertools.combinations(enumerate(faces), 2):
        distance = distance_between(a.embedding, b.embedding)
        pairs.append((similarity(distance), distance, i, j))
    pairs.sort(reverse=True)
    cards = [
        (Card(faces[i].thumbnail, labels[i], d, s), Card(faces[j].thumbnail, labels[j]))
        for s, d, i, j in pairs
    ]
    text = CollageText(title=t.twins_title, you="", distance=t.distance, similarity=t.similarity)
    picture = await services(context).draw.run(draw_pairs, cards, text)
    best_s, _, best_i, best_j = pairs[0]
    lines = [t.twins_caption.format(a=labels[best_i], b=labels[best_j], similarity=best_s), ""]
    lines += [t.twins_line.format(a=labels[i], b=labels[j], similarity=s) for s, _, i, j in pairs]
    await with_retries(
        lambda: context.bot.send_photo(
            message.chat_id,
            picture,
            caption="\n".join(lines)[:1024],
            reply_parameters=reply_to(message.message_id),
        ),
        "sendPhoto",
    )
