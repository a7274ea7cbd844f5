"""What the end-to-end reliability tests check on a bot they run: its answer to a user, that its log is one
clean line per event without the token, that its gallery file is intact."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

from tests.botapi import FakeBotAPI, User
from tests.botapi.harness import RunningBot, next_message

ADMIN = User(900, "Admin", "en")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


def says(api: FakeBotAPI, user: User, action: Callable[[], object], timeout: float = 60) -> str:
    """The text of the bot's next message to `user` after `action` (a message the user sends)."""
    return next_message(api, user.id, action, timeout)["text"]


def assert_clean_log(bot: RunningBot) -> str:
    """One line per event, no traceback, no unhandled error, never the token."""
    log = bot.log
    stray = [line for line in log.splitlines() if not LOG_LINE.match(line)]
    assert not stray, stray
    assert "Traceback" not in log
    assert "unhandled" not in log
    token_secret = bot.api.token.split(":")[1]
    assert token_secret not in log
    return log


def integrity(db: Path) -> str:
    """SQLite's integrity check of a gallery file: 'ok' when it is intact."""
    with sqlite3.connect(db) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
