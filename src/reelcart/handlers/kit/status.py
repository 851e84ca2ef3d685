"""A status message: one message edited as work goes on (a catalog import, a broadcast)."""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter

from reelcart.handlers.kit.context import retry_after_seconds

log = logging.getLogger(__name__)


class StatusMessage:
    """One message edited as work progresses: at most one edit per ``interval`` seconds, the
    latest state always shown in the end (a throttled update is applied once the interval
    has passed), never an edit to the same text, and nothing after the final state."""

    def __init__(
        self, bot: Bot, chat_id: int, message_id: int, text: str = "", interval: float = 1.0
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.message_id = message_id
        self.interval = interval
        self._shown: tuple[str, InlineKeyboardMarkup | None] = (text, None)
        self._wanted: tuple[str, InlineKeyboardMarkup | None] = self._shown
        self._last = 0.0
        self._finished = False
        self._flush: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def of(cls, message: Message, interval: float = 1.0) -> StatusMessage:
        """Edit ``message`` (just sent, with its text as it is)."""
        return cls(
            message.get_bot(),
            message.chat.id,
            message.message_id,
            message.text_html or "",
            interval,
        )

    async def show(
        self, text: str, *, final: bool = False, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Show ``text`` now, or as soon as the interval allows; ``final`` always goes."""
        async with self._lock:
            if self._finished:
                return
            self._wanted = (text, markup)
            if final:
                self._finished = True
                if self._flush is not None:
                    self._flush.cancel()
                    self._flush = None
                await self._apply(final=True)
                return
            wait = self._last + self.interval - time.monotonic()
            if wait > 0:
                if self._flush is None:
                    self._flush = asyncio.create_task(self._later(wait))
                return
            await self._apply(final=False)

    async def _later(self, wait: float) -> None:
        await asyncio.sleep(wait)
        async with self._lock:
            self._flush = None
            if not self._finished:
                await self._apply(final=False)

    async def _apply(self, final: bool) -> None:
        text, markup = self._wanted
        if (text, markup) == self._shown:
            return
        try:
            await self._edit(text, markup)
        except RetryAfter as exc:
            if not final:
                return
            await asyncio.sleep(retry_after_seconds(exc))
            await self._edit(text, markup)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                log.info("could not edit status message: %s", exc)
                return
        self._shown, self._last = (text, markup), time.monotonic()

    async def _edit(self, text: str, markup: InlineKeyboardMarkup | None) -> None:
        await self.bot.edit_message_text(
            text,
            chat_id=self.chat_id,
            message_id=self.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
        )
