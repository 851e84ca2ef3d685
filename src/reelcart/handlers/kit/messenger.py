"""The one Telegram adapter of the services' port (``services.messenger.Messenger``).

``outcome_of`` is the single map from Telegram's errors to an ``Outcome``; every workflow
that sends (fulfilment, restock alerts, broadcasts, notices) goes through it, so they all
retry by the same rules. ``outbox`` hands a handler the shop's service workers, connected
to this bot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from reelcart.handlers.kit.context import (
    ReelcartApplication,
    ReelcartBot,
    ReelcartContext,
    retry_after_seconds,
)
from reelcart.services.messenger import Keyboard, Media, MediaKind, Outcome
from reelcart.services.outbox import Outbox

#: What Telegram answers a refund of a payment that was refunded already.
_ALREADY_REFUNDED = "ALREADY_REFUNDED"


def outcome_of(error: TelegramError) -> Outcome:
    """How a request that failed with ``error`` stands.

    RETRY_LATER: it certainly did not arrive, so sending it again is safe: a 429 (after
    its ``retry_after``), Telegram's own 5xx answer, or a request that never left (no
    connection, or every connection busy). BLOCKED: the person blocked the bot. FAILED:
    Telegram refused it for good (400 and the like). UNKNOWN: the request left and no
    answer came back (a read timeout, a dropped connection): it may have arrived.
    """
    detail = str(error)
    if isinstance(error, RetryAfter):
        return Outcome.retry_later(retry_after_seconds(error), detail)
    if isinstance(error, Forbidden):
        return Outcome.blocked(detail)
    if isinstance(error, BadRequest) or not isinstance(error, NetworkError):
        return Outcome.failed(error.message)  # (python-telegram-bot's BadRequest is a NetworkError)
    if "not sent" in error.message:  # the transport's pool timeout (``AiohttpRequest``)
        return Outcome.retry_later(detail=detail)
    cause = error.__cause__
    if isinstance(cause, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return Outcome.retry_later(detail=detail)  # no connection was made: nothing was sent
    if isinstance(error, TimedOut):
        return Outcome.unknown(detail)
    if cause is None or isinstance(cause, TelegramError):
        # Made from Telegram's answer: a 5xx, its "Bad Gateway" page.
        return Outcome.retry_later(detail=detail)
    return Outcome.unknown(detail)


def markup_of(buttons: Keyboard) -> InlineKeyboardMarkup | None:
    """reelcart's button rows as Telegram's inline keyboard (None for no buttons)."""
    rows = [
        [
            InlineKeyboardButton(button.label, callback_data=button.callback_data)
            if button.callback_data is not None
            else InlineKeyboardButton(button.label, url=button.url)
            for button in row
        ]
        for row in buttons
        if row
    ]
    return InlineKeyboardMarkup(rows) if rows else None


async def _request(call: Callable[[], Awaitable[object]]) -> Outcome:
    try:
        result = await call()
    except TelegramError as exc:
        return outcome_of(exc)
    return Outcome.sent(result.message_id if isinstance(result, Message) else None)


class TelegramMessenger:
    """The services' ``Messenger`` on python-telegram-bot's ``Bot``."""

    def __init__(self, bot: ReelcartBot) -> None:
        self.bot = bot

    async def send_text(
        self, user_id: int, text: str, *, buttons: Keyboard = (), html: bool = True
    ) -> Outcome:
        """Send ``text`` to ``user_id`` (see ``Messenger.send_text``)."""
        return await _request(
            lambda: self.bot.send_message(
                user_id,
                text,
                parse_mode=ParseMode.HTML if html else None,
                reply_markup=markup_of(buttons),
            )
        )

    async def send_media(
        self,
        user_id: int,
        media: Media,
        *,
        caption: str = "",
        buttons: Keyboard = (),
        html: bool = True,
    ) -> Outcome:
        """Send a photo, video or document to ``user_id`` (see ``Messenger.send_media``)."""
        source: str | InputFile = (
            media.source
            if isinstance(media.source, str)
            else InputFile(media.source, filename=media.filename)
        )
        text = caption or None
        mode = ParseMode.HTML if html and caption else None
        markup = markup_of(buttons)
        bot = self.bot
        if media.kind is MediaKind.VIDEO:
            return await _request(
                lambda: bot.send_video(
                    user_id, source, caption=text, parse_mode=mode, reply_markup=markup
                )
            )
        if media.kind is MediaKind.PHOTO:
            return await _request(
                lambda: bot.send_photo(
                    user_id, source, caption=text, parse_mode=mode, reply_markup=markup
                )
            )
        return await _request(
            lambda: bot.send_document(
                user_id, source, caption=text, parse_mode=mode, reply_markup=markup
            )
        )

    async def edit_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        buttons: Keyboard = (),
        html: bool = True,
    ) -> Outcome:
        """Edit a text message (see ``Messenger.edit_text``)."""
        try:
            await self.bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML if html else None,
                reply_markup=markup_of(buttons),
            )
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return Outcome.sent(message_id)  # it shows exactly this already
            return outcome_of(exc)
        except TelegramError as exc:
            return outcome_of(exc)
        return Outcome.sent(message_id)

    async def refund_stars(self, user_id: int, charge_id: str) -> Outcome:
        """Refund a Stars payment (see ``Messenger.refund_stars``)."""
        try:
            await self.bot.refund_star_payment(user_id, charge_id)
        except BadRequest as exc:
            if _ALREADY_REFUNDED in exc.message.upper():
                return Outcome.sent()
            return outcome_of(exc)
        except TelegramError as exc:
            return outcome_of(exc)
        return Outcome.sent()


def outbox(context: ReelcartContext | ReelcartApplication) -> Outbox:
    """The shop's service workers, sending through this bot. ``bot.serve`` connects them
    at start-up (with the crash hook); a shop attached by hand (tests) is connected on
    first use, with none. Raises RuntimeError before the shop is open."""
    shop = context.bot_data.shop
    if shop is None:
        raise RuntimeError("the shop is not open yet")
    return shop.outbox or shop.connect(TelegramMessenger(context.bot))
