"""What happens to a photo, whichever chat (or front end) sent it.

A selfie in a private chat, a group's /lookalike, a group round's entry and /twins all come here:

1. admission — one photo in flight per user, a global limit (`Services.admission`): else `again` / `busy`;
2. the photo's reference is checked before anything is fetched: `too_large`, `not_image`;
3. the bytes are fetched through the front end's `Chat.fetch` (the layer knows no Telegram);
4. the faces are found and embedded by the local pool or the cluster (`Services.pool`); steps 3 and 4 take
   a few photos at a time, in the order they came (`Services.intake`);
5. the answer is ranked with the user's memory (`LastAnswers`, `engine.ranking.keep_previous`) and drawn;
6. the result is an `Answer`: a collage and its caption, or a refusal — a `RefusalCode`, worded by
   `refusal_text` in the user's language, the same words for the same photo in every chat;
7. each photo answered (a selfie or album, a group's /lookalike, a round's entry) is counted once by its
   outcome, read from its refusal code (`outcome_of`), and timed; so is each analysis (service/metrics.py).

Front ends turn `Answer`s and `Refused` into messages; nothing here sends anything itself but through the
`Chat` it is lent.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from engine.faces import Analysis, Face
from engine.images import ImageError
from engine.landmarks import KeptFace
from engine.pool import Busy, WorkerCrashed
from engine.ranking import distance_between, keep_previous, similarity
from service import metrics
from service.morph_memory import MorphOffer, choose_photo
from service.photo_ref import PhotoRef
from service.render import collage_for, photo_credits
from service.services import Admission, Services
from service.texts import Texts, texts
from store.jobs import MAX_ATTEMPTS, Job

log = logging.getLogger(__name__)

TOP = 5  # celebrities in an answer
ALBUM_MOST = 5  # selfies of an album combined into one answer (the rest are left out: memory stays bounded)
MAX_TWIN_FACES = 6  # 15 pairs: as many rows as a phone screen can show
CAPTION_LIMIT = 1024  # Telegram's caption limit, for every caption the bot sends

RefusalCode = Literal["too_large", "unreadable", "not_image", "no_face", "busy", "again", "empty_gallery"]


class Refused(Exception):
    """No answer for this photo, for a reason every chat words the same way: `code`."""

    def __init__(self, code: RefusalCode) -> None:
        super().__init__(code)
        self.code: RefusalCode = code


def refusal_text(t: Texts, code: RefusalCode) -> str:
    """The user-facing words for a refusal code, in `t`'s language."""
    return {
        "too_large": t.too_large,
        "unreadable": t.unreadable,
        "not_image": t.not_image,
        "no_face": t.no_face,
        "busy": t.busy,
        "again": t.one_at_a_time,
        "empty_gallery": t.empty_gallery,
    }[code]


def image_refusal(error: ImageError) -> RefusalCode:
    """An ImageError's refusal, told apart by its code (never by its message)."""
    if error.code == "too_large":
        return "too_large"
    if error.code == "unsupported":
        return "not_image"
    return "unreadable"


def outcome_of(code: RefusalCode | None) -> metrics.Outcome:
    """What an answer says about its photo, for lookalike_answers_total: no refusal is a match; a full
    queue or a photo already in work is `busy`; an empty gallery is the operator's `error`; a photo that
    could not be had or read is `unreadable`."""
    if code is None:
        return "match"
    if code == "no_face":
        return "no_face"
    if code in ("busy", "again"):
        return "busy"
    if code == "empty_gallery":
        return "error"
    return "unreadable"


def caption_text(lines: Iterable[str]) -> str:
    """Lines joined into one caption, cut to what Telegram accepts."""
    return "\n".join(lines)[:CAPTION_LIMIT]


def ref_refusal(ref: PhotoRef) -> RefusalCode | None:
    """Why a photo is refused before it is fetched (too large, not an image), or None."""
    if ref.too_large:
        return "too_large"
    if not ref.is_image:
        return "not_image"
    return None


class Chat(Protocol):
    """What a front end lends the layer for one request."""

    async def fetch(self, ref: PhotoRef) -> bytes:
        """The photo's bytes; raises `Refused` ("too_large", "unreadable") for a file that cannot be had."""
        ...

    def working(self) -> AbstractAsyncContextManager[None]:
        """Shows the user that work is in progress while the block runs."""
        ...

    async def deliver(self, answer: Answer) -> bool:
        """Sends the answer; False if the user can no longer be reached (it is then dropped)."""
        ...


@dataclass(frozen=True)
class Answer:
    """What to send back: a text, or a collage with a caption (and the name it puts first).

    `refusal`: the code when the text says why there is no collage; `morph`: the key of the morph this
    answer offers (a private answer while the Morph button is on, `service.morph_memory`)."""

    text: str
    photo: bytes | None = None
    first: str | None = None
    refusal: RefusalCode | None = None
    morph: str | None = None


def refusal_answer(t: Texts, code: RefusalCode) -> Answer:
    """The answer that says, in `t`'s language, why there is no collage."""
    return Answer(refusal_text(t, code), refusal=code)


@contextlib.contextmanager
def admitted(admission: Admission, user_id: int) -> Iterator[None]:
    """The user's admission slot for the block; raises `Refused` ("again", "busy") when there is none."""
    verdict = admission.enter(user_id)
    if verdict != "ok":
        raise Refused(verdict)
    try:
        yield
    finally:
        admission.leave(user_id)


@contextlib.contextmanager
def _pool_refusals() -> Iterator[None]:
    """The face pool's failures for a photo as `Refused`: a bad image by its code, a full queue `busy`, a
    crashed worker `unreadable`."""
    try:
        yield
    except ImageError as exc:
        raise Refused(image_refusal(exc)) from None
    except Busy:
        raise Refused("busy") from None
    except WorkerCrashed:
        raise Refused("unreadable") from None


async def analyze(svc: Services, data: bytes, max_faces: int | None = None) -> Analysis:
    """Photo bytes → their faces (local pool or cluster); raises `Refused` for a photo that cannot be read."""
    with _pool_refusals(), metrics.analysis_timer():
        if max_faces is None:
            return await svc.pool.analyze(data)
        return await svc.pool.analyze(data, max_faces=max_faces)


async def analyze_keeping(svc: Services, data: bytes) -> tuple[Analysis, KeptFace | None]:
    """`analyze`, and the largest face kept for a morph (computed where the face models are)."""
    with _pool_refusals(), metrics.analysis_timer():
        return await svc.pool.analyze_keeping(data)


# A lookalike answer: private chats and a group's /lookalike


@dataclass(frozen=True)
class Selfie:
    """One lookalike request: where it came from, whose it is, its photo (and an album's other photos)."""

    chat_id: int
    message_id: int
    user_id: int
    refs: Sequence[PhotoRef]
    language: str
    job: Job | None = None  # the durable job, when it is answered again after a restart

    @property
    def private(self) -> bool:
        """In a private chat the photo is the user's own (in a group it may be anyone's)."""
        return self.chat_id == self.user_id


async def answer_selfie(svc: Services, selfie: Selfie, chat: Chat) -> None:
    """Answer one selfie (or album): admission, durable job, fetch, analysis, ranking, delivery, job done;
    counted once by its outcome (none for an update already in work)."""
    with metrics.answering():
        await _answer_selfie(svc, selfie, chat)


async def _answer_selfie(svc: Services, selfie: Selfie, chat: Chat) -> None:
    t = texts(selfie.language)
    if selfie.job is None and (selfie.chat_id, selfie.message_id) in svc.resumed:
        log.info("chat %s message %s: delivered again, already taken from the job table", *_where(selfie))
        return
    try:
        with admitted(svc.admission, selfie.user_id):
            fresh, job_id = await _record(svc, selfie)
            if not fresh:
                log.info("chat %s message %s: delivered again, already in work", *_where(selfie))
                return
            # The user's last #1 settles near-ties in a private chat (not in groups: anyone's photo).
            previous = svc.last_answers.recall(selfie.user_id) if selfie.private else None
            # A private answer offers its user a morph of their own face (a group photo may be anyone's).
            owner = selfie.user_id if selfie.private and svc.morphs.on else None
            answer = await _answer_for(svc, selfie.refs, chat, t, previous, owner)
            if selfie.private and answer.first is not None:
                svc.last_answers.remember(selfie.user_id, answer.first)
        # The photo is no longer in work once its answer exists: the user may send the next one.
    except Refused as exc:
        await chat.deliver(refusal_answer(t, exc.code))
        metrics.answered(outcome_of(exc.code))
        return
    if await chat.deliver(answer):
        svc.answers.note()
    metrics.answered(outcome_of(answer.refusal))  # also when the chat blocked the bot: the photo was answered
    await svc.jobs.done(job_id)


async def selfies_to_resume(svc: Services) -> list[Job]:
    """After a restart: the selfies accepted but not answered, to be answered again (`resumed_selfie`).

    Their updates, if Telegram delivers them again, are ignored from now on; a job tried MAX_ATTEMPTS times
    is given up (marked done) rather than crash the bot again."""
    again = []
    for job in await svc.jobs.pending():
        svc.resumed.add((job.chat_id, job.message_id))
        if job.attempts >= MAX_ATTEMPTS:
            log.warning("giving up on job %s after %s attempts", job.id, job.attempts)
            await svc.jobs.done(job.id)
            continue
        again.append(job)
    return again


def resumed_selfie(job: Job) -> Selfie:
    """The selfie a durable job recorded (its first photo: an album's others were not recorded)."""
    ref = PhotoRef(job.file_id, None, True)
    return Selfie(job.chat_id, job.message_id, job.user_id, [ref], job.language, job)


def _where(selfie: Selfie) -> tuple[int, int]:
    return selfie.chat_id, selfie.message_id


async def _record(svc: Services, selfie: Selfie) -> tuple[bool, int | None]:
    """Whether to answer the selfie (False: this update is already in work) and its durable job id (ids
    only, never the photo; None when the disk refused the row: the selfie is answered all the same)."""
    if selfie.job is not None:
        await svc.jobs.attempt(selfie.job.id)
        return True, selfie.job.id
    job_id, created = await svc.jobs.add(
        selfie.chat_id, selfie.message_id, selfie.user_id, selfie.refs[0].file_id, selfie.language
    )
    return created, job_id


async def _answer_for(
    svc: Services, refs: Sequence[PhotoRef], chat: Chat, t: Texts, previous: str | None, owner: int | None
) -> Answer:
    """The refs' photos fetched and answered together (one photo: the single answer); `owner`: the user
    the answer offers a morph to, if any."""
    usable = [r for r in refs if ref_refusal(r) is None][:ALBUM_MOST]
    if not usable:
        return refusal_answer(t, ref_refusal(refs[0]) or "unreadable")
    async with chat.working():
        async with svc.intake.turn():  # fetched and analysed in turn; drawn outside it
            fetched: list[PhotoRef] = []
            photos: list[bytes] = []
            failure: RefusalCode = "unreadable"
            for ref in usable:
                try:
                    photos.append(await chat.fetch(ref))
                except Refused as exc:
                    failure = exc.code
                else:
                    fetched.append(ref)
            if not photos:
                return refusal_answer(t, failure)
            outcomes = await asyncio.gather(*(analyze(svc, data) for data in photos), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, Refused):
                raise outcome
        analyses = [o for o in outcomes if isinstance(o, Analysis | Refused)]
        if len(analyses) == 1:
            return await make_answer(svc, analyses[0], t, previous, owner, fetched[0])
        return await make_album_answer(svc, analyses, t, previous, owner, fetched)


async def make_answer(
    svc: Services,
    analysis: Analysis | Refused,
    t: Texts,
    previous: str | None = None,
    owner: int | None = None,
    ref: PhotoRef | None = None,
) -> Answer:
    """A photo's analysis (or why it has none) → the answer. Never raises for bad input: every failure is
    a refusal answer.

    `previous`: the user's last #1, kept first if it is a near-tie with this photo's nearest; `owner` and
    `ref`: the user the answer's Morph button is for, and the photo by reference (None: no button)."""
    if isinstance(analysis, Refused):
        return refusal_answer(t, analysis.code)
    if not analysis.faces:
        return refusal_answer(t, "no_face")
    note = [t.several_faces_note.format(count=analysis.faces_found)] if analysis.faces_found > 1 else []
    face = analysis.faces[0]
    morph = _Morphable(owner, ref) if owner is not None and ref is not None else None
    return await _ranked_answer(svc, face, face.embedding, t, t.result_caption_head, note, previous, morph)


async def make_album_answer(
    svc: Services,
    outcomes: Sequence[Analysis | Refused],
    t: Texts,
    previous: str | None = None,
    owner: int | None = None,
    refs: Sequence[PhotoRef] = (),
) -> Answer:
    """Several selfies of one user → one answer, ranked on the mean of their largest faces' embeddings.

    Averaging photos is much steadier than any single one (bench/calibration.py: two albums of two selfies
    share their #1 far more often than two selfies do). Photos without a face are left out; the collage
    shows the first photo's face. With one usable photo, it is the single-photo answer. `outcomes`: each
    photo's analysis or why it has none; `refs`: the photos by reference, in the same order, for
    `owner`'s Morph button."""
    found = [
        (outcome.faces[0], index)
        for index, outcome in enumerate(outcomes)
        if isinstance(outcome, Analysis) and outcome.faces
    ]
    if not found:
        refused = next((o for o in outcomes if isinstance(o, Refused)), None)
        return refusal_answer(t, refused.code if refused else "no_face")
    faces = [face for face, _ in found]
    first = found[0][1]  # the photo whose face the collage shows is the one a morph uses
    morph = _Morphable(owner, refs[first]) if owner is not None and first < len(refs) else None
    if len(faces) == 1:
        head = t.result_caption_head
        return await _ranked_answer(svc, faces[0], faces[0].embedding, t, head, [], previous, morph)
    mean = np.mean([f.embedding for f in faces], axis=0).astype(np.float32)
    head = t.album_caption_head.format(count=len(faces))
    return await _ranked_answer(svc, faces[0], mean, t, head, [], previous, morph)


@dataclass(frozen=True)
class _Morphable:
    """Whose answer offers a morph, and the photo (by reference) whose face it would use."""

    owner: int
    selfie: PhotoRef


async def _offer_morph(svc: Services, morph: _Morphable, name: str, embedding: np.ndarray) -> str:
    """Keep the photo's reference and the photo of `name` the morph will use (in memory, minutes); the
    offer's key."""
    gallery = svc.active_gallery()
    photo = await choose_photo(gallery, name, embedding, in_demo=gallery is svc.demo)
    return svc.morphs.keep(MorphOffer(morph.owner, morph.selfie, name, photo))


async def _ranked_answer(
    svc: Services,
    face: Face,
    embedding: np.ndarray,
    t: Texts,
    head: str,
    notes: list[str],
    previous: str | None = None,
    morph: _Morphable | None = None,
) -> Answer:
    """The collage of `face` beside the celebrities nearest `embedding`, with the caption.

    A `previous` #1 within the tie margin of the nearest stays first, and the caption says so. With
    `morph`, the answer offers a morph with its #1 (`Answer.morph`)."""
    gallery = svc.active_gallery()
    if gallery.photo_count == 0:
        return refusal_answer(t, "empty_gallery")
    nearest = gallery.rank(embedding, TOP)
    ranking = keep_previous(nearest, previous, lambda m: m.name, svc.settings.lookalike_tie_margin)
    if ranking[0] is not nearest[0]:
        notes = [t.kept_note.format(name=ranking[0].name, nearest=nearest[0].name), *notes]
    footer = t.gallery_size.format(celebrities=gallery.celebrity_count, photos=gallery.photo_count)
    # The morph's offer reads the gallery while the collage is drawn in its own process.
    offering = asyncio.ensure_future(_offer_morph(svc, morph, ranking[0].name, embedding)) if morph else None
    try:
        collage = await collage_for(gallery, [face], [ranking], t, footer, draw=svc.draw.run)
    except BaseException:
        if offering is not None:
            offering.cancel()
        raise
    key = await offering if offering is not None else None
    lines = [head]
    lines += [
        t.result_line.format(rank=rank, name=m.name, similarity=m.similarity)
        for rank, m in enumerate(ranking, start=1)
    ]
    if notes:
        lines += ["", *notes]
    if await photo_credits(gallery, [m.photo_id for m in ranking]):
        lines += ["", t.credits_hint]
    return Answer(caption_text(lines), collage, ranking[0].name if ranking else None, morph=key)


# Group games: a round's entry, /twins


async def entry_face(svc: Services, user_id: int, ref: PhotoRef, chat: Chat) -> Face | None:
    """A round entry's largest face, or None if the photo has none; raises `Refused` as any selfie would.

    Counted as a photo answered (match, no_face, or the refusal's outcome); the front end may open
    `metrics.answering()` around this and its reply, so the time counted includes the reply."""
    with metrics.answering():
        try:
            with admitted(svc.admission, user_id):
                code = ref_refusal(ref)
                if code is not None:
                    raise Refused(code)
                async with chat.working(), svc.intake.turn():
                    analysis = await analyze(svc, await chat.fetch(ref), max_faces=1)
        except Refused as exc:
            metrics.answered(outcome_of(exc.code))
            raise
        metrics.answered("match" if analysis.faces else "no_face")
    return analysis.faces[0] if analysis.faces else None


async def twin_faces(
    svc: Services, user_id: int, refs: Sequence[PhotoRef], several_photos: bool, chat: Chat
) -> list[Face]:
    """Faces from one photo (all of them, left to right) or from several (the largest of each), at most
    MAX_TWIN_FACES; raises `Refused` as any selfie would."""
    faces: list[Face] = []
    with admitted(svc.admission, user_id):
        async with chat.working():
            for ref in refs[:MAX_TWIN_FACES]:
                code = ref_refusal(ref)
                if code is not None:
                    raise Refused(code)
                async with svc.intake.turn():
                    analysis = await analyze(svc, await chat.fetch(ref), max_faces=MAX_TWIN_FACES)
                faces += analysis.faces[:1] if several_photos else analysis.faces
    if not several_photos:
        faces.sort(key=lambda f: f.box[3])  # left to right, so A, B, C … read like the photo
    return faces[:MAX_TWIN_FACES]


def twin_pairs(faces: Sequence[Face]) -> list[tuple[float, float, int, int]]:
    """Every pair of faces as (similarity %, distance, i, j), the most alike first."""
    pairs = []
    for (i, a), (j, b) in itertools.combinations(enumerate(faces), 2):
        distance = distance_between(a.embedding, b.embedding)
        pairs.append((similarity(distance), distance, i, j))
    pairs.sort(reverse=True)
    return pairs
