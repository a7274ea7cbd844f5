"""Logging for the bot: one line per event, no tracebacks unless asked for, and never the token.

Bot API URLs contain the token, and httpx logs every request URL at INFO; PTB and httpx exceptions can
carry the URL too. So the token is redacted from every record at the handler, whatever logged it.
"""

from __future__ import annotations

import logging
import sys
from urllib.parse import quote


class RedactToken(logging.Filter):
    """Replace the token (plain and URL-quoted) in a record's final message and exception text."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._secrets = sorted({token, quote(token, safe=""), quote(token)}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<token>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Render the exception now, redacted, so nothing later formats the raw one.
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class OneLineFormatter(logging.Formatter):
    """Exceptions as `(ExcType: message)` on the same line; full tracebacks only at DEBUG level."""

    def __init__(self, verbose: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        exc_text, exc_info = record.exc_text, record.exc_info
        if exc_info and exc_info[1] is not None and not exc_text:  # no RedactToken filter rendered it
            exc_text = self.formatException(exc_info)
        record.exc_text, record.exc_info = None, None
        try:
            line = super().format(record)
        finally:
            record.exc_text, record.exc_info = exc_text, exc_info
        if exc_text:
            if self.verbose:
                return f"{line}\n{exc_text}"
            last = exc_text.strip().splitlines()[-1]
            return f"{line} ({last})"
        return line


def setup_logging(token: str, level: str = "INFO") -> None:
    """Log to stderr through the redacting filter; quiet the per-request chatter of httpx."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactToken(token))
    handler.setFormatter(OneLineFormatter(verbose=level == "DEBUG"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
