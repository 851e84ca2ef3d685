"""No secret in the log, at any level: the entry point's redacting filter."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from reelcart.logging_config import FORMAT, SecretFilter

TOKEN = "7012345678:AAFakeFakeFakeFakeFakeFakeFakeFake1"
PROVIDER = "284685063:TEST:provider-secret-value"
WEBHOOK = "webhook-secret-value-123"


@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    """Everything logged at DEBUG and up while the test runs, through a redacting handler
    on the root logger (as ``configure_logging`` sets it up)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(SecretFilter([TOKEN, PROVIDER, WEBHOOK, None, ""]))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_secrets_are_redacted_at_debug_in_messages_arguments_and_tracebacks(
    log_text: io.StringIO,
) -> None:
    library = logging.getLogger("tests.redaction.httpx")  # a library's logger, any depth
    library.debug("HTTP Request: POST %s", f"https://api.telegram.org/bot{TOKEN}/getMe")
    library.debug("sendInvoice with %r", {"provider_token": PROVIDER, "title": "Tea"})
    library.debug("setWebhook secret_token=" + WEBHOOK)
    try:
        raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
    except RuntimeError:
        library.debug("getMe failed", exc_info=True)
    # A token reelcart was not told about is still caught by its shape.
    other = "5550001111:BBOtherOtherOtherOtherOtherOtherOth"
    library.info("file URL https://api.telegram.org/file/bot%s/clip.mp4", other)

    text = log_text.getvalue()
    for secret in (TOKEN, PROVIDER, WEBHOOK, other, TOKEN.split(":")[1], "provider-secret"):
        assert secret not in text
    assert "/bot<redacted>/getMe" in text
    assert "'title': 'Tea'" in text  # the rest of the line stays readable
    assert "Traceback" in text and "RuntimeError: The token `<redacted>` was rejected" in text


def test_a_message_without_secrets_is_left_as_it_is(log_text: io.StringIO) -> None:
    logging.getLogger("tests.redaction.shop").info("imported %d products for %s", 3, "Acme")
    assert log_text.getvalue().endswith("tests.redaction.shop: imported 3 products for Acme\n")
