"""Admins curate the gallery from the chat: /add (caption, reply, album), /remove, /rename, /list, /stats,
/export, /import. Rights go by Telegram user id (ADMIN_IDS), never by chat; anyone else is refused and
nothing changes.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import tempfile
import zipfile
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from telegram import InputFile, Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.bot_data import services
from bot.handlers.info import reply, texts_for
from bot.telegram_io import PhotoRef, download, photo_ref, reply_to, showing_work, with_retries
from engine.calibration import Calibration
from service.services import Services
from service.texts import Texts, coded
from store.archive import ArchiveError, unpack_photos
from store.curate import CREDITS_FILE, CreditsError, Outcome, add_photo, import_folder
from store.gallery import DISK_FULL, GalleryError
from store.names import InvalidName, clean_name
from store.projector import write_projector_files

log = logging.getLogger(__name__)

Handler = Callable[..., Coroutine[Any, Any, None]]
LIST_PAGE = 40
SHOWN_REFUSALS = 15


def admins_only(handler: Handler) -> Handler:
    """Refuse anyone whose user id is not in ADMIN_IDS, before the handler does anything."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE, *args: Any) -> None:
        user = update.effective_user
        if not services(context).is_admin(user.id if user else None):
            log.info("refused %s to non-admin user %s", handler.__name__, user.id if user else None)
            await reply(update, texts_for(update).not_admin)
            return
        await handler(update, context, *args)

    return guarded


def argument(text: str | None) -> str:
    """Everything after the command word (`/add@bot  아이유 ` → `아이유`)."""
    parts = (text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def refusal_reason(t: Texts, outcome: Outcome) -> str:
    return {
        "no_face": t.refusal_no_face,
        "several_faces": t.refusal_several_faces,
        "face_too_small": t.refusal_face_too_small,
        "too_large": t.refusal_too_large,
        "invalid_name": t.refusal_invalid_name,
        "busy": t.busy,
    }.get(outcome.status, t.refusal_bad_image)


def outcome_line(t: Texts, number: int, outcome: Outcome) -> str:
    if outcome.status == "added" and outcome.outlier is not None:
        return t.add_suspect.format(number=number, name=outcome.name, photo_id=outcome.photo_id)
    if outcome.status == "added":
        return t.add_added.format(number=number)
    if outcome.status == "duplicate":
        return t.add_duplicate.format(number=number)
    return t.add_refused.format(number=number, reason=refusal_reason(t, outcome))


# /add


async def add_refs(
    update: Update, context: ContextTypes.DEFAULT_TYPE, name: str, refs: Sequence[PhotoRef]
) -> None:
    """Add each photo under `name` and say what happened to each."""
    t = texts_for(update)
    message = update.effective_message
    assert message is not None
    try:
        display = clean_name(name)
    except InvalidName as exc:
        await message.reply_text(t.invalid_name.format(reason=exc))
        return
    svc = services(context)
    outcomes: list[Outcome] = []
    async with showing_work(context.bot, message.chat_id, "typing"):
        for ref in refs:
            outcomes.append(await _add_ref(context, display, ref))
    stored = next((o.name for o in outcomes if o.ok), display)
    lines = [t.add_result_head.format(name=stored)]
    lines += [outcome_line(t, n, o) for n, o in enumerate(outcomes, start=1)]
    await message.reply_text("\n".join(lines))
    log.info("admin add: %s photos offered, gallery now %s photos", len(refs), svc.gallery.photo_count)


async def _add_ref(context: ContextTypes.DEFAULT_TYPE, name: str, ref: PhotoRef) -> Outcome:
    source = f"telegram:{ref.file_id[-16:]}"
    if ref.too_large:
        return Outcome(source, "too_large", name)
    if not ref.is_image:
        return Outcome(source, "bad_image", name)
    try:
        data = await download(context.bot, ref.file_id)
    except BadRequest:
        return Outcome(source, "too_large", name)
    svc = services(context)
    return await add_photo(svc.gallery, svc.pool.analyze, name, data, source=source)


@admins_only
async def on_add_caption(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo (not part of an album) captioned /add NAME."""
    message = update.effective_message
    assert message is not None
    name = argument(message.caption)
    ref = photo_ref(message)
    if not name or ref is None:
        await reply(update, texts_for(update).add_usage)
        return
    await add_refs(update, context, name, [ref])


@admins_only
async def on_add_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/add NAME as a reply to a photo."""
    message = update.effective_message
    assert message is not None
    name = argument(message.text)
    ref = photo_ref(message.reply_to_message)
    if not name or ref is None:
        await reply(update, texts_for(update).add_usage)
        return
    await add_refs(update, context, name, [ref])


@admins_only
async def add_album(
    update: Update, context: ContextTypes.DEFAULT_TYPE, name: str, refs: list[PhotoRef]
) -> None:
    """An album captioned /add NAME: every photo under NAME (bot/handlers/albums.py gathers the album)."""
    if not name:
        await reply(update, texts_for(update).add_usage)
        return
    await add_refs(update, context, name, refs)


# /remove, /rename, /list, /stats


@admins_only
async def on_remove(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    t = texts_for(update)
    name = argument(update.effective_message.text if update.effective_message else "")
    if not name:
        await reply(update, t.remove_usage)
        return
    gallery = services(context).gallery
    try:
        stored = await gallery.find(name)
        removed = await gallery.remove(name)
    except InvalidName as exc:
        await reply(update, t.invalid_name.format(reason=exc))
        return
    except GalleryError:
        await reply(update, t.unknown_name.format(name=_shown(name)))
        return
    await reply(update, t.removed.format(name=stored, photos=removed))


@admins_only
async def on_rename(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    t = texts_for(update)
    old, bar, new = argument(update.effective_message.text if update.effective_message else "").partition("|")
    if not bar or not old.strip() or not new.strip():
        await reply(update, t.rename_usage)
        return
    gallery = services(context).gallery
    try:
        before = await gallery.find(old) or old.strip()
        after = await gallery.rename(old, new)
    except InvalidName as exc:
        await reply(update, t.invalid_name.format(reason=exc))
        return
    except GalleryError as exc:
        if exc.code == "name_taken":
            await reply(update, t.name_taken.format(name=_shown(new)))
        else:
            await reply(update, t.unknown_name.format(name=_shown(old)))
        return
    await reply(update, t.renamed.format(old=before, new=after))


def _shown(name: str) -> str:
    """A name as typed, made safe to echo: cleaned if possible, cut short, stripped if not."""
    try:
        return clean_name(name[:200])
    except InvalidName:
        return "?"


@admins_only
async def on_list(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    t = texts_for(update)
    celebrities = await services(context).gallery.celebrities()
    if not celebrities:
        await reply(update, t.list_empty)
        return
    pages = (len(celebrities) + LIST_PAGE - 1) // LIST_PAGE
    wanted = argument(update.effective_message.text if update.effective_message else "")
    page = min(max(int(wanted), 1), pages) if wanted.isdecimal() else 1  # not isdigit: int("²") fails
    shown = celebrities[(page - 1) * LIST_PAGE : page * LIST_PAGE]
    lines = [t.list_head.format(count=len(celebrities), page=page, pages=pages)]
    lines += [t.list_line.format(name=c.name, photos=c.photos) for c in shown]
    if page < pages:
        lines.append(t.list_more.format(next=page + 1))
    await reply(update, "\n".join(lines))


@admins_only
async def on_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    t = texts_for(update)
    stats = t.stats.format(
        celebrities=svc.gallery.celebrity_count,
        photos=svc.gallery.photo_count,
        pending=svc.admission.in_flight,
        limit=svc.admission.limit,
        workers=svc.pool.workers,
        kind=svc.pool.kind,
    )
    lines = [stats, calibration_text(t, svc.active_gallery().calibration), *disk_lines(t, svc)]
    await reply(update, "\n".join(lines))


def disk_lines(t: Texts, svc: Services) -> list[str]:
    """For /stats: whether the gallery is read-only or its disk full, and whether selfies are durable."""
    lines = []
    if svc.gallery.read_only:
        lines.append(t.stats_disk_full if svc.gallery.read_only_reason == DISK_FULL else t.stats_read_only)
    if not svc.jobs.durable:
        lines.append(t.stats_not_durable)
    return lines


def calibration_text(t: Texts, calibration: Calibration) -> str:
    """How similarity % is computed on the gallery, for /stats."""
    if calibration.fitted:
        return t.stats_fitted.format(
            celebrities=calibration.celebrities,
            photos=calibration.photos,
            half=calibration.half_point,
            boundary=calibration.boundary,
        )
    return t.stats_fixed.format(reason=calibration_reason(t, calibration))


def calibration_reason(t: Texts, calibration: Calibration) -> str:
    """Why the calibration is what it is, in `t`'s language (its English line for an unknown code)."""
    return coded(t, "calibration_", calibration.reason_code, calibration.reason_params, calibration.reason)


# /export, /import


def _zip_name(message: Message) -> str:
    """The zip's file name as sent (recorded in each imported photo's source), or its file id."""
    document = message.document or (message.reply_to_message.document if message.reply_to_message else None)
    if document is None:
        return "zip"
    return (document.file_name or document.file_unique_id)[:200]


@admins_only
async def on_export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    vectors, names = services(context).gallery.all_embeddings()
    with tempfile.TemporaryDirectory(prefix="lookalike-export-") as folder:
        paths = write_projector_files(Path(folder), vectors, names)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, path.name)
    document = InputFile(buffer.getvalue(), filename="lookalike-projector.zip")
    await with_retries(
        lambda: context.bot.send_document(
            message.chat_id,
            document,
            caption=texts_for(update).export_caption,
            reply_parameters=reply_to(message.message_id),
        ),
        "sendDocument",
    )


@admins_only
async def on_import(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A zip of photos as a file captioned /import, or /import as a reply to one."""
    t = texts_for(update)
    message = update.effective_message
    assert message is not None
    ref = photo_ref(message) if message.document else photo_ref(message.reply_to_message)
    if ref is None or not ref.is_zip:
        await reply(update, t.import_usage)
        return
    if ref.too_large:
        await reply(update, t.import_bad_zip.format(reason=t.refusal_too_large))
        return
    data = await download(context.bot, ref.file_id)
    svc = services(context)
    with tempfile.TemporaryDirectory(prefix="lookalike-import-") as folder:
        try:
            unpacked = await asyncio.to_thread(unpack_photos, data, Path(folder))  # up to 512 MB written
        except ArchiveError as exc:
            await reply(update, t.import_bad_zip.format(reason=exc))
            return
        photos = [p for p in unpacked.written if p.name != CREDITS_FILE]
        await reply(update, t.import_started.format(count=len(photos)))
        async with showing_work(context.bot, message.chat_id, "typing"):
            try:
                summary = await import_folder(
                    svc.gallery,
                    svc.pool.analyze,
                    Path(folder),
                    concurrency=max(1, svc.pool.workers),  # a cluster may have no worker yet
                    origin=f"telegram-zip:{_zip_name(message)}",
                )
            except CreditsError as exc:
                await reply(update, t.import_bad_zip.format(reason=exc))
                return
    lines = [
        t.import_result.format(
            added=summary.added,
            duplicates=summary.duplicates,
            rejected=len(summary.rejected) + len(unpacked.skipped),
        )
    ]
    refusals = [(Path(o.source).name, refusal_reason(t, o)) for o in summary.rejected]
    refusals += [(name, reason) for name, reason in unpacked.skipped]
    lines += [f"❌ {name[:80]}: {reason}" for name, reason in refusals[:SHOWN_REFUSALS]]
    if len(refusals) > SHOWN_REFUSALS:
        lines.append(f"… +{len(refusals) - SHOWN_REFUSALS}")
    if summary.suspects:
        lines.append(t.import_suspects.format(count=len(summary.suspects)))
    await reply(update, "\n".join(lines))
