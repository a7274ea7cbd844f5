"""What every `lookalike` command shares: exit statuses, the one-line failure, JSON lines, the gallery path.

Below both the CLI's parser (`bot/cli.py`) and what its commands do (`bot/commands.py`), and below the bot
(`bot/app.py`), so that none of them imports another sideways.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NO_FACE = 3
EXIT_UNREADABLE = 4


class CliError(Exception):
    """A failure to report as one line on stderr, with an exit status."""

    def __init__(self, message: str, status: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.status = status


def default_db_path() -> Path:
    """$LOOKALIKE_DB, else gallery.sqlite in the user's data folder."""
    from_env = os.environ.get("LOOKALIKE_DB")
    if from_env:
        return Path(from_env)
    from platformdirs import user_data_path

    return user_data_path("lookalike") / "gallery.sqlite"


def print_json(obj: object) -> None:
    """One JSON object on one line (UTF-8, Hangul kept readable)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
