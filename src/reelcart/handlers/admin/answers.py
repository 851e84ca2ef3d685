"""Typed answers to the admin panel's questions: a rejection reason, a user to look up, a
broadcast."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from reelcart.handlers.admin import broadcasts, moderation, users
from reelcart.handlers.kit.context import ReelcartContext, shopper
from reelcart.handlers.kit.prompts import take_prompt


async def typed_answer(update: Update, context: ReelcartContext) -> None:
    """Text that answers an admin question; anything else goes on to the next handlers."""
    prompt = take_prompt(context, "admin")
    if prompt is None:
        return
    message = update.message
    assert message is not None and message.text is not None
    user = await shopper(update, context)
    if not context.shop.admin.is_admin(user.id):
        return
    text = message.text.strip()
    if prompt.kind == "reason":
        await moderation.typed_reason(update, context, user, prompt, text)
    elif prompt.kind == "user":
        await users.typed_user(message, context, user, prompt, text)
    elif prompt.kind == "broadcast":
        await broadcasts.typed_broadcast(update, context, user, prompt, message.text)
    raise ApplicationHandlerStop
