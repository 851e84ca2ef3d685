"""One press of an admin panel button, with what every screen needs to answer it."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from reelcart.domain import Language, User
from reelcart.handlers.kit.callbacks import ADMIN_MENU
from reelcart.handlers.kit.context import ReelcartContext
from reelcart.i18n import t

log = logging.getLogger(__name__)


class Stale(Exception):
    """A malformed or outdated button."""


class Press:
    """One press of an admin button, with what every screen needs."""

    def __init__(
        self,
        update: Update,
        context: ReelcartContext,
        user: User,
        lang: Language,
        message: Message | None,
        args: tuple[str | None, ...],
    ) -> None:
        assert update.callback_query is not None
        self.query = update.callback_query
        self.context = context
        self.shop = context.shop
        self.admin_id = user.id
        self.lang = lang
        self.message = message
        self.args = args

    def number(self, position: int) -> int:
        """The button's argument at ``position`` as a number; Stale if it is not one."""
        value = self.args[position]
        if value is None or not value.isdigit() or len(value) > 18:
            raise Stale(value)
        return int(value)

    def number_or(self, position: int, default: int) -> int:
        """Like ``number``, with ``default`` where the button has no such argument."""
        return default if self.args[position] is None else self.number(position)

    async def answer(self, key: str | None = None, alert: bool = False, **params: object) -> None:
        """Answer the tap: the text ``key`` in the admin's language, or nothing to show."""
        await self.query.answer(t(self.lang, key, **params) if key else None, show_alert=alert)

    async def show(self, text: str, markup: InlineKeyboardMarkup | None) -> None:
        """Show the next screen in place of the panel (see ``edit_panel``)."""
        await edit_panel(self.message, text, markup)


def back_button(lang: Language, data: str = ADMIN_MENU) -> InlineKeyboardButton:
    """⬅️ Back: to the panel's first screen unless ``data`` says where."""
    return InlineKeyboardButton(t(lang, "admin.btn_back"), callback_data=data)


async def edit_panel(
    message: Message | None, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Edit the panel ``message`` to show ``text``; a message with no text to replace (a
    photo, a card) gets the screen as a reply instead."""
    if message is None:
        return
    try:
        if message.text is None:  # a photo or a card: answer with a new message instead
            await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
            return
        await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.info("could not edit the admin panel: %s", exc)
