"""/start: greeting, interests, language; deep links ``p_<id>`` open a product's card.

A shared link may carry its creator's referral code, ``p_<id>_r_<code>``: the visit is
counted for that creator (and a purchase that follows, in the merchant's /stats).
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from reelcart.domain import Language, ProductNotFound, ProductUnavailable, User
from reelcart.handlers.feed import render
from reelcart.handlers.feed.cards import show_card
from reelcart.handlers.kit.context import ReelcartContext, answer_query, is_not_modified, shopper
from reelcart.handlers.kit.errors import error_text
from reelcart.i18n import t

log = logging.getLogger(__name__)

_PRODUCT_LINK = re.compile(r"^p_([1-9][0-9]{0,17})(?:_r_([a-z0-9]{4,16}))?$")


async def start(update: Update, context: ReelcartContext) -> None:
    """Greet, offer interests and language; or open the product a deep link points at."""
    user = await shopper(update, context)
    assert update.effective_chat is not None and update.message is not None
    payload = context.args[0] if context.args else ""
    match = _PRODUCT_LINK.match(payload)
    if match:
        product_id = int(match[1])
        try:
            card = await context.shop.feed.open_product(user.id, product_id)
        except (ProductNotFound, ProductUnavailable) as exc:
            await update.message.reply_text(error_text(user.language, exc))
            return
        if match[2]:
            await context.shop.merchants.referral_click(match[2], user.id, product_id)
        await show_card(context, update.effective_chat.id, card, user.language)
        return
    await update.message.reply_text(
        t(user.language, "start.hello", name=html.escape(user.first_name or "👋")),
        parse_mode=ParseMode.HTML,
        reply_markup=await interests_keyboard(context, user),
    )


async def interests_keyboard(context: ReelcartContext, user: User) -> InlineKeyboardMarkup:
    """Toggle buttons for each category, then language and "start swiping"."""
    options = await context.shop.feed.interest_options()
    chosen = set(user.interests)
    buttons = [
        InlineKeyboardButton(
            ("✅ " if option in chosen else "") + option.replace("-", " "),
            callback_data=render.interest_data(option),
        )
        for option in options
        if render.fits(render.interest_data(option))
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    done_label = "start.done_button" if chosen else "start.skip_button"
    rows.append(
        [InlineKeyboardButton(t(user.language, done_label), callback_data=render.INTERESTS_DONE)]
    )
    other = _other(user.language)
    switch = InlineKeyboardButton(
        t(user.language, "start.lang_button"), callback_data=render.switch_language_data(other)
    )
    rows.append([switch])
    return InlineKeyboardMarkup(rows)


async def interest_button(update: Update, context: ReelcartContext) -> None:
    """Toggle an interest (saved at once), switch language, or finish onboarding.

    Each tap is answered first, then worked on; an edit that finds the greeting already as
    it should be (a double tap) is done, not an error.
    """
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_chat is not None
    user = await shopper(update, context)
    feed = context.shop.feed
    message = query.message if isinstance(query.message, Message) else None
    if query.data == render.INTERESTS_DONE:
        await answer_query(context, query)
        if message is not None and message.reply_markup is None:
            return  # a tap before this one took the buttons away and started the feed
        await feed.set_interests(user.id, user.interests, done=True)
        if message is not None and not await _edit_done(message.edit_reply_markup(None)):
            return  # a tap at the same time got there first: it shows the first card
        card = await feed.next_card(user.id)
        if card is None:
            await context.bot.send_message(update.effective_chat.id, t(user.language, "feed.empty"))
            return
        await show_card(context, update.effective_chat.id, card, user.language)
        return
    if render.is_switch_language_data(query.data):
        language = render.parse_switch_language_data(query.data) or _other(user.language)
        await answer_query(context, query, t(language, "lang.set"))
        await feed.set_language(user.id, language)
        user = await shopper(update, context)
        if message is not None:
            await _edit_done(
                message.edit_text(
                    t(language, "start.hello", name=html.escape(user.first_name or "👋")),
                    parse_mode=ParseMode.HTML,
                    reply_markup=await interests_keyboard(context, user),
                )
            )
        return
    options = await feed.interest_options()
    choice = render.parse_interest_data(query.data)
    if choice not in options:
        await answer_query(context, query, t(user.language, "feed.stale"))
        return
    interests = set(user.interests)
    if choice in interests:
        interests.discard(choice)
        note = t(user.language, "start.interest_removed", interest=choice)
    else:
        interests.add(choice)
        note = t(user.language, "start.interest_added", interest=choice)
    await answer_query(context, query, note)
    await feed.set_interests(user.id, sorted(interests), done=False)
    user = await shopper(update, context)
    if message is not None:
        await _edit_done(message.edit_reply_markup(await interests_keyboard(context, user)))


def _other(current: Language) -> Language:
    """The language a bare switch button (on older greetings) toggles to."""
    return Language.EN if current is Language.FR else Language.FR


async def _edit_done(edit: Awaitable[object]) -> bool:
    """Await an edit of the greeting; False if Telegram found nothing to change (the
    message already shows it: a double tap, or a tap at the same time).

    A greeting Telegram will not edit at all (deleted, too old) is logged and passed over:
    the choice the tap made is saved and answered all the same.
    """
    try:
        await edit
    except BadRequest as exc:
        if is_not_modified(exc):
            log.info("greeting already up to date: %s", exc)
            return False
        log.warning("could not update the greeting: %s", exc)
    return True
