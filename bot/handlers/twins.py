"""/twins: how alike the faces of one photo (or of an album's photos) are, pair by pair."""

from __future__ import annotations

import string

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot.bot_data import services
from bot.chat import TelegramChat, admitted
from bot.handlers.info import reply, texts_for
from bot.telegram_io import PhotoRef, photo_ref, reply_to, with_retries
from engine.faces import Face
from engine.pictures import CollageText
from service.photos import caption_text, twin_faces, twin_pairs
from service.render import Card, draw_pairs
from service.texts import Texts

# /twins


async def on_twins(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/twins as a reply to a photo with two or more faces: how alike they are, pair by pair."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    replied = message.reply_to_message
    album = services(context).albums.refs(message.chat_id, replied.media_group_id if replied else None)
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
        services(context).albums.note(message.chat_id, message.media_group_id, ref)


async def twins_from(
    update: Update, context: ContextTypes.DEFAULT_TYPE, refs: list[PhotoRef], several_photos: bool
) -> None:
    """Faces from one photo (all its faces) or from several (the largest face of each): the pairs."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    t = texts_for(update)
    chat = TelegramChat(context.bot, message.chat_id)
    done, faces = await admitted(update, twin_faces(services(context), user.id, refs, several_photos, chat))
    if not done:
        return
    if len(faces) < 2:
        await reply(update, t.twins_need_two.format(count=len(faces)))
        return
    await _send_pairs(context, message, faces, t)


async def _send_pairs(
    context: ContextTypes.DEFAULT_TYPE, message: Message, faces: list[Face], t: Texts
) -> None:
    labels = string.ascii_uppercase
    pairs = twin_pairs(faces)
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
            caption=caption_text(lines),
            reply_parameters=reply_to(message.message_id),
        ),
        "sendPhoto",
    )
