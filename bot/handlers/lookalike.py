"""The main job: a selfie in, a collage of the five closest celebrities out.

In private chats every photo (or image file) is a request; in groups only a photo captioned /lookalike
(or mentioning the bot) and /lookalike sent as a reply to a photo. Each accepted selfie is recorded as a
durable job (ids only) until it is answered, so a crash loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from bot.handlers.share import remember_collage, share_markup
from bot.render import collage_for, photo_credits
from bot.services import Services, services
from bot.telegram_io import PhotoRef, download, photo_ref, reply_to, showing_work, with_retries
from bot.texts import Texts, texts
from engine.faces import Analysis, Face
from engine.images import ImageError
from engine.pool import Busy, WorkerCrashed
from engine.ranking import keep_previous
from store.jobs import MAX_ATTEMPTS, Job

log = logging.getLogger(__name__)

TOP = 5
ALBUM_MOST = 5  # selfies of an album combined into one answer (the rest are left out: memory stays bounded)


@dataclass(frozen=True)
class Answer:
    """What to send back: a text, or a collage with a caption (and the name it puts first)."""

    text: str
    photo: bytes | None = None
    first: str | None = None


def refusal(t: Texts, code: str) -> str:
    """The user-facing text for an ImageError code."""
    return {"too_large": t.too_large, "not_found": t.unreadable}.get(code, t.unreadable)


async def make_answer(svc: Services, data: bytes, t: Texts, previous: str | None = None) -> Answer:
    """Photo bytes → the answer. Never raises for bad input: every failure is a friendly text.

    `previous`: the user's last #1, kept first if it is a near-tie with this photo's nearest."""
    analysis = await _analyze(svc, data, t)
    if isinstance(analysis, Answer):
        return analysis
    if not analysis.faces:
        return Answer(t.no_face)
    note = [t.several_faces_note.format(count=analysis.faces_found)] if analysis.faces_found > 1 else []
    return await _ranked_answer(
        svc, analysis.faces[0], analysis.faces[0].embedding, t, t.result_caption_head, note, previous
    )


async def make_album_answer(
    svc: Services, photos: Sequence[bytes], t: Texts, previous: str | None = None
) -> Answer:
    """Several selfies of one user → one answer, ranked on the mean of their largest faces' embeddings.

    Averaging photos is much steadier than any single one (bench/calibration.py: two albums of two selfies
    share their #1 far more often than two selfies do). Photos without a face are left out; the collage
    shows the first photo's face. With one usable photo, it is the single-photo answer."""
    analyses = await asyncio.gather(*(_analyze(svc, data, t) for data in photos))
    faces = [a.faces[0] for a in analyses if isinstance(a, Analysis) and a.faces]
    if not faces:
        return next((a for a in analyses if isinstance(a, Answer)), Answer(t.no_face))
    if len(faces) == 1:
        return await _ranked_answer(svc, faces[0], faces[0].embedding, t, t.result_caption_head, [], previous)
    mean = np.mean([f.embedding for f in faces], axis=0).astype(np.float32)
    head = t.album_caption_head.format(count=len(faces))
    return await _ranked_answer(svc, faces[0], mean, t, head, [], previous)


async def _analyze(svc: Services, data: bytes, t: Texts) -> Analysis | Answer:
    """The photo's faces, or the friendly answer saying why there are none to look at."""
    try:
        return await svc.pool.analyze(data)
    except ImageError as exc:
        return Answer(t.not_image if exc.message.startswith("unsupported") else refusal(t, exc.code))
    except Busy:
        return Answer(t.busy)
    except WorkerCrashed:
        return Answer(t.unreadable)


async def _ranked_answer(
    svc: Services,
    face: Face,
    embedding: np.ndarray,
    t: Texts,
    head: str,
    notes: list[str],
    previous: str | None = None,
) -> Answer:
    """The collage of `face` beside the celebrities nearest `embedding`, with the caption.

    A `previous` #1 within the tie margin of the nearest stays first, and the caption says so."""
    gallery = svc.active_gallery()
    if gallery.photo_count == 0:
        return Answer(t.empty_gallery)
    nearest = gallery.rank(embedding, TOP)
    ranking = keep_previous(nearest, previous, lambda m: m.name, svc.settings.lookalike_tie_margin)
    if ranking[0] is not nearest[0]:
        notes = [t.kept_note.format(name=ranking[0].name, nearest=nearest[0].name), *notes]
    footer = t.gallery_size.format(celebrities=gallery.celebrity_count, photos=gallery.photo_count)
    collage = await collage_for(gallery, [face], [ranking], t, footer, draw=svc.draw.run)
    lines = [head]
    lines += [
        t.result_line.format(rank=rank, name=m.name, similarity=m.similarity)
        for rank, m in enumerate(ranking, start=1)
    ]
    if notes:
        lines += ["", *notes]
    if await photo_credits(gallery, [m.photo_id for m in ranking]):
        lines += ["", t.credits_hint]
    return Answer("\n".join(lines)[:1024], collage, ranking[0].name if ranking else None)


async def send_answer(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    message_id: int,
    answer: Answer,
    markup: InlineKeyboardMarkup | None = None,
) -> Message:
    """Send the answer as a reply to `message_id` (a collage with `markup`, if any); returns it as sent."""
    bot = context.bot
    if answer.photo is None:
        return await with_retries(
            lambda: bot.send_message(chat_id, answer.text, reply_parameters=reply_to(message_id)),
            "sendMessage",
        )
    return await with_retries(
        lambda: bot.send_photo(
            chat_id,
            answer.photo,
            caption=answer.text,
            reply_parameters=reply_to(message_id),
            reply_markup=markup,
        ),
        "sendPhoto",
    )


async def serve(
    context: ContextTypes.DEFAULT_TYPE,
    *,
    chat_id: int,
    message_id: int,
    user_id: int,
    ref: PhotoRef,
    language: str,
    job: Job | None = None,
    album: Sequence[PhotoRef] = (),
) -> None:
    """Answer one selfie: admission, durable job, download, analysis, collage, reply, job done.

    `album`: the other selfies of an album sent with it, answered together (the durable job records the
    first; after a crash, that one alone is answered)."""
    svc = services(context)
    t = texts(language)
    if job is None and (chat_id, message_id) in svc.resumed:
        log.info("chat %s message %s: delivered again, already taken from the job table", chat_id, message_id)
        return
    verdict = svc.admission.enter(user_id)
    if verdict != "ok":
        text = t.one_at_a_time if verdict == "again" else t.busy
        await send_answer(context, chat_id, message_id, Answer(text))
        return
    try:
        if job is None:
            job_id, created = await svc.jobs.add(chat_id, message_id, user_id, ref.file_id, language)
            if not created:
                log.info("chat %s message %s: delivered again, already in work", chat_id, message_id)
                return
        else:
            job_id = job.id
            await svc.jobs.attempt(job.id)
        # In a private chat the photo is the user's: their last #1 settles near-ties (not in groups,
        # where the photo may be anyone's).
        private = chat_id == user_id
        previous = svc.last_answers.recall(user_id) if private else None
        answer = await _answer_for(context, svc, chat_id, [ref, *album], t, previous)
        if private and answer.first is not None:
            svc.last_answers.remember(user_id, answer.first)
    finally:
        # The photo is no longer in work once its answer exists: the user may send the next one.
        svc.admission.leave(user_id)
    try:
        # A private chat's collage can be shared (inline mode): the button, and Telegram's file id kept.
        markup = share_markup(context, t) if private and answer.photo is not None else None
        sent = await send_answer(context, chat_id, message_id, answer, markup)
        if markup is not None:
            remember_collage(context, user_id, sent)
        svc.answers.note()
    except Forbidden:
        log.info("chat %s blocked the bot; dropping its answer", chat_id)
    await svc.jobs.done(job_id)


async def _answer_for(
    context: ContextTypes.DEFAULT_TYPE,
    svc: Services,
    chat_id: int,
    refs: Sequence[PhotoRef],
    t: Texts,
    previous: str | None,
) -> Answer:
    usable = [r for r in refs if not r.too_large and r.is_image][:ALBUM_MOST]
    if not usable:
        return Answer(t.too_large if refs[0].too_large else t.not_image)
    async with showing_work(context.bot, chat_id):
        photos = []
        failure = None
        for ref in usable:
            try:
                photos.append(await download(context.bot, ref.file_id))
            except BadRequest as exc:
                # "file is too big" (over 20 MB) or a file id that has expired
                failure = Answer(t.too_large if "too big" in str(exc).lower() else t.unreadable)
        if not photos:
            return failure or Answer(t.unreadable)
        if len(photos) == 1:
            return await make_answer(svc, photos[0], t, previous)
        return await make_album_answer(svc, photos, t, previous)


def _language(update: Update) -> str:
    user = update.effective_user
    return (user.language_code if user else None) or ""


async def request_from(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    source: Message | None,
    album: Sequence[Message] = (),
) -> None:
    """Serve the photo of `source` (the message itself or the one it replies to), or hint if none.

    `album`: the other items of an album `source` opens, answered together with it."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    ref = photo_ref(source)
    if ref is None:
        t = texts(_language(update))
        await message.reply_text(t.group_hint if message.chat.type != "private" else t.hint_text)
        return
    await serve(
        context,
        chat_id=message.chat_id,
        message_id=message.message_id,
        user_id=user.id,
        ref=ref,
        language=_language(update),
        album=[r for r in (photo_ref(m) for m in album) if r is not None],
    )


async def on_private_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo or a file sent in a private chat."""
    message = update.effective_message
    ref = photo_ref(message)
    if message is not None and ref is not None and ref.is_zip:
        await message.reply_text(texts(_language(update)).import_usage)
        return
    await request_from(update, context, message)


async def on_lookalike_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/lookalike as a reply to a photo (or on its own: a hint)."""
    message = update.effective_message
    await request_from(update, context, message.reply_to_message if message else None)


async def on_group_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group photo addressed to the bot: captioned /lookalike or mentioning it. Others are ignored."""
    message = update.effective_message
    if message is None or not addressed_to_bot(message.caption or "", context.bot.username):
        return
    await request_from(update, context, message)


def addressed_to_bot(caption: str, username: str | None) -> bool:
    """True for a caption that starts with /lookalike (optionally @this_bot) or mentions @this_bot."""
    name = re.escape(username or "")
    if re.match(rf"^/lookalike(@{name})?(\s|$)", caption, re.IGNORECASE):
        return True
    return bool(username) and re.search(rf"@{name}\b", caption, re.IGNORECASE) is not None


async def resume_jobs(context: ContextTypes.DEFAULT_TYPE) -> None:
    """After a restart: answer every selfie that was accepted but not answered.

    Called from post_init, before the application runs: the answers are scheduled on the job queue, which
    starts them once it runs and waits for them on a clean stop (tasks made now would be neither).
    """
    svc = services(context)
    job_queue = context.application.job_queue
    assert job_queue is not None
    for job in await svc.jobs.pending():
        svc.resumed.add((job.chat_id, job.message_id))
        if job.attempts >= MAX_ATTEMPTS:
            log.warning("giving up on job %s after %s attempts", job.id, job.attempts)
            await svc.jobs.done(job.id)
            continue
        job_queue.run_once(_resume_job, 0, data=job, name=f"resume-job-{job.id}")


async def _resume_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    assert context.job is not None
    job: Job = context.job.data  # type: ignore[assignment]
    await serve(
        context,
        chat_id=job.chat_id,
        message_id=job.message_id,
        user_id=job.user_id,
        ref=PhotoRef(job.file_id, None, True),
        language=job.language,
        job=job,
    )
