"""Settings: read once from the environment at the entry point, then passed down.

Nothing in reelcart reads ``os.environ`` at import time; ``Settings.from_env`` is called by
``cli.main`` and the resulting object travels to every component that needs it.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

TELEGRAM_API_ROOT = "https://api.telegram.org"
# Where REELCART_TEST_CRASH may kill the bot (tests of crash recovery only): the moments
# of a payment (``services.fulfilment.CRASH_POINTS``; bot.py arms the hook).
TEST_CRASH_POINTS = frozenset(
    {
        "before_order_write",
        "after_order_write",
        "after_receipt_send",
        "after_receipt_recorded",
        "after_merchant_notice",
    }
)


class ConfigError(ValueError):
    """An environment variable holds a value reelcart cannot use."""


def _public_url_ok(url: str) -> bool:
    """https with a host; plain http only to a loopback address (tests, the sandbox):
    Telegram calls webhooks over https, and shoppers' shop links should not leak."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return False
    if parts.scheme == "https":
        return bool(host)
    if parts.scheme != "http":
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    """Everything reelcart can be configured with (see the README's configuration table)."""

    bot_token: str | None = None
    api_root: str = TELEGRAM_API_ROOT
    db_path: Path = Path("reelcart.db")
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    payment_provider_token: str = ""
    public_url: str | None = None
    http_host: str = "0.0.0.0"
    http_port: int = 8080
    model: str | None = None
    discovery_rate: float = 0.1
    send_rate: float = 30.0
    webhook_secret: str | None = None
    secret: str | None = None
    test_crash: str | None = None
    allow_private_urls: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``REELCART_*`` variables; raise ConfigError on a bad value."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        admin_ids: set[int] = set()
        for part in (get("REELCART_ADMIN_IDS") or "").split(","):
            part = part.strip()
            if not part:
                continue
            if not part.lstrip("-").isdigit():
                raise ConfigError(f"REELCART_ADMIN_IDS: {part!r} is not a Telegram user id")
            admin_ids.add(int(part))

        port_text = get("REELCART_HTTP_PORT") or "8080"
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise ConfigError(f"REELCART_HTTP_PORT: {port_text!r} is not a port number")

        rate_text = get("REELCART_DISCOVERY_RATE") or "0.1"
        try:
            rate = float(rate_text)
        except ValueError:
            raise ConfigError(f"REELCART_DISCOVERY_RATE: {rate_text!r} is not a number") from None
        if not 0.0 <= rate <= 1.0:
            raise ConfigError("REELCART_DISCOVERY_RATE must be between 0 and 1")

        # Messages per second across all chats; Telegram's cloud API allows about 30 (free),
        # a local Bot API server or paid broadcasts more. 0: no own cap (429s still retried).
        send_text = get("REELCART_SEND_RATE") or "30"
        try:
            send_rate = float(send_text)
        except ValueError:
            raise ConfigError(f"REELCART_SEND_RATE: {send_text!r} is not a number") from None
        if not 0.0 <= send_rate <= 1000.0 or send_rate != send_rate:
            raise ConfigError("REELCART_SEND_RATE must be between 0 (no cap) and 1000")

        public_url = get("REELCART_PUBLIC_URL")
        if public_url and not _public_url_ok(public_url):
            raise ConfigError(
                f"REELCART_PUBLIC_URL {public_url!r} must start with https:// and name a host "
                "(http:// only on this machine: 127.0.0.1, localhost or [::1])"
            )

        # A name is looked up in the local cache when the model loads; a path can be checked
        # now, before anything slow starts.
        model = get("REELCART_MODEL")
        is_path = (model or "").startswith(("/", "./", "../", "~"))
        if model and is_path and not Path(model).expanduser().is_dir():
            raise ConfigError(
                f"REELCART_MODEL: {model} is not a folder (give the folder of a "
                "sentence-transformers model, or leave it unset for the packaged one)"
            )

        # Tests and the sandbox serve media on 127.0.0.1; nothing else should reach it.
        private_text = (get("REELCART_ALLOW_PRIVATE_URLS") or "0").lower()
        if private_text not in ("0", "1", "no", "yes", "false", "true", "off", "on"):
            raise ConfigError(f"REELCART_ALLOW_PRIVATE_URLS: {private_text!r} is not 1 or 0")
        allow_private_urls = private_text in ("1", "yes", "true", "on")

        # Fault injection for the crash-recovery tests only (see the README).
        test_crash = get("REELCART_TEST_CRASH")
        if test_crash is not None and test_crash not in TEST_CRASH_POINTS:
            raise ConfigError(
                f"REELCART_TEST_CRASH: {test_crash!r} is not one of {sorted(TEST_CRASH_POINTS)}"
            )

        return cls(
            bot_token=get("REELCART_BOT_TOKEN"),
            api_root=(get("REELCART_API_BASE") or TELEGRAM_API_ROOT).rstrip("/"),
            db_path=Path(get("REELCART_DB") or "reelcart.db"),
            admin_ids=frozenset(admin_ids),
            payment_provider_token=get("REELCART_PAYMENT_PROVIDER_TOKEN") or "",
            public_url=public_url.rstrip("/") if public_url else None,
            http_host=get("REELCART_HTTP_HOST") or "0.0.0.0",
            http_port=int(port_text),
            model=model,
            discovery_rate=rate,
            send_rate=send_rate,
            webhook_secret=get("REELCART_WEBHOOK_SECRET"),
            secret=get("REELCART_SECRET"),
            test_crash=test_crash,
            allow_private_urls=allow_private_urls,
        )

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields replaced (used by the CLI's flags and the tests)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def index_path(self) -> Path:
        """The FAISS index is persisted beside the database."""
        return self.db_path.with_name(self.db_path.name + ".faiss")

    def __repr__(self) -> str:
        # Secrets never reach a log line, even through repr().
        hidden = "***" if self.bot_token else None
        return (
            f"Settings(bot_token={hidden!r}, api_root={self.api_root!r}, "
            f"db_path={str(self.db_path)!r}, admins={len(self.admin_ids)}, "
            f"payments={'on' if self.payment_provider_token else 'stars only'}, "
            f"public_url={self.public_url!r}, http_port={self.http_port}, "
            f"model={self.model!r}, discovery_rate={self.discovery_rate})"
        )
