"""A typed context: handlers reach the shop as ``context.shop``, not through string keys.

Also what every handler needs to talk to Telegram safely: ``answer_query`` answers a tap at
most once (the error handler asks ``was_answered`` before it tries), ``is_transient`` tells
a network fault worth retrying from a refusal, ``retry_after_seconds`` how long a flood
wait lasts, ``is_not_modified`` an edit that found its result already on screen.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import warnings
from collections import OrderedDict, defaultdict
from typing import TYPE_CHECKING, Any

from telegram import CallbackQuery, Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, CallbackContext, ExtBot
from telegram.warnings import PTBDeprecationWarning

from reelcart.domain import Language, User

if TYPE_CHECKING:
    from reelcart.services.shop import Shop

log = logging.getLogger(__name__)

#: Callback queries remembered as answered. Telegram takes an answer for about 15 s, so
#: this covers far more taps than can be in flight at once.
ANSWERED_KEPT = 10_000


class AnsweredQueries:
    """The ids of the latest callback queries the bot answered (or tried to)."""

    def __init__(self, keep: int = ANSWERED_KEPT) -> None:
        self._keep = keep
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, query_id: str) -> bool:
        """Remember ``query_id``; False if it was already there."""
        if query_id in self._ids:
            return False
        self._ids[query_id] = None
        while len(self._ids) > self._keep:
            self._ids.popitem(last=False)
        return True

    def __contains__(self, query_id: object) -> bool:
        return query_id in self._ids


class ReelcartBot(ExtBot[None]):
    """The bot, answering each tap at most once whichever handler answers it: Telegram
    refuses a second answer, and the error handler must not show an alert for a tap whose
    toast already went (or may have gone) out."""

    __slots__ = ("answered",)

    answered: AnsweredQueries

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The base class freezes its attributes at the end of __init__; this slot is ours.
        object.__setattr__(self, "answered", AnsweredQueries())

    async def answer_callback_query(
        self, callback_query_id: str, *args: Any, **kwargs: Any
    ) -> bool:
        """Answer the tap, or do nothing (and say True) if it was answered already. It counts
        as answered as soon as the answer is sent, whatever comes of it: a timeout may hide
        an answer Telegram took."""
        if not self.answered.add(callback_query_id):
            log.debug("callback query %s was answered already", callback_query_id)
            return True
        return await super().answer_callback_query(callback_query_id, *args, **kwargs)


class BotData:
    """What the whole application shares: the shop, set once at start-up, and one lock per
    person for the handlers that must take that person's taps in the order they came
    (updates are otherwise handled concurrently)."""

    def __init__(self) -> None:
        self.shop: Shop | None = None
        self.turns: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)


class ReelcartContext(CallbackContext[ReelcartBot, dict, dict, BotData]):
    """The context every reelcart handler receives."""

    @property
    def shop(self) -> Shop:
        shop = self.bot_data.shop
        if shop is None:
            raise RuntimeError("the shop is not open yet")
        return shop


ReelcartApplication = Application[ReelcartBot, ReelcartContext, dict, dict, BotData, Any]


async def shopper(update: Update, context: ReelcartContext) -> User:
    """The Telegram user behind this update, as reelcart knows them (created on first sight)."""
    tg_user = update.effective_user
    assert tg_user is not None
    user, _new = await context.shop.feed.meet(
        tg_user.id, tg_user.first_name, tg_user.username, tg_user.language_code
    )
    return user


def language_of(user: User | None) -> Language:
    """The language to speak to ``user`` in (English for someone reelcart does not know)."""
    return user.language if user else Language.EN


async def answer_query(
    context: ReelcartContext,
    query: CallbackQuery,
    text: str | None = None,
    *,
    show_alert: bool = False,
) -> bool:
    """Answer a tap, once: a second call for the same query does nothing. True if this call
    sent the answer.

    The query counts as answered as soon as the answer is sent, whatever comes of it: a
    timeout or a dropped connection may hide an answer Telegram took, and Telegram refuses
    a second one. A failed answer is logged, not raised, so the work the tap asked for goes
    on (the answer is a toast; the work is what the shopper wanted).
    """
    if was_answered(context, query):
        return False
    try:
        await query.answer(text, show_alert=show_alert)
    except TelegramError as exc:
        log.warning("could not answer callback query %s: %s", query.id, exc)
    return True


def was_answered(context: ReelcartContext, query: CallbackQuery) -> bool:
    """Whether this tap was answered already (by any handler)."""
    return query.id in context.bot.answered


def is_transient(error: BaseException) -> bool:
    """A fault on the way to Telegram or back (a 5xx, a timeout, a dropped connection, a
    flood wait): trying again later may work, and the call may even have taken effect."""
    if isinstance(error, RetryAfter):
        return True
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)


def is_not_modified(error: BadRequest) -> bool:
    """Telegram refused an edit because the message already shows it (a double tap, or an
    earlier try whose reply was lost): the edit is done."""
    return "not modified" in error.message.lower()


def retry_after_seconds(error: RetryAfter) -> float:
    """How long Telegram asked to wait before trying again, in seconds."""
    # python-telegram-bot 22 is moving retry_after from int to timedelta and warns on read.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, datetime.timedelta) else float(value)
