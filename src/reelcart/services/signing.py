"""Short HMAC-SHA256 signatures for what reelcart hands out and must trust on return.

Invoice payloads and shop-link tokens travel through Telegram and browsers and come back;
a signature over their fields proves reelcart issued them unchanged. Each use has its own
key, derived from one secret: ``REELCART_SECRET`` if set, else the bot token (so rotating
the token invalidates outstanding invoices and shop links; set ``REELCART_SECRET`` to keep
them across a rotation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets

from reelcart.config import Settings

log = logging.getLogger(__name__)

# 16 bytes of HMAC-SHA256 (128 bits) is far beyond guessing, and keeps payloads short.
SIGNATURE_BYTES = 16


def root_secret(settings: Settings) -> bytes:
    """The secret every signing key is derived from."""
    if settings.secret:
        return settings.secret.encode()
    if settings.bot_token:
        return settings.bot_token.encode()
    # No token: only offline tools (import, tests); signatures then last for this process.
    log.info("no REELCART_SECRET or bot token: signatures are valid for this process only")
    return secrets.token_bytes(32)


class Signer:
    """Signs and checks the fields of one kind of token (``purpose`` keeps kinds apart)."""

    def __init__(self, secret: bytes, purpose: str) -> None:
        self._key = hmac.new(secret, b"reelcart/" + purpose.encode(), hashlib.sha256).digest()

    def sign(self, *fields: object) -> str:
        """A URL-safe signature (22 characters) over ``fields``."""
        message = "|".join(str(field) for field in fields).encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()[:SIGNATURE_BYTES]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def verify(self, signature: str, *fields: object) -> bool:
        """Whether ``signature`` is this signer's signature over ``fields`` (constant time)."""
        return hmac.compare_digest(self.sign(*fields).encode(), signature.encode())
