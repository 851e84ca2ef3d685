"""Your data: /mydata sends everything reelcart holds about you as a JSON file; /forget
erases it after a confirmation and says what was erased.

Callback data: ``priv:forget:yes`` / ``priv:forget:no`` (``FORGET_YES``, ``FORGET_NO``).
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message, Update
from telegram.constants import ParseMode

from reelcart.domain import Language
from reelcart.handlers.kit.context import ReelcartContext, shopper
from reelcart.i18n import CATALOGS, t

log = logging.getLogger(__name__)

FORGET_YES = "priv:forget:yes"
FORGET_NO = "priv:forget:no"

#: The order /forget reports what it erased in (keys of ``storage.personal_data.erase_user_data``).
ERASED_KINDS = (
    "profile",
    "reactions",
    "cards",
    "referral_code",
    "referrals",
    "alerts",
    "broadcasts",
    "basket",
    "checkouts",
    "shops",
)


def counted(language: Language, key: str, count: int) -> str:
    """The text ``key`` for ``count`` things: its ``_one`` form for exactly one, when it has
    one (French and English both say "1 facture", "1 invoice" in the singular)."""
    one = f"{key}_one"
    return t(language, one if count == 1 and one in CATALOGS[language] else key, count=count)


async def mydata_command(update: Update, context: ReelcartContext) -> None:
    """Send the user a JSON file of everything reelcart holds about them."""
    user = await shopper(update, context)
    assert update.message is not None
    if context.args:
        await update.message.reply_text(t(user.language, "privacy.mydata_usage"))
        return
    data = await context.shop.privacy.export(user.id)
    await update.message.reply_document(
        InputFile(data, filename=f"reelcart-mydata-{user.id}.json"),
        caption=t(user.language, "privacy.mydata_caption"),
    )


async def forget_command(update: Update, context: ReelcartContext) -> None:
    """Ask for confirmation before erasing anything."""
    user = await shopper(update, context)
    assert update.message is not None
    lang = user.language
    if context.args:
        await update.message.reply_text(t(lang, "privacy.forget_usage"))
        return
    text = t(lang, "privacy.forget_confirm")
    merchant = await context.shop.merchants.owned(user.id)
    if merchant is not None:
        text += "\n\n" + t(lang, "privacy.forget_merchant", name=merchant.name)
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t(lang, "privacy.btn_erase"), callback_data=FORGET_YES),
                InlineKeyboardButton(t(lang, "privacy.btn_keep"), callback_data=FORGET_NO),
            ]
        ]
    )
    await update.message.reply_text(text, reply_markup=markup)


async def forget_button(update: Update, context: ReelcartContext) -> None:
    """Erase (or not) after the confirmation."""
    query = update.callback_query
    assert query is not None
    user = await shopper(update, context)
    lang = user.language
    message = query.message if isinstance(query.message, Message) else None
    if query.data == FORGET_NO:
        await query.answer()
        if message is not None:
            await message.edit_text(t(lang, "privacy.forget_kept"))
        return
    if query.data != FORGET_YES:
        await query.answer(t(lang, "feed.stale"))
        return
    erasure = await context.shop.privacy.forget(user.id)
    await query.answer()
    lines = [t(lang, "privacy.forgotten")]
    for kind in ERASED_KINDS:
        count = erasure.erased.get(kind)
        if count:
            lines.append("• " + counted(lang, f"privacy.erased_{kind}", count))
    if erasure.orders_kept:
        lines.append(counted(lang, "privacy.orders_kept", erasure.orders_kept))
    lines.append(t(lang, "privacy.forgotten_end"))
    text = "\n".join(lines)
    if message is not None:
        await message.edit_text(text, parse_mode=ParseMode.HTML)
    else:
        await context.bot.send_message(query.from_user.id, text, parse_mode=ParseMode.HTML)
