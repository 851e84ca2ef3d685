"""Command menus: everyone's (English by default, and French), and one chat's own, with the
merchant's and the admin's commands added where that person may use them."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import TelegramError

from reelcart.domain import Language
from reelcart.i18n import CATALOGS, t

log = logging.getLogger(__name__)

#: Everyone's menu, in this order.
COMMANDS = (
    "feed", "search", "likes", "orders", "basket", "lang", "start", "help", "merchant",
    "mydata", "forget",
)  # fmt: skip
#: Merchant commands, added to an approved merchant's own command menu.
MERCHANT_COMMANDS = ("upload", "products", "sales", "stats")


async def set_everyone_menu(bot: Bot) -> None:
    """Everyone's command menu in private chats, in English (the default) and French."""
    scope = BotCommandScopeAllPrivateChats()
    for language in Language:
        commands = [BotCommand(name, t(language, f"cmd.{name}")) for name in COMMANDS]
        code = None if language is Language.EN else language.value
        await bot.set_my_commands(commands, scope=scope, language_code=code)


async def set_chat_menu(bot: Bot, chat_id: int, extras: Sequence[str]) -> None:
    """Give one chat everyone's command menu plus ``extras`` (merchant or admin commands);
    with no extras the chat gets everyone's menu back. A refusal is logged, not raised."""
    scope = BotCommandScopeChat(chat_id)
    for language in Language:
        code = None if language is Language.EN else language.value
        try:
            if not extras:
                await bot.delete_my_commands(scope=scope, language_code=code)
                continue
            base = list(
                await bot.get_my_commands(
                    scope=BotCommandScopeAllPrivateChats(), language_code=code
                )
            )
            names = {command.command for command in base}
            texts = CATALOGS[language]
            base += [
                BotCommand(name, texts[f"cmd.{name}"])
                for name in extras
                if name not in names and f"cmd.{name}" in texts
            ]
            await bot.set_my_commands(base, scope=scope, language_code=code)
        except TelegramError as exc:
            log.info("could not set the command menu of chat %s: %s", chat_id, exc)


def menu_extras(merchant: bool, admin: bool) -> list[str]:
    """The commands a chat gets beyond everyone's: merchant ones, then /admin."""
    return [*(MERCHANT_COMMANDS if merchant else ()), *(("admin",) if admin else ())]
