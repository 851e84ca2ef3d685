"""What a simulated user sees: bot messages, answers to queries, payment outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reelcart.sandbox.state import JSON


@dataclass(frozen=True)
class BotMessage:
    """A bot message as the user sees it at one moment (edits applied up to then)."""

    data: JSON

    @property
    def message_id(self) -> int:
        """The message's id in the chat."""
        return int(self.data["message_id"])

    @property
    def text(self) -> str:
        """Text of a text message, caption of a media message, else ``""``."""
        return str(self.data.get("text", self.data.get("caption", "")))

    @property
    def edited(self) -> bool:
        """Whether this version is the result of an edit."""
        return "edit_date" in self.data

    @property
    def media_kind(self) -> str | None:
        """``"video"``, ``"photo"``, ``"animation"``, ``"document"`` or None."""
        for kind in ("video", "animation", "photo", "document"):
            if kind in self.data:
                return kind
        return None

    @property
    def file_id(self) -> str | None:
        """file_id of the message's media (largest photo size for photos)."""
        kind = self.media_kind
        if kind is None:
            return None
        media = self.data[kind]
        return str(media[-1]["file_id"] if kind == "photo" else media["file_id"])

    @property
    def invoice(self) -> JSON | None:
        """The ``Invoice`` of an invoice message."""
        return self.data.get("invoice")

    @property
    def buttons(self) -> list[JSON]:
        """Inline keyboard buttons, row by row, flattened."""
        markup = self.data.get("reply_markup") or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]

    def button(self, key: str) -> JSON:
        """The button whose callback_data equals ``key`` or whose label starts with it."""
        for button in self.buttons:
            if button.get("callback_data") == key:
                return button
        for button in self.buttons:
            if str(button["text"]).startswith(key):
                return button
        labels = [button["text"] for button in self.buttons]
        raise LookupError(f"no button {key!r} on message {self.message_id}; buttons: {labels}")


# Anything naming a message: a BotMessage, Message JSON, an id, or any object with a
# ``message_id`` attribute (e.g. a python-telegram-bot Message).
MessageRef = Any


def message_id_of(message: MessageRef) -> int:
    """The message_id of whatever names a message."""
    if isinstance(message, int):
        return message
    if isinstance(message, dict):
        return int(message["message_id"])
    return int(message.message_id)


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot answered to a button tap (answerCallbackQuery)."""

    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


@dataclass(frozen=True)
class InlineAnswer:
    """What the bot answered to an inline query (answerInlineQuery)."""

    query_id: str
    results: list[JSON]
    next_offset: str
    cache_time: int
    is_personal: bool
    button: JSON | None


@dataclass(frozen=True)
class PaymentResult:
    """Outcome of :meth:`SimulatedUser.pay`.

    ``status`` is ``"paid"``, ``"declined"`` (pre-checkout answered not ok),
    ``"shipping_declined"``, ``"timeout"`` (no pre-checkout answer in time) or
    ``"shipping_timeout"``.
    """

    status: str
    currency: str
    total_amount: int
    error_message: str | None = None
    telegram_payment_charge_id: str | None = None
    provider_payment_charge_id: str | None = None
    message: JSON | None = None
    update_id: int | None = None
    pre_checkout_latency: float | None = None

    @property
    def ok(self) -> bool:
        """True when the money moved and successful_payment was delivered."""
        return self.status == "paid"
