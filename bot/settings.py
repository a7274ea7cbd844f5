"""The bot's settings, from the environment and an optional `.env` file (documented in `.env.example`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TOKEN_SHAPE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,}$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    telegram_bot_token: SecretStr
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    lookalike_db: Path | None = None
    telegram_base_url: str | None = None
    telegram_base_file_url: str | None = None
    lookalike_pool: Literal["process", "thread"] = "process"
    lookalike_workers: int | None = Field(default=None, ge=1, le=64)
    lookalike_queue_limit: int = Field(default=32, ge=1, le=10_000)
    lookalike_draw_pool: Literal["process", "thread"] = "process"
    lookalike_draw_workers: int = Field(default=1, ge=1, le=16)
    lookalike_face_nice: int = Field(default=10, ge=0, le=19)
    game_round_seconds: int = Field(default=120, ge=5, le=86_400)
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8443, ge=1, le=65_535)
    webhook_secret: SecretStr | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    lookalike_lag_report: Path | None = None  # write event-loop lag figures here at shutdown

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not TOKEN_SHAPE.match(value.get_secret_value().strip()):
            raise ValueError("does not look like a bot token (digits:letters, from @BotFather)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(re.fullmatch(r"-?\d+", p) for p in parts):
                raise ValueError("must be comma-separated Telegram user ids, e.g. 12345,67890")
            return frozenset(int(p) for p in parts)
        return value

    @property
    def token(self) -> str:
        return self.telegram_bot_token.get_secret_value()


class SettingsError(Exception):
    """Settings missing or malformed; the message is one line naming each bad variable."""


def load_settings() -> Settings:
    """Read the settings; raise `SettingsError` with a one-line summary when any is missing or bad."""
    try:
        return Settings()  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            variable = str(error["loc"][0]).upper() if error["loc"] else "settings"
            reason = (
                "is required" if error["type"] == "missing" else error["msg"].removeprefix("Value error, ")
            )
            problems.append(f"{variable} {reason}")
        raise SettingsError("; ".join(problems)) from None
