"""A Morph button pressed (or /morph sent as a reply to an answer): the user's face blended with their #1's.

The answer kept the user's face and the celebrity photo (`service.morph_memory`). A press is checked at
once — still kept? pressed by the person whose face it is? may the photo be changed? — so a front end can
answer the press before any drawing; then the celebrity photo's landmarks are found where the face
models live (the face pool or the cluster) and the morph is drawn in the draw pool: never on the event
loop. The result is a picture with its credit as caption, or a refusal code worded by `refusal_line`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from engine.images import ImageError
from engine.landmarks import KeptFace
from engine.pool import Busy, WorkerCrashed
from service.morph_memory import MorphOffer
from service.morph_texts import MorphTexts, morph_texts
from service.photos import Refused, admitted, caption_text, refusal_text
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


async def draw_morph(svc: Services, offer: MorphOffer, language: str) -> MorphAnswer:
    """The offer's morph at `MIX`, its credit as caption (the photo's source page too); or a refusal:
    the photo may not be changed, the user already has a photo in work, the pools are busy or failed."""
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
            celebrity = await svc.pool.keep_thumbnail(thumbnail)
            picture = await svc.draw.run(render, offer.face, celebrity, MIX, lines)
    except Refused as exc:
        return refused(language, "busy" if exc.code == "busy" else "again")
    except Busy:
        return refused(language, "busy")
    except (WorkerCrashed, ImageError) as exc:
        log.warning("a morph failed: %s: %s", type(exc).__name__, exc)
        return refused(language, "failed")
    source = offer.photo.credit.source_page.strip()
    return MorphAnswer(caption_text([*lines, *([source] if source else [])]), picture)
