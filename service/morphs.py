"""A Morph button pressed (or /morph sent as a reply to an answer): the user's face blended with their #1's.

The answer kept a reference to the user's photo and the celebrity photo (`service.morph_memory`). A press
is checked at once — still kept? pressed by the person whose face it is? may the photo be changed? — so a
front end can answer the press before any drawing; then the user's photo is fetched again through the
front end, both faces' landmarks are found where the face models live (the face pool or the cluster) and
the morph is drawn in the draw pool: never on the event loop. The result is a picture with its credit as caption, or a refusal code worded by `refusal_line`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from engine.images import ImageError
from engine.landmarks import KeptFace
from engine.pool import Busy, WorkerCrashed
from service.morph_memory import MorphOffer
from service.morph_texts import MorphTexts, morph_texts
from service.photo_ref import PhotoRef
from service.photos import Refused, admitted, analyze_keeping, caption_text, refusal_text
from service.services import Services
from service.texts import texts

log = logging.getLogger(__name__)

MIX = 0.5  # halfway: the picture people show their friends
MorphRefusal = Literal["off", "expired", "not_yours", "not_allowed", "failed", "busy", "again"]


@dataclass(frozen=True)
class MorphAnswer:
    """The morph (JPEG) and its caption, or `text` alone saying why not (`refusal`)."""

    text: str
    photo: bytes | None = None
    refusal: MorphRefusal | None = None


def refusal_line(language: str, code: MorphRefusal, name: str = "") -> str:
    """The one line a refusal is told in, in the user's language (`name`: the celebrity, for not_allowed)."""
    m = morph_texts(language)
    if code in ("busy", "again"):
        return refusal_text(texts(language), code)
    return {
        "off": m.off,
        "expired": m.expired,
        "not_yours": m.not_yours,
        "not_allowed": m.not_allowed.format(name=name),
        "failed": m.failed,
    }[code]


def refused(language: str, code: MorphRefusal, name: str = "") -> MorphAnswer:
    """The answer that says why there is no morph."""
    return MorphAnswer(refusal_line(language, code, name), refusal=code)


def offer_for(svc: Services, key: str, user_id: int) -> MorphOffer | MorphRefusal:
    """The kept offer a press of `key` by `user_id` may draw, or why not. Nothing of the face is in a
    refusal: a press by anyone but the offer's owner learns only that it is not theirs."""
    if not svc.morphs.on:
        return "off"
    offer = svc.morphs.recall(key)
    if offer is None:
        return "expired"
    if offer.user_id != user_id:
        return "not_yours"
    return offer


def credit_lines(m: MorphTexts, offer: MorphOffer, mix: float = MIX) -> list[str]:
    """Who is blended how much, the photo's licence and author, and the morph's own licence when the
    photo's is share-alike: the picture's footer and its caption."""
    assert offer.photo is not None
    credit = offer.photo.credit
    lines = [
        m.mix_line.format(you=round((1 - mix) * 100), name=offer.name, celebrity=round(mix * 100)),
        m.credit_line.format(
            name=offer.name,
            license=credit.license.strip() or m.no_license,
            author=credit.author.strip() or m.no_author,
        ),
    ]
    if offer.photo.morph_license:
        lines.append(m.share_alike_line.format(license=offer.photo.morph_license))
    return lines


def render(user: KeptFace, celebrity: KeptFace, mix: float, footer: list[str]) -> bytes:
    """`engine.morph.render_morph`, imported where it runs: in a draw worker (the bot's own process then
    never loads scipy)."""
    from engine.morph import render_morph

    return render_morph(user, celebrity, mix, footer)


# The front end's fetch of a photo it holds: bytes, or `Refused` when it cannot be had any more.
Fetch = Callable[[PhotoRef], Awaitable[bytes]]


async def draw_morph(svc: Services, offer: MorphOffer, language: str, fetch: Fetch) -> MorphAnswer:
    """The offer's morph at `MIX`, its credit as caption (the photo's source page too); or a refusal:
    the photo may not be changed, the user already has a photo in work, the pools are busy or failed.

    The user's selfie is fetched again through `fetch` and its face kept (`pool.analyze_keeping`: crop
    and 68 landmarks, the same largest face the answer showed) only now, for the drawing; nothing of it
    stays once the morph is drawn."""
    if offer.photo is None:
        return refused(language, "not_allowed", offer.name)
    m = morph_texts(language)
    gallery = svc.demo if offer.photo.in_demo else svc.gallery
    lines = credit_lines(m, offer)
    try:
        with admitted(svc.admission, offer.user_id):  # one piece of work per user, and the global limit
            thumbnail = await gallery.thumbnail(offer.photo.photo_id)
            if thumbnail is None:  # removed from the gallery since the answer
                return refused(language, "expired")
            user = await _user_face(svc, offer, fetch)
            if user is None:
                return refused(language, "failed")
            celebrity = await svc.pool.keep_thumbnail(thumbnail)
            picture = await svc.draw.run(render, user, celebrity, MIX, lines)
    except Refused as exc:
        return refused(language, "busy" if exc.code == "busy" else "again")
    except Busy:
        return refused(language, "busy")
    except (WorkerCrashed, ImageError) as exc:
        log.warning("a morph failed: %s: %s", type(exc).__name__, exc)
        return refused(language, "failed")
    source = offer.photo.credit.source_page.strip()
    return MorphAnswer(caption_text([*lines, *([source] if source else [])]), picture)


async def _user_face(svc: Services, offer: MorphOffer, fetch: Fetch) -> KeptFace | None:
    """The offer's selfie fetched again and its largest face kept; None when the photo cannot be had or
    read any more (a refusal of the pool's own — busy — still propagates)."""
    try:
        async with svc.intake.turn():
            data = await fetch(offer.selfie)
            _analysis, kept = await analyze_keeping(svc, data)
    except Refused as exc:
        if exc.code == "busy":
            raise
        log.info("a morph's selfie could not be had again: %s", exc.code)
        return None
    return kept
