"""/leaderboard: each group's round winners."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.info import reply, texts_for
from bot.handlers.rounds import table

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
