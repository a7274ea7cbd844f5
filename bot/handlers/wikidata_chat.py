"""/wikidata NAME_OR_ID … (admins): a few people from Wikidata with Commons photos, in one message that shows
the progress and then the summary. /credits [NAME] (anyone): who made the gallery's photos, under which licence.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.bot_data import services
from bot.handlers.admin import admins_only, argument
from bot.handlers.info import reply, texts_for
from service.texts import Texts, coded
from service.wikidata import MAX_PEOPLE, PHOTOS, build_people, items_of
from store.gallery import PhotoRecord
from store.names import InvalidName
from store.wikidata_build import Report, Unresolved, split_kind
from store.wikimedia import NoContact, WikimediaError

log = logging.getLogger(__name__)

EDIT_EVERY = 2.0  # seconds between progress edits (Telegram limits edits per chat)
SHOWN_CREDITS = 30
SHOWN_NAMES = 10


class Progress:
    """One message, edited every `EDIT_EVERY` s while people get done, then replaced by the summary."""

    def __init__(self, message: Message, t: Texts, total: int) -> None:
        self.message = message
        self.t = t
        self.total = total
        self.done = 0

    def people(self, total: int) -> None:
        self.total = total

    def person_done(self, _item: str) -> None:
        self.done += 1

    async def keep_showing(self) -> None:
        """Edit the message whenever the count moved (run as a task; cancelled when the build ends)."""
        shown = 0
        while True:
            await asyncio.sleep(EDIT_EVERY)
            if self.done != shown:
                shown = self.done
                await self.edit(self.t.wikidata_progress.format(done=self.done, total=self.total))

    async def edit(self, text: str) -> None:
        try:
            await self.message.edit_text(text)
        except TelegramError as exc:  # e.g. "message is not modified", or deleted meanwhile
            log.info("wikidata progress not shown: %s", exc)


def summary_text(t: Texts, report: Report) -> str:
    lines = [
        t.wikidata_done.format(
            added=len(report.added), updated=len(report.updated), photos=report.photos_added
        )
    ]
    if report.refused:
        reasons = ", ".join(
            t.wikidata_refused_count.format(reason=refusal_kind(t, reason), count=count)
            for reason, count in sorted(report.refused.items())
        )
        lines.append(t.wikidata_refused.format(reasons=reasons))
    if report.no_photo:
        lines.append(t.wikidata_no_photo.format(people=", ".join(report.no_photo[:SHOWN_NAMES])))
    lines += [
        t.wikidata_not_found.format(item=u.item[:80], why=why_text(t, u))
        for u in report.unresolved[:SHOWN_NAMES]
    ]
    return "\n".join(lines)


def refusal_kind(t: Texts, reason: str) -> str:
    """A key of `Report.refused` ('license', 'download_failed (404)') in `t`'s language."""
    kind = split_kind(reason)
    return coded(t, "wikidata_kind_", kind["kind"], kind, reason)


def why_text(t: Texts, unresolved: Unresolved) -> str:
    """Why an item was not built, in `t`'s language (its English for an unknown code)."""
    return coded(t, "wikidata_why_", unresolved.code, unresolved.flat_params, unresolved.why)


@admins_only
async def on_wikidata(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    t = texts_for(update)
    message = update.effective_message
    assert message is not None
    items = items_of(argument(message.text))
    if not items:
        await reply(update, t.wikidata_usage)
        return
    if len(items) > MAX_PEOPLE:
        await reply(update, t.wikidata_too_many.format(limit=MAX_PEOPLE))
        return
    status = await message.reply_text(t.wikidata_progress.format(done=0, total=len(items)))
    progress = Progress(status, t, len(items))
    svc = services(context)
    showing = asyncio.create_task(progress.keep_showing())
    try:
        # Names in Korean, the language of the bot's users (English and other labels become aliases).
        report = await build_people(
            svc.gallery,
            svc.pool.analyze,
            items,
            photos=PHOTOS,
            lang="ko",
            on_people=progress.people,
            on_person=progress.person_done,
        )
    except NoContact as exc:
        log.warning("wikidata: %s", exc)
        await progress.edit(t.wikidata_no_contact)
        return
    except WikimediaError as exc:
        log.warning("wikidata: %s", exc)
        await progress.edit(t.wikidata_failed.format(reason=str(exc)[:200]))
        return
    finally:
        showing.cancel()
    await progress.edit(summary_text(t, report))
    log.info("admin wikidata: %s items, %s photos added", len(items), report.photos_added)


async def on_credits(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/credits [NAME]: each gallery photo's author, licence and source page (the first `SHOWN_CREDITS`)."""
    t = texts_for(update)
    message = update.effective_message
    assert message is not None
    name = argument(message.text)
    gallery = services(context).active_gallery()  # the demo gallery's photos while it is the one answering
    try:
        known = await gallery.find(name) if name else True
    except InvalidName:
        known = None
    if not known:
        await reply(update, t.unknown_name.format(name=name[:64]))
        return
    records = await gallery.photo_records(name or None)
    if not records:
        await reply(update, t.credits_none)
        return
    lines = [t.credits_head.format(count=len(records))]
    lines += [credit_text(t, r) for r in records[:SHOWN_CREDITS]]
    if len(records) > SHOWN_CREDITS:
        lines.append(t.credits_more.format(more=len(records) - SHOWN_CREDITS))
    await message.reply_text("\n".join(lines)[:4000], disable_web_page_preview=True)


def credit_text(t: Texts, record: PhotoRecord) -> str:
    c = record.credit
    return t.credits_line.format(
        name=record.name,
        author=c.author or "?",
        license=c.license or "?",
        source=c.source_page or record.source,
    )
