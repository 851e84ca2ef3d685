"""A typed context: handlers reach the shop as ``context.shop``, not through string keys."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from reelcart.domain import Language, User

if TYPE_CHECKING:
    from reelcart.services.shop import Shop


class BotData:
    """What the whole application shares: the shop, set once at start-up, and one lock per
    person for the handlers that must take that person's taps in the order they came
    (updates are otherwise handled concurrently)."""

    def __init__(self) -> None:
        self.shop: Shop | None = None
        self.turns: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)


class ReelcartContext(CallbackContext[ExtBot[Any], dict, dict, BotData]):
    """The context every reelcart handler receives."""

    @property
    def shop(self) -> Shop:
        shop = self.bot_data.shop
        if shop is None:
            raise RuntimeError("the shop is not open yet")
        return shop


ReelcartApplication = Application[ExtBot[Any], ReelcartContext, dict, dict, BotData, Any]


async def shopper(update: Update, context: ReelcartContext) -> User:
    """The Telegram user behind this update, as reelcart knows them (created on first sight)."""
    tg_user = update.effective_user
    assert tg_user is not None
    user, _new = await context.shop.feed.meet(
        tg_user.id, tg_user.first_name, tg_user.username, tg_user.language_code
    )
    return user


def language_of(user: User | None) -> Language:
    return user.language if user else Language.EN
