"""Logging for the ``reelcart`` command: a readable log, and never a secret in it.

``configure_logging`` is called once, by the entry point (``cli.main``):

- Library chatter stays below WARNING. faiss's loader logs at INFO every CPU-specific
  build it could not load (with "ModuleNotFoundError", which reads as an error) and is
  always quieted; APScheduler (two lines per job run, about 30 a minute for the bot's
  jobs), sentence-transformers' model loading, python-telegram-bot's own start and stop
  lines and httpx's line per request are shown again with ``-v``. Their warnings and
  errors always show.
- ``SecretFilter``, on every handler of the root logger, redacts secrets at every level,
  in messages, their arguments and tracebacks: the values it is given (the bot token, the
  payment provider token, the webhook secret, ``REELCART_SECRET``) and anything shaped
  like a bot token (the Bot API's URLs carry it: ``/bot<token>/getMe``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "<redacted>"
#: Loggers that are always kept below INFO: what they say at INFO reads as errors.
SILENCED = ("faiss.loader",)
#: Loggers kept below INFO unless ``-v``: routine chatter that would drown reelcart's lines.
QUIETED = (
    "apscheduler",
    "sentence_transformers",
    "telegram.ext.Application",
    "httpx",
    "httpcore",
)
# A Bot API token: the bot's id, a colon, 35 URL-safe characters (a little slack either way).
_BOT_TOKEN = re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{30,}")
# Shorter values would redact ordinary words.
_MIN_SECRET = 8


class SecretFilter(logging.Filter):
    """Redacts secrets from every record that passes through it; drops nothing."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Redact these values from now on (empty and very short ones are ignored)."""
        self._secrets.update(s for s in secrets if s and len(s) >= _MIN_SECRET)

    def redact(self, text: str) -> str:
        """``text`` with every known secret and bot token replaced."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return _BOT_TOKEN.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it itself, leave it be
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatted here so the traceback's text can be redacted too (formatters reuse it).
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure_logging(verbose: bool) -> SecretFilter:
    """Log to stderr at INFO (DEBUG if ``verbose``), library chatter quieted, secrets
    redacted; returns the filter, to be told the secrets once the settings are read."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=FORMAT)
    secrets = SecretFilter()
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, SecretFilter)]:
            handler.removeFilter(old)
        handler.addFilter(secrets)
    for name in SILENCED:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in QUIETED:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)
    return secrets
