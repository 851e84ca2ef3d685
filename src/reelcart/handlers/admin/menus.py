"""The admins' command menu (/admin, and the merchant's commands if they sell): set at
start, or when an admin Telegram had no chat with yet first writes."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommandScopeChat, Update
from telegram.error import TelegramError

from reelcart.handlers.kit.context import ReelcartApplication, ReelcartContext
from reelcart.handlers.kit.menus import menu_extras, set_chat_menu
from reelcart.services.shop import Shop

log = logging.getLogger(__name__)


async def _show_admin_menu(bot: Bot, shop: Shop, admin_id: int) -> bool:
    """Give one admin's chat the /admin command (and merchant commands if they sell);
    False if it is not there after (Telegram has no chat with someone who never wrote)."""
    try:
        merchant = await shop.merchants.owned(admin_id)
    except Exception:  # the menu is a convenience: never block start-up on it
        log.exception("could not look up admin %s", admin_id)
        merchant = None
    selling = merchant is not None and merchant.active
    await set_chat_menu(bot, admin_id, menu_extras(selling, True))
    try:
        shown = await bot.get_my_commands(scope=BotCommandScopeChat(admin_id))
    except TelegramError:
        return False
    return any(command.command == "admin" for command in shown)


async def show_admin_menus(application: ReelcartApplication) -> None:
    """At start: every admin's chat gets its menu; an admin Telegram has no chat with yet
    gets it when they first write (``admin_menu_gate``)."""
    shop = application.bot_data.shop
    if shop is None:
        return
    for admin_id in sorted(shop.settings.admin_ids):
        if not await _show_admin_menu(application.bot, shop, admin_id):
            log.info("admin %s gets the /admin menu once they write to the bot", admin_id)
            shop.admin.menus_pending.add(admin_id)


async def admin_menu_gate(update: object, context: ReelcartContext) -> None:
    """An admin whose menu could not be set at start writes to the bot: set it now, once."""
    if not isinstance(update, Update) or context.bot_data.shop is None:
        return
    user, chat = update.effective_user, update.effective_chat
    pending = context.shop.admin.menus_pending
    if user is None or user.id not in pending or chat is None or chat.type != "private":
        return
    pending.discard(user.id)  # before any await: their next update does not set it twice
    if not await _show_admin_menu(context.bot, context.shop, user.id):
        pending.add(user.id)
