"""The /admin panel: its first screen, and every button's press routed to its screen.

Only ids in ``REELCART_ADMIN_IDS`` get anywhere: anyone else sending /admin or pressing an
admin button is refused and nothing changes. Callback data: ``kit.callbacks.ADMIN``
(``adm:refunds...`` belongs to ``checkout.refunds`` and is never matched here)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode

from reelcart.domain import Language
from reelcart.handlers.admin import audit, broadcasts, merchants, moderation, settings, stats, users
from reelcart.handlers.admin.press import Press, Stale
from reelcart.handlers.kit.callbacks import ADMIN, refunds_data
from reelcart.handlers.kit.context import ReelcartContext, shopper
from reelcart.handlers.kit.prompts import ask, take_prompt
from reelcart.i18n import t

log = logging.getLogger(__name__)


async def panel_menu(context: ReelcartContext, lang: Language) -> tuple[str, InlineKeyboardMarkup]:
    """The panel's first screen: what waits for a decision, and a button per screen."""
    counts = await context.shop.admin.counts()
    text = t(lang, "admin.menu", pending=counts.pending_products, applications=counts.applications)

    def button(key: str, data: str, **params: object) -> InlineKeyboardButton:
        return InlineKeyboardButton(t(lang, key, **params), callback_data=data)

    return text, InlineKeyboardMarkup(
        [
            [
                button("admin.btn_queue", ADMIN.data("qm", 0), count=counts.pending_products),
                button("admin.btn_applications", ADMIN.data("apps", 0), count=counts.applications),
            ],
            [
                button("admin.btn_merchants", ADMIN.data("ms", 0)),
                button("admin.btn_users", ADMIN.data("users")),
            ],
            [
                button("admin.btn_refunds", refunds_data()),
                button("admin.btn_settings", ADMIN.data("set")),
            ],
            [
                button("admin.btn_stats", ADMIN.data("stats")),
                button("admin.btn_broadcast", ADMIN.data("bc")),
            ],
            [button("admin.btn_audit", ADMIN.data("log", 0))],
        ]
    )


async def admin_command(update: Update, context: ReelcartContext) -> None:
    """Open the admin panel (admins only)."""
    user = await shopper(update, context)
    assert update.message is not None
    if not context.shop.admin.is_admin(user.id):
        await update.message.reply_text(t(user.language, "admin.not_admin"))
        return
    if context.args:
        await update.message.reply_text(t(user.language, "admin.usage"))
        return
    text, markup = await panel_menu(context, user.language)
    await update.message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def admin_button(update: Update, context: ReelcartContext) -> None:
    """Every button of the admin panel, one at a time per person, in the order pressed.

    Updates are handled concurrently, so two quick taps could have their edits land out of
    order and leave the panel on the older screen. The person's lock is taken before the
    first ``await``, while the updates' tasks still run in the order they arrived.
    """
    assert update.effective_user is not None
    async with context.bot_data.turns[update.effective_user.id]:
        await _admin_button(update, context)


async def _admin_button(update: Update, context: ReelcartContext) -> None:
    """One press of the admin panel; a non-admin's press changes nothing."""
    query = update.callback_query
    assert query is not None
    user = await shopper(update, context)
    lang = user.language
    if not context.shop.admin.is_admin(user.id):
        log.warning("user %s pressed an admin button: %s", user.id, query.data)
        await query.answer(t(lang, "admin.not_admin"), show_alert=True)
        return
    pressed = ADMIN.parse(query.data)
    if pressed is None:
        await query.answer(t(lang, "feed.stale"))
        return
    action = pressed.action
    if action not in USER_SCREENS:
        stop_taking_user_ids(context)
    message = query.message if isinstance(query.message, Message) else None
    handler = SCREENS.get(action)
    if handler is None:
        await query.answer(t(lang, "feed.stale"))
        return
    try:
        await handler(Press(update, context, user, lang, message, pressed.args))
    except Stale:
        await query.answer(t(lang, "feed.stale"))


#: While the admin is on these screens, every text they type is a user id or @username.
USER_SCREENS = frozenset({"users", "u", "ub"})


def stop_taking_user_ids(context: ReelcartContext) -> None:
    """The admin left the Users screens: what they type is no longer a user to look up."""
    prompt = take_prompt(context, "admin")
    if prompt is not None and prompt.kind != "user":
        ask(context, prompt)  # another question of the panel's stays open


async def screen_menu(press: Press) -> None:
    """The panel's first screen again (⬅️ Back)."""
    await press.answer()
    await press.show(*await panel_menu(press.context, press.lang))


#: Each action of ``kit.callbacks.ADMIN`` and the screen that answers it.
SCREENS: dict[str, Callable[[Press], Awaitable[None]]] = {
    "menu": screen_menu,
    "q": moderation.screen_queue,
    "qm": moderation.screen_queue_of,
    "qa": moderation.screen_approve,
    "qr": moderation.screen_reasons,
    "qx": moderation.screen_reject,
    "qo": moderation.screen_other_reason,
    "qc": moderation.screen_card,
    "apps": merchants.screen_applications,
    "app": merchants.screen_decide_application,
    "ms": merchants.screen_merchants,
    "m": merchants.screen_merchant,
    "mt": merchants.screen_trust,
    "mx": merchants.screen_suspend,
    "users": users.screen_users,
    "u": users.screen_user,
    "ub": users.screen_ban,
    "set": settings.screen_settings,
    "sd": settings.screen_set_discovery,
    "sm": settings.screen_set_run,
    "stats": stats.screen_stats,
    "st": stats.screen_stats_period,
    "bc": broadcasts.screen_broadcast,
    "bcgo": broadcasts.screen_broadcast_go,
    "bcno": broadcasts.screen_broadcast_cancel,
    "bcstop": broadcasts.screen_broadcast_cancel,
    "log": audit.screen_audit,
}
