"""One error handler: log with the traceback, tell the user politely, never show a traceback.

A tap is never answered twice: Telegram refuses a second answer, and the first one (a
toast such as "Saved to your likes") was true. When the tap was answered, a network fault
that came after it is only logged (the work was done, or the next tap finishes it); any
other error is told in the chat instead.
"""

from __future__ import annotations

import html
import logging

from telegram import Update
from telegram.error import Forbidden

from reelcart.domain import Language, Money, ReelcartError
from reelcart.handlers.kit.context import (
    ReelcartApplication,
    ReelcartContext,
    answer_query,
    is_transient,
    was_answered,
)
from reelcart.i18n import format_price, t

log = logging.getLogger(__name__)


def error_text(language: Language, error: ReelcartError, *, escape: bool = False) -> str:
    """A domain error as the person reads it: its ``message_key`` in their language, the
    placeholders filled from its ``params`` (prices formatted; HTML-escaped if asked)."""
    params: dict[str, object] = {}
    for name, value in error.params.items():
        if isinstance(value, Money):
            value = format_price(value, language)
        params[name] = html.escape(str(value)) if escape else value
    return t(language, error.message_key, **params)


async def on_error(update: object, context: ReelcartContext) -> None:
    """Log the failure; answer the user in their language if there is a user to answer."""
    error = context.error
    if isinstance(error, Forbidden):
        log.info("user blocked the bot: %s", error)
        return
    if not isinstance(update, Update):
        log.error("error while handling an update", exc_info=error)
        return
    query = update.callback_query
    answered = query is not None and was_answered(context, query)
    if answered and error is not None and is_transient(error):
        log.warning("network fault after the tap was answered: %s", error)
        return
    log.error("error while handling an update", exc_info=error)
    language = Language.EN
    if update.effective_user is not None and context.bot_data.shop is not None:
        try:
            user = await context.shop.feed.user(update.effective_user.id)
            language = user.language if user else language
        except Exception:  # the store itself may be what failed
            log.debug("could not read the user's language", exc_info=True)
    if isinstance(error, ReelcartError):
        text = error_text(language, error)
    else:
        text = t(language, "error.generic")
    try:
        if query is not None and not answered:
            await answer_query(context, query, text, show_alert=True)
        elif update.effective_chat is not None and update.effective_chat.type == "private":
            await context.bot.send_message(update.effective_chat.id, text)
    except Exception:
        log.warning("could not tell the user about the error", exc_info=True)


def register(application: ReelcartApplication) -> None:
    """Add the one error handler."""
    application.add_error_handler(on_error)
