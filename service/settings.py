"""The bot's settings, from the environment and an optional `.env` file (documented in `.env.example`)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from engine.ranking import TIE_MARGIN

DEFAULT_QUEUE_LIMIT = 32  # photos in flight with the local pool, when LOOKALIKE_QUEUE_LIMIT is not set
TOKEN_SHAPE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,}$")
CLUSTER_ADDRESS = re.compile(r"^(tcp|tls)://[^\s/:]+(:\d{1,5})?$|^(tcp|tls)://\[[0-9a-fA-F:]+\](:\d{1,5})?$")


class ClusterSettings(BaseSettings):
    """The Dask cluster settings, read alike by the bot, `lookalike scheduler` and `lookalike worker`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    lookalike_cluster: str | None = None  # the scheduler's address: crop-and-embed runs on the cluster
    lookalike_cluster_wait: float = Field(default=60.0, gt=0, le=3600)
    lookalike_cluster_ca: Path | None = None
    lookalike_cluster_cert: Path | None = None
    lookalike_cluster_key: Path | None = None

    @field_validator("lookalike_cluster")
    @classmethod
    def _scheduler_address(cls, value: str | None) -> str | None:
        if value is not None and not CLUSTER_ADDRESS.match(value.strip()):
            raise ValueError("must be a scheduler address, tcp://HOST:PORT or tls://HOST:PORT")
        return value.strip() if value else None

    @field_validator("lookalike_cluster_ca", "lookalike_cluster_cert", "lookalike_cluster_key")
    @classmethod
    def _readable_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a file")
        return value

    @model_validator(mode="after")
    def _tls_all_or_none(self) -> ClusterSettings:
        files = (self.lookalike_cluster_ca, self.lookalike_cluster_cert, self.lookalike_cluster_key)
        given = sum(f is not None for f in files)
        if given not in (0, 3):
            raise ValueError(
                "TLS needs all three of LOOKALIKE_CLUSTER_CA, LOOKALIKE_CLUSTER_CERT and LOOKALIKE_CLUSTER_KEY"
            )
        scheme = (self.lookalike_cluster or "").partition("://")[0]
        if scheme == "tls" and given == 0:
            raise ValueError("a tls:// cluster needs LOOKALIKE_CLUSTER_CA, _CERT and _KEY")
        if scheme == "tcp" and given == 3:
            raise ValueError("LOOKALIKE_CLUSTER is tcp:// but TLS files are set: use tls://")
        return self

    @property
    def cluster_tls(self) -> tuple[Path, Path, Path] | None:
        """(CA, certificate, key) when TLS is configured."""
        ca, cert, key = self.lookalike_cluster_ca, self.lookalike_cluster_cert, self.lookalike_cluster_key
        return (ca, cert, key) if ca and cert and key else None


class Settings(ClusterSettings):
    telegram_bot_token: SecretStr
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    lookalike_db: Path | None = None
    telegram_base_url: str | None = None
    telegram_base_file_url: str | None = None
    lookalike_pool: Literal["process", "thread"] = "process"
    lookalike_workers: int | None = Field(default=None, ge=1, le=64)
    # None: 32 with the local pool; with a cluster, 16 per worker connected (16 while none is)
    lookalike_queue_limit: int | None = Field(default=None, ge=1, le=10_000)
    lookalike_draw_pool: Literal["process", "thread"] = "process"
    lookalike_draw_workers: int = Field(default=1, ge=1, le=16)
    lookalike_face_nice: int = Field(default=10, ge=0, le=19)
    game_round_seconds: int = Field(default=120, ge=5, le=86_400)
    # /endgame and the timer wait this long at most for entries received before the end (in analysis)
    game_entry_wait_seconds: float = Field(default=8.0, ge=0.0, le=120.0)
    # a private chat's collages can be shared (inline mode) for this long; 0 turns sharing off
    lookalike_share_minutes: float = Field(default=60.0, ge=0.0, le=1440)
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8443, ge=1, le=65_535)
    webhook_secret: SecretStr | None = None
    web_app_url: str | None = None  # the admins' Mini App's public address (HTTPS)
    web_app_listen: str = "127.0.0.1"
    web_app_port: int = Field(default=8081, ge=1, le=65_535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    lookalike_lag_report: Path | None = None  # write event-loop lag figures here at shutdown
    lookalike_refit_seconds: float = Field(default=30.0, ge=0.0, le=86_400)  # quiet before a refit
    # A private chat's last #1 is kept for this long; a near-tie (within the margin, in distance) goes to it.
    lookalike_remember_minutes: float = Field(default=10.0, ge=0.0, le=1440)
    lookalike_tie_margin: float = Field(default=TIE_MARGIN, ge=0.0, le=2.0)
    # A private answer's Morph button works this long (the user's face is kept in memory meanwhile); 0: off.
    lookalike_morph_minutes: float = Field(default=10.0, ge=0.0, le=1440)

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

    @field_validator("web_app_url")
    @classmethod
    def _web_app_address(cls, value: str | None) -> str | None:
        return None if value is None else web_app_address(value)

    @property
    def token(self) -> str:
        return self.telegram_bot_token.get_secret_value()


class WikimediaSettings(BaseSettings):
    """Where `lookalike wikidata` and `/wikidata` fetch from, and how they present themselves."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    wikidata_api_url: str = "https://www.wikidata.org/w/api.php"
    wikidata_sparql_url: str = "https://query.wikidata.org/sparql"
    commons_api_url: str = "https://commons.wikimedia.org/w/api.php"
    # Wikimedia's User-Agent policy: a URL or an e-mail address where you can be reached (required for the
    # public endpoints), or a whole User-Agent of your own.
    wikimedia_contact: str | None = None
    wikimedia_user_agent: str | None = None
    wikimedia_timeout: float = Field(default=30.0, gt=0, le=600)  # seconds, per request
    wikimedia_attempts: int = Field(default=6, ge=1, le=20)  # tries per request (429, 5xx, maxlag, network)
    wikimedia_backoff: float = Field(default=2.0, ge=0, le=60)  # first wait between tries, doubling


LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def web_app_address(url: str) -> str:
    """A Mini App URL as Telegram accepts it: https (plain http only on a loopback host, for tests and
    development); raises ValueError otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS:
        return url.strip()
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("must be an https:// address (http:// only for 127.0.0.1 or localhost)")
    return url.strip()


class SettingsError(Exception):
    """Settings missing or malformed; the message is one line naming each bad variable."""


def load_settings() -> Settings:
    """Read the settings; raise `SettingsError` with a one-line summary when any is missing or bad."""
    return _load(Settings)  # type: ignore[return-value]


def load_cluster_settings() -> ClusterSettings:
    """Only the cluster settings (for `lookalike scheduler` and `lookalike worker`: no token needed)."""
    return _load(ClusterSettings)


def _load(kind: type[ClusterSettings]) -> ClusterSettings:
    try:
        return kind()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            variable = str(error["loc"][0]).upper() if error["loc"] else "LOOKALIKE_CLUSTER"
            reason = (
                "is required" if error["type"] == "missing" else error["msg"].removeprefix("Value error, ")
            )
            problems.append(f"{variable} {reason}")
        raise SettingsError("; ".join(problems)) from None


def default_db_path() -> Path:
    """$LOOKALIKE_DB, else gallery.sqlite in the user's data folder."""
    from_env = os.environ.get("LOOKALIKE_DB")
    if from_env:
        return Path(from_env)
    from platformdirs import user_data_path

    return user_data_path("lookalike") / "gallery.sqlite"
