"""/merchant: apply to sell (the shop's name, then its link, typed in answer) or hear where
the shop stands; and the one check every merchant command makes first."""

from __future__ import annotations

import html

from telegram import Update
from telegram.constants import ParseMode

from reelcart.domain import AlreadyMerchant, Merchant, MerchantState, NameTaken, NotAMerchant, User
from reelcart.handlers.kit.context import ReelcartContext, shopper
from reelcart.handlers.kit.errors import error_text
from reelcart.handlers.kit.prompts import Prompt, ask
from reelcart.handlers.merchant.notices import notify_application
from reelcart.i18n import t
from reelcart.services.merchants import InvalidInput, parse_shop_name, parse_shop_url


async def merchant_or_refuse(
    update: Update, context: ReelcartContext, user: User
) -> Merchant | None:
    """The user's approved shop, or None after telling them clearly why not."""
    try:
        return await context.shop.merchants.require(user.id)
    except NotAMerchant as exc:
        text = error_text(user.language, exc)
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, text)
        return None


async def merchant_command(update: Update, context: ReelcartContext) -> None:
    """Apply to sell (asking the shop's name, then its link), or say where the shop stands."""
    user = await shopper(update, context)
    assert update.message is not None
    lang = user.language
    mine = await context.shop.merchants.owned(user.id)
    if mine is not None and mine.state is not MerchantState.REJECTED:
        if mine.active:
            await update.message.reply_text(
                t(lang, "merchant.welcome", name=html.escape(mine.name))
                + ("\n" + t(lang, "merchant.trusted") if mine.trusted else ""),
                parse_mode=ParseMode.HTML,
            )
        elif mine.suspended:
            await update.message.reply_text(t(lang, "merchant.suspended"))
        else:
            await update.message.reply_text(
                t(lang, "merchant.application_waiting_named", name=html.escape(mine.name)),
                parse_mode=ParseMode.HTML,
            )
        return
    args = " ".join(context.args or []).strip()
    if args:
        # /merchant <name> <link>: the link is the last word.
        name, _, link = args.rpartition(" ")
        if not name or not link:
            await update.message.reply_text(t(lang, "merchant.usage"), parse_mode=ParseMode.HTML)
            return
        try:
            shop_url = parse_shop_url(link)
        except InvalidInput:
            await update.message.reply_text(t(lang, "merchant.usage"), parse_mode=ParseMode.HTML)
            return
        await submit(update, context, user, name, shop_url)
        return
    ask(context, Prompt("merchant", "apply_name"))
    await update.message.reply_text(t(lang, "merchant.ask_name"), parse_mode=ParseMode.HTML)


async def submit(
    update: Update, context: ReelcartContext, user: User, name: str, shop_url: str | None
) -> None:
    """Apply to sell as ``name`` and tell the admins; a name refused or taken is asked again."""
    assert update.message is not None
    lang = user.language
    try:
        merchant = await context.shop.merchants.apply(user.id, name, shop_url)
    except InvalidInput as exc:
        await update.message.reply_text(error_text(lang, exc))
        ask(context, Prompt("merchant", "apply_name"))
        return
    except NameTaken:
        await update.message.reply_text(t(lang, "merchant.name_taken"))
        ask(context, Prompt("merchant", "apply_name"))
        return
    except AlreadyMerchant:
        await update.message.reply_text(t(lang, "merchant.already"))
        return
    await update.message.reply_text(
        t(lang, "merchant.applied", name=html.escape(merchant.name)), parse_mode=ParseMode.HTML
    )
    await notify_application(context, merchant, user)


async def typed_application(
    update: Update, context: ReelcartContext, user: User, prompt: Prompt
) -> None:
    """The shop's name (then ask its link), or its link (then apply): ``prompt``'s answer."""
    message = update.message
    assert message is not None and message.text is not None
    lang = user.language
    if prompt.kind == "apply_name":
        try:
            name = parse_shop_name(message.text)
        except InvalidInput as exc:
            await message.reply_text(error_text(lang, exc))
            ask(context, Prompt("merchant", "apply_name"))
            return
        ask(context, Prompt("merchant", "apply_url", data=name))
        await message.reply_text(
            t(lang, "merchant.ask_url", name=html.escape(name)), parse_mode=ParseMode.HTML
        )
        return
    try:
        shop_url = parse_shop_url(message.text)
    except InvalidInput as exc:
        await message.reply_text(error_text(lang, exc))
        ask(context, prompt)
        return
    await submit(update, context, user, prompt.data, shop_url)
