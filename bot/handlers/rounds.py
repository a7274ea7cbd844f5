"""Group rounds: a lookalike round against a celebrity, its entries, its end (twins.py and leaderboard.py
hold the other group games).

A round: /game [NAME] posts the celebrity's face; players reply to that message with selfies; each entry
is acknowledged with its similarity and a player's best counts; the round ends on its timer (PTB's
JobQueue) or at /endgame, and the final board is posted. Which replies are entries, and how the end waits
for the entries in work, is service/round_gate.py's (docs/rounds-and-share.md). Scores (names and numbers) are kept in SQLite so
a restart finishes a round instead of leaving it hanging; players' faces live in memory only, for the
board, and are gone when the round ends. When the disk refuses a round's end (full or read-only), the
round stays open as it was, the chat is told once, and the end is tried again every END_RETRY_SECONDS
(docs/disk-faults.md).
"""

from __future__ import annotations

import contextlib
import logging
import random
import time

import numpy as np
from telegram import Message, Update, User
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, filters

from bot.bot_data import services
from bot.chat import TelegramChat, admitted, language_of
from bot.handlers.info import reply, texts_for
from bot.telegram_io import PhotoRef, photo_ref, reply_to, with_retries
from engine.pictures import CollageText
from engine.ranking import distance_between
from service import metrics
from service.game_table import GameTable, Live
from service.photos import caption_text, entry_face
from service.render import Card, draw_board
from service.round_gate import Replied
from service.services import Services
from service.texts import Texts, texts
from store.gallery_file import GalleryDiskFull, GalleryFault
from store.games import Entry, Placed, Round
from store.names import InvalidName

log = logging.getLogger(__name__)

ANNOUNCE_WAIT_SECONDS = 60  # an entry waits at most this for its round to be recorded
# A round whose end the disk refused is ended again this often (rounds shorter than this: every round's
# length, GAME_ROUND_SECONDS), until the disk takes it.
END_RETRY_SECONDS = 60


def table(context: ContextTypes.DEFAULT_TYPE) -> GameTable:
    return services(context).games


class ReplyToRound(filters.MessageFilter):
    """Messages that reply to their group's round message: running, being announced, or ended."""

    def __init__(self, application: Application) -> None:
        super().__init__(name="ReplyToRound")
        self.application = application

    def filter(self, message: Message) -> bool:
        replied = replied_of(message)
        svc: Services | None = self.application.bot_data.get("services")  # None until post_init
        if replied is None or svc is None:
            return False
        return svc.games.gate.is_round_reply(replied, svc.games.round_messages.get(message.chat_id))


def replied_of(message: Message) -> Replied | None:
    """The message `message` replies to, as the round gate reads it; None if it replies to nothing."""
    replied = message.reply_to_message
    if replied is None:
        return None
    from_bot = replied.from_user is not None and replied.from_user.is_bot
    caption = replied.caption or replied.text
    return Replied(message.chat_id, replied.message_id, from_bot, caption, replied.date.timestamp())


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
        await _announce_round(update, context, message, user, name, caption, target_face, photos, seconds)
    finally:
        games.gate.announced(message.chat_id)


async def _announce_round(
    update: Update,
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
    round_ = Round(
        message.chat_id, announcement.message_id, user.id, name, language_of(update), time.time() + seconds
    )
    try:
        await games.store.start(round_)
    except GalleryFault:
        # Not recorded (a full or read-only disk): the message is taken back, so that nobody replies to a
        # round that is not; the one who asked hears why from the error handler.
        with contextlib.suppress(TelegramError):
            await context.bot.delete_message(message.chat_id, announcement.message_id)
        raise
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
    with metrics.answering():  # service/photos.py counts the entry; the span ends after its reply
        await _score_entry(update, context, message, user, t, ref, live, round_)


async def _score_entry(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    message: Message,
    user: User,
    t: Texts,
    ref: PhotoRef,
    live: Live,
    round_: Round,
) -> None:
    """Score one entry photo against the running round's celebrity, record the player's best, reply with
    the score (or why there is none)."""
    games = table(context)
    player = player_name(user)
    chat = TelegramChat(context.bot, message.chat_id, action="typing")
    done, face = await admitted(update, entry_face(services(context), user.id, ref, chat))
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
    try:
        over, best = await _record_entry(games, message.chat_id, live, Entry(user.id, player, score))
    except GalleryFault as exc:  # a full or read-only disk: the player is told in a player's words
        log.warning("round entry in chat %s not recorded: %s", message.chat_id, exc)
        await reply(
            update, t.game_entry_unrecorded.format(player=player, similarity=score, name=round_.celebrity)
        )
        return
    if over:
        await reply(update, t.game_entry_late.format(player=player, similarity=score, name=round_.celebrity))
        return
    if score >= best:
        live.faces[user.id] = face.thumbnail
    await reply(
        update, t.game_entry.format(player=player, similarity=score, name=round_.celebrity, best=best)
    )


async def _record_entry(games: GameTable, chat_id: int, live: Live, entry: Entry) -> tuple[bool, float]:
    """Keep the entry's score in the round; returns (whether the round ended while the entry was in work,
    the player's best). A disk that refuses the write raises GalleryFault, and nothing is kept."""
    async with games.lock(chat_id):  # not between the end's ranking and its clean-up
        if games.live.get(chat_id) is not live:
            return True, entry.similarity
        return False, await games.store.record(chat_id, entry)


# the end of a round


async def _on_timer(context: ContextTypes.DEFAULT_TYPE) -> None:
    assert context.job is not None and context.job.chat_id is not None
    await end_round(context, context.job.chat_id)


async def end_round(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
    """The end nobody asked for in the chat (the timer, or the start for a round the last run left open):
    when the disk refuses it, the round stays open, the chat is told once, and the end is tried again."""
    try:
        await finish_round(context, chat_id)
    except GalleryFault as fault:
        await _end_later(context, chat_id, fault)


async def _end_later(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, fault: GalleryFault, told: bool = False
) -> None:
    """The disk refused a round's end and nothing was changed: try again in a while, and tell the chat,
    once per round, in the round's language (`told`: the player who asked for the end is answered instead)."""
    games = table(context)
    interval = min(END_RETRY_SECONDS, services(context).settings.game_round_seconds)
    log.warning("round in chat %s cannot end yet, trying again in %s s: %s", chat_id, interval, fault)
    job_queue = context.job_queue
    assert job_queue is not None
    for job in job_queue.get_jobs_by_name(f"round:{chat_id}"):
        job.schedule_removal()
    job_queue.run_once(_on_timer, interval, chat_id=chat_id, name=f"round:{chat_id}")
    already_told = told or chat_id in games.end_told
    games.end_told.add(chat_id)
    round_ = None if already_told else await games.store.current(chat_id)
    if round_ is None:
        return
    text = end_waits_text(texts(round_.language), fault, round_.celebrity)
    try:
        await with_retries(
            lambda: context.bot.send_message(chat_id, text, reply_parameters=reply_to(round_.message_id)),
            "sendMessage",
        )
    except TelegramError as exc:
        log.info("could not tell chat %s that its round's end waits for the disk: %s", chat_id, exc)


def end_waits_text(t: Texts, fault: GalleryFault, celebrity: str) -> str:
    """That a round cannot end yet because the disk is full (or read-only), and will end by itself."""
    full = isinstance(fault, GalleryDiskFull)
    return (t.game_end_waits_disk_full if full else t.game_end_waits_read_only).format(name=celebrity)


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
    try:
        finished = await finish_round(context, message.chat_id)
    except GalleryFault as fault:  # the round goes on; it ends by itself once the disk takes it
        await _end_later(context, message.chat_id, fault, told=True)
        await reply(update, end_waits_text(t, fault, round_.celebrity))
        return
    if not finished:  # another end came first
        await reply(update, t.game_no_round)


async def _is_group_admin(context: ContextTypes.DEFAULT_TYPE, chat_id: int, user_id: int) -> bool:
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError:
        return False
    return member.status in ("administrator", "creator")


async def finish_round(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> bool:
    """Wait (bounded) for the entries in work, rank the round, credit the winners, post the board, forget
    the players' faces. False if there was no round to finish (another end came first). A disk that
    refuses the end raises GalleryFault with nothing changed, in the file or in memory: the round goes on."""
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
    games.end_told.discard(chat_id)
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
    return caption_text(lines)


async def recover_rounds(context: ContextTypes.DEFAULT_TYPE) -> None:
    """At start: finish (with the stored scores) or cancel every round the last run left open."""
    games = table(context)
    for round_ in await games.store.all_rounds():
        entries = await games.store.entries(round_.chat_id)
        if entries:
            await end_round(context, round_.chat_id)
            continue
        try:
            await games.store.finish(round_.chat_id)
        except GalleryFault as fault:  # ended later, when the disk takes it ("nobody played")
            await _end_later(context, round_.chat_id, fault)
            continue
        t = texts(round_.language)
        try:
            await context.bot.send_message(round_.chat_id, t.game_interrupted.format(name=round_.celebrity))
        except TelegramError as exc:
            log.info("could not tell chat %s its round was cancelled: %s", round_.chat_id, exc)
