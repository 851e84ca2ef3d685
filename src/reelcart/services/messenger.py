"""The one port through which services reach Telegram: send, edit, refund.

A service says "send this to that user" in reelcart's own terms (text, ``Button`` rows,
``Media``) and gets back an ``Outcome``: sent (with the message's id), blocked, retry
later (after so many seconds), failed, or unknown. One adapter implements the port
(``handlers.kit.messenger.TelegramMessenger``) and maps Telegram's errors to outcomes once, so
every workflow retries the same way; tests give the services a fake at this port.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True)
class Button:
    """An inline button under a message: a tap sends ``callback_data`` to the bot, or
    opens ``url``; exactly one of the two."""

    label: str
    callback_data: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.callback_data is None) == (self.url is None):
            raise ValueError("a button has either callback_data or a url")


#: Rows of buttons, top to bottom; an empty keyboard means none.
Keyboard = Sequence[Sequence[Button]]


class MediaKind(StrEnum):
    PHOTO = "photo"
    VIDEO = "video"
    DOCUMENT = "document"


@dataclass(frozen=True)
class Media:
    """A photo, video or document to send: a Telegram file id or URL, or the file's bytes
    (``filename`` names a document made of bytes)."""

    kind: MediaKind
    source: str | bytes
    filename: str | None = None


class Status(StrEnum):
    """How a request to Telegram ended."""

    #: Telegram took it (for a refund: the money is back, or already was).
    SENT = "sent"
    #: The person blocked the bot (or deleted their account): never try them again.
    BLOCKED = "blocked"
    #: Certainly not delivered (flood control, Telegram's 5xx, no connection): sending it
    #: again, after ``retry_after`` seconds, is safe.
    RETRY_LATER = "retry_later"
    #: Telegram refused it for good (a bad request): sending it again will not help.
    FAILED = "failed"
    #: The request left and no answer came back: it may have arrived, and sending it again
    #: may make a duplicate (the Bot API has no idempotency key).
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Outcome:
    """What became of one send, edit or refund. ``detail`` says why, for logs and for an
    admin (Telegram's own words when it refused)."""

    status: Status
    message_id: int | None = None
    retry_after: float = 0.0
    detail: str = ""

    @classmethod
    def sent(cls, message_id: int | None = None) -> Outcome:
        return cls(Status.SENT, message_id=message_id)

    @classmethod
    def blocked(cls, detail: str = "") -> Outcome:
        return cls(Status.BLOCKED, detail=detail)

    @classmethod
    def retry_later(cls, seconds: float = 1.0, detail: str = "") -> Outcome:
        return cls(Status.RETRY_LATER, retry_after=seconds, detail=detail)

    @classmethod
    def failed(cls, detail: str = "") -> Outcome:
        return cls(Status.FAILED, detail=detail)

    @classmethod
    def unknown(cls, detail: str = "") -> Outcome:
        return cls(Status.UNKNOWN, detail=detail)

    @property
    def ok(self) -> bool:
        """Telegram took it."""
        return self.status is Status.SENT


class Messenger(Protocol):
    """Telegram, as the services see it.

    Every method makes one request (the adapter may wait out a flood limit first) and
    never raises for what Telegram answers or for a network fault: the ``Outcome`` says
    how it ended. Retrying is the caller's decision (``services.sending``). Texts are
    Telegram HTML unless ``html`` is False.
    """

    async def send_text(
        self, user_id: int, text: str, *, buttons: Keyboard = (), html: bool = True
    ) -> Outcome:
        """Send ``text`` to ``user_id``'s private chat, with ``buttons`` under it."""
        ...

    async def send_media(
        self,
        user_id: int,
        media: Media,
        *,
        caption: str = "",
        buttons: Keyboard = (),
        html: bool = True,
    ) -> Outcome:
        """Send a photo, video or document to ``user_id``, captioned."""
        ...

    async def edit_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        buttons: Keyboard = (),
        html: bool = True,
    ) -> Outcome:
        """Replace a text message's text and buttons (no buttons: they go). A message that
        already shows exactly this counts as SENT."""
        ...

    async def refund_stars(self, user_id: int, charge_id: str) -> Outcome:
        """Give back the Stars of payment ``charge_id`` (refundStarPayment). SENT when the
        money is back, including when it already was; FAILED, with Telegram's reason in
        ``detail``, when Telegram refuses."""
        ...
