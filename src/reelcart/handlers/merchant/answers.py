"""Typed answers to the merchant's questions: the shop's name and link, a price, a stock."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from reelcart.handlers.kit.context import ReelcartContext, shopper
from reelcart.handlers.kit.prompts import take_prompt
from reelcart.handlers.merchant import onboarding, products


async def typed_answer(update: Update, context: ReelcartContext) -> None:
    """Text that answers a merchant question (shop name, link, price, stock); anything else
    goes on to the next handler group."""
    prompt = take_prompt(context, "merchant")
    if prompt is None:
        return  # not for us: the next handler group takes it
    message = update.message
    assert message is not None and message.text is not None
    user = await shopper(update, context)
    if prompt.kind in ("apply_name", "apply_url"):
        await onboarding.typed_application(update, context, user, prompt)
    elif prompt.kind in ("price", "stock"):
        merchant = await onboarding.merchant_or_refuse(update, context, user)
        if merchant is not None:
            await products.typed_value(message, context, merchant, prompt, user.language)
    raise ApplicationHandlerStop
