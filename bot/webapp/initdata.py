"""Telegram Mini App launch data ("init data"): checked exactly as Telegram documents it.

https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app — the data is a query
string; its `hash` is the hex HMAC-SHA256 of the other fields (sorted by key, `key=value`, joined by `\\n`)
under the key HMAC-SHA256(key="WebAppData", msg=bot_token).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

MAX_AGE_SECONDS = 24 * 3600  # launch data older than a day is refused
MAX_INIT_DATA_CHARS = 8192


class InitDataError(Exception):
    """Launch data that grants nothing; `code` is stable: missing, malformed, bad_hash, expired."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class WebAppUser:
    """Who opened the Mini App, as Telegram signed it."""

    id: int
    first_name: str
    language_code: str
    auth_date: int


def secret_key(token: str) -> bytes:
    """The validation key Telegram derives from the bot token."""
    return hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()


def data_check_string(fields: dict[str, str]) -> str:
    """Every field but `hash`, sorted by key, `key=value`, one per line."""
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def validate(
    init_data: str, token: str, *, now: float | None = None, max_age: int = MAX_AGE_SECONDS
) -> WebAppUser:
    """The user of genuine, fresh launch data; raises `InitDataError` for anything else."""
    if not init_data:
        raise InitDataError("missing")
    if len(init_data) > MAX_INIT_DATA_CHARS:
        raise InitDataError("malformed")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InitDataError("malformed") from None
    fields = dict(pairs)
    if len(fields) != len(pairs) or "hash" not in fields:  # a field twice: which one was signed?
        raise InitDataError("malformed")
    expected = hmac.new(secret_key(token), data_check_string(fields).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["hash"].lower()):
        raise InitDataError("bad_hash")
    return _user(fields, time.time() if now is None else now, max_age)


def _user(fields: dict[str, str], now: float, max_age: int) -> WebAppUser:
    """The signed user and auth date of validated fields (refused when stale or shapeless)."""
    try:
        auth_date = int(fields["auth_date"])
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError):
        raise InitDataError("malformed") from None
    if now - auth_date > max_age or auth_date - now > 300:  # five minutes of clock skew either way
        raise InitDataError("expired")
    return WebAppUser(
        user_id, str(user.get("first_name", "")), str(user.get("language_code", "") or ""), auth_date
    )


def sign(fields: dict[str, str], token: str) -> str:
    """Launch data for `fields`, signed the way Telegram signs it (for tests and local development)."""
    digest = hmac.new(secret_key(token), data_check_string(fields).encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})
