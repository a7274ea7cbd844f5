"""/audit for admins: suspect photos and double names with a picture of each next to its celebrity, and the
decisions on them (/audit keep ID, /audit drop ID, /audit distinct NAME | OTHER).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot.bot_data import services
from bot.handlers.admin import admins_only, argument
from bot.handlers.info import reply, texts_for
from bot.telegram_io import reply_to, with_retries
from engine.pictures import CollageText
from service.photos import caption_text
from service.render import Card, draw_pairs
from service.texts import Texts
from store.audit import AuditReport, audit_gallery
from store.gallery import Gallery, GalleryError
from store.names import InvalidName

log = logging.getLogger(__name__)

SHOWN = 8  # findings drawn and listed per /audit (the worst first)


@admins_only
async def on_audit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/audit: the report; /audit keep|drop ID, /audit distinct A | B: a decision."""
    words = argument(update.effective_message.text if update.effective_message else "").split(maxsplit=1)
    if words:
        await _decide(update, context, words[0].lower(), words[1] if len(words) > 1 else "")
        return
    svc = services(context)
    t = texts_for(update)
    report = await audit_gallery(svc.gallery)
    if not report.outliers and not report.doubles:
        await reply(update, t.audit_clean)
        return
    caption = _caption(t, report)
    pairs = await _pictures(svc.gallery, report)
    message = update.effective_message
    assert message is not None
    text = CollageText(title=t.audit_title, you="", distance=t.distance, similarity=t.similarity)
    image = await svc.draw.run(draw_pairs, pairs, text)
    await with_retries(
        lambda: context.bot.send_photo(
            message.chat_id,
            image,
            caption=caption_text([caption]),
            reply_parameters=reply_to(message.message_id),
        ),
        "sendPhoto",
    )


def _caption(t: Texts, report: AuditReport) -> str:
    lines = [t.audit_head.format(outliers=len(report.outliers), doubles=len(report.doubles))]
    lines += [
        t.audit_outlier.format(photo_id=s.photo_id, name=s.name, distance=s.distance)
        for s in report.outliers[:SHOWN]
    ]
    lines += [
        t.audit_double.format(a=d.names[0], b=d.names[1], distance=d.distance) for d in report.doubles[:SHOWN]
    ]
    return "\n".join([*lines, "", t.audit_howto])


async def _pictures(gallery: Gallery, report: AuditReport) -> list[tuple[Card, Card]]:
    """Each suspect photo beside its celebrity's most typical other photo; each double name's two faces."""
    pairs = []
    for suspect in report.outliers[:SHOWN]:
        others = [pid for pid, _ in await gallery.photos_of(suspect.name) if pid != suspect.photo_id]
        other = await gallery.thumbnail(others[0]) if others else None
        pairs.append(
            (
                Card(await gallery.thumbnail(suspect.photo_id), f"#{suspect.photo_id}", suspect.distance),
                Card(other, suspect.name),
            )
        )
    for double in report.doubles[:SHOWN]:
        cards = []
        for index, name in enumerate(double.names):
            photos = await gallery.photos_of(name)
            jpeg = await gallery.thumbnail(photos[0][0]) if photos else None
            cards.append(Card(jpeg, name, double.distance if index == 0 else None))
        pairs.append((cards[0], cards[1]))
    return pairs


async def _decide(update: Update, context: ContextTypes.DEFAULT_TYPE, verb: str, rest: str) -> None:
    t = texts_for(update)
    gallery = services(context).gallery
    if verb in ("keep", "drop") and rest.strip().isdecimal():
        photo_id = int(rest.strip())
        if verb == "keep":
            found = await gallery.keep_photo(photo_id)
            await reply(update, (t.audit_kept if found else t.audit_no_photo).format(photo_id=photo_id))
            return
        name = await gallery.remove_photo(photo_id)
        if name is None:
            await reply(update, t.audit_no_photo.format(photo_id=photo_id))
        else:
            await reply(update, t.audit_dropped.format(photo_id=photo_id, name=name))
        return
    first, bar, second = rest.partition("|")
    if verb == "distinct" and bar and first.strip() and second.strip():
        try:
            await gallery.mark_distinct(first, second)
            a, b = await gallery.find(first), await gallery.find(second)
        except (GalleryError, InvalidName):
            await reply(
                update, t.unknown_name.format(name="/".join((first.strip()[:80], second.strip()[:80])))
            )
            return
        await reply(update, t.audit_distinct.format(a=a, b=b))
        return
    await reply(update, t.audit_usage)
