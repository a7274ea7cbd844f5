"""Run the real bot (`python -m bot run`) as a subprocess against the stand-in Bot API server.

Used by the end-to-end tests and by bench/bot.py. The bot reads its settings from the environment, exactly
as in production; only TELEGRAM_BASE_URL / TELEGRAM_BASE_FILE_URL point at 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from tests.botapi.server import FakeBotAPI

REPO = Path(__file__).resolve().parents[2]
TOKEN = "123456789:AAE-lookalike_TEST-token_0123456789ab"


def bot_environment(api: FakeBotAPI, db: Path, **settings: str) -> dict[str, str]:
    """The environment of a bot served by `api` with the gallery `db`: this process's own, less any
    TELEGRAM_/LOOKALIKE_/ADMIN_ setting of the machine, plus `settings`."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LOOKALIKE_", "ADMIN_"))
    }
    environment.update(
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_BASE_URL=api.base_url,
        TELEGRAM_BASE_FILE_URL=api.base_file_url,
        LOOKALIKE_DB=str(db),
        ADMIN_IDS="",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(REPO),
    )
    environment.update(settings)
    return environment


class LoggedProcess:
    """A process of ours whose output goes to `log_path`: read it, and wait for a line in it."""

    process: subprocess.Popen
    log_path: Path
    name = "the process"
    wait_timeout = 30.0  # seconds, unless a wait says otherwise

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, predicate: Callable[[str], bool], timeout: float | None = None) -> str:
        """The log once `predicate` holds for it; RuntimeError if the process ends first, else TimeoutError."""
        deadline = time.monotonic() + (self.wait_timeout if timeout is None else timeout)
        while time.monotonic() < deadline:
            text = self.log
            if predicate(text):
                return text
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{text}")
            time.sleep(0.05)
        raise TimeoutError(f"{self.name}: the log never matched:\n{self.log}")


class RunningBot(LoggedProcess):
    """A `lookalike run` process; its log (stderr) goes to `log_path`."""

    name = "the bot"
    started: ClassVar[list[RunningBot]] = []  # every bot started, so that a failed test's can be ended

    def __init__(
        self,
        api: FakeBotAPI,
        db: Path,
        *,
        admin_ids: str = "",
        env: dict[str, str] | None = None,
        ready_timeout: float = 300.0,  # measured: ~5 s idle, 145 s beside two busy loops at load 12
    ) -> None:
        self.api = api
        self.db = db
        self.log_path = db.with_suffix(f".{int(time.time() * 1000)}.log")
        environment = bot_environment(api, db, ADMIN_IDS=admin_ids, **(env or {}))
        self._log = self.log_path.open("w", encoding="utf-8")
        # cwd: a folder with no .env, so only this environment counts
        RunningBot.started.append(self)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=db.parent,
        )
        try:
            self.wait_for_log(lambda text: " ready: " in text, ready_timeout)
        except BaseException:  # never left running by a start that failed or took too long
            self.kill()
            raise

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        """SIGKILL: a crash, no cleanup at all."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(30)
        self._log.close()


def next_message(api: FakeBotAPI, chat_id: int, action: Callable[[], object], timeout: float = 60) -> dict:
    """Do something as a user and return the bot's next message in that chat."""
    mark = len(api.sent)
    action()
    return api.wait_for_sent_sync(chat_id=chat_id, start=mark, timeout=timeout)[0]


def start_api(**kwargs: object) -> FakeBotAPI:
    """A stand-in server on 127.0.0.1 in its own thread."""
    return FakeBotAPI(TOKEN, **kwargs).start_in_thread()  # type: ignore[arg-type]
