"""What every `lookalike` command shares: exit statuses, the one-line failure, JSON lines, the gallery path.

Below both the CLI's parser (`cli/main.py`) and what its command families do, so that none of them imports
another sideways. The default gallery path is the application's (service/settings.py): the bot uses it too.
"""

from __future__ import annotations

import json
import sys

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


def print_json(obj: object) -> None:
    """One JSON object on one line (UTF-8, Hangul kept readable)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
