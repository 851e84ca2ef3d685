"""Builds the python-telegram-bot Application and runs it (polling or webhook).

``serve`` is what ``reelcart run`` calls: it opens the shop, starts the HTTP server, talks
to Telegram (or any Bot API base, such as the sandbox) and stops gracefully on SIGINT or
SIGTERM, finishing every update in flight before the database closes.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import time
from typing import Any

from telegram import BotCommand, BotCommandScopeAllPrivateChats, Update
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes

from reelcart import handlers, web
from reelcart.config import Settings
from reelcart.domain import Language
from reelcart.handlers.context import BotData, ReelcartApplication, ReelcartBot, ReelcartContext
from reelcart.handlers.payment_journal import PaymentJournalRequest, journal_update
from reelcart.handlers.transport import AiohttpRequest
from reelcart.i18n import t
from reelcart.services.shop import Shop

log = logging.getLogger(__name__)

COMMANDS = (
    "feed", "search", "likes", "orders", "basket", "lang", "start", "help", "merchant",
    "mydata", "forget",
)  # fmt: skip


class MissingToken(RuntimeError):
    """``reelcart run`` needs REELCART_BOT_TOKEN."""


def _rate_limiter(send_rate: float) -> AIORateLimiter:
    """Telegram's flood limits, kept on our side: ``send_rate`` messages per second across
    chats (REELCART_SEND_RATE; 0 lifts that cap), 20 per minute in a group, and up to three
    retries after a 429. Private chats have no per-chat cap: a swipe is a reply to a tap."""
    if send_rate <= 0:  # no overall limiter; the server's 429s are still waited out
        return AIORateLimiter(overall_max_rate=0, max_retries=3)
    return AIORateLimiter(overall_max_rate=send_rate, overall_time_period=1, max_retries=3)


def build_application(settings: Settings) -> ReelcartApplication:
    """The Application with every handler registered; the shop is attached by ``serve``."""
    if not settings.bot_token:
        raise MissingToken("set REELCART_BOT_TOKEN (from @BotFather) or use `reelcart demo`")
    context_types = ContextTypes(context=ReelcartContext, bot_data=BotData)
    # getUpdates journals successful payments before they are confirmed (payment_journal).
    journal = PaymentJournalRequest.for_polling(read_timeout=35)
    application: ReelcartApplication = (
        ApplicationBuilder()
        .bot(
            ReelcartBot(
                settings.bot_token,
                base_url=f"{settings.api_root}/bot",
                base_file_url=f"{settings.api_root}/file/bot",
                request=AiohttpRequest(connections=32),
                get_updates_request=journal,
                rate_limiter=_rate_limiter(settings.send_rate),
            )
        )
        .context_types(context_types)
        .concurrent_updates(64)
        .build()
    )
    journal.bind(application)
    handlers.register_all(application)
    return application


async def set_commands(application: ReelcartApplication) -> None:
    """The command menu in English (default) and French; admins' chats also get /admin
    (approved merchants get theirs when they are approved)."""
    bot = application.bot
    scope = BotCommandScopeAllPrivateChats()
    for language in Language:
        commands = [BotCommand(name, t(language, f"cmd.{name}")) for name in COMMANDS]
        code = None if language is Language.EN else language.value
        await bot.set_my_commands(commands, scope=scope, language_code=code)
    await handlers.admin.show_admin_menus(application)


def webhook_sink(application: ReelcartApplication, stopping: asyncio.Event) -> web.UpdateSink:
    """What the webhook endpoint does with an update's JSON: journal a payment, then queue
    the update for the application.

    Raises ``web.RetryLater`` once ``stopping`` is set or when the queue is full (Telegram
    delivers it again later), ``web.UnusableUpdate`` for JSON python-telegram-bot cannot
    read as an update (no delivery ever will). A failure to journal a payment propagates:
    the webhook answers 500 and Telegram retries, so a payment is never confirmed unsaved.
    """

    async def accept(data: dict[str, Any]) -> None:
        if stopping.is_set():
            raise web.RetryLater("the bot is stopping")
        # A payment is journaled before the webhook answers (that answer confirms it).
        await journal_update(application, data)
        try:
            update = Update.de_json(data, application.bot)
        except Exception as exc:  # whatever the library trips on in a malformed update
            reason = f"python-telegram-bot cannot read it ({type(exc).__name__}: {exc})"
            raise web.UnusableUpdate(reason) from exc
        try:
            application.update_queue.put_nowait(update)
        except asyncio.QueueFull:
            raise web.RetryLater("the update queue is full") from None

    return accept


async def serve(settings: Settings, *, webhook: bool = False, shop: Shop | None = None) -> None:
    """Run the bot until SIGINT/SIGTERM. Raises MissingToken without a token."""
    application = build_application(settings)
    if webhook and not settings.public_url:
        raise MissingToken("webhook mode needs REELCART_PUBLIC_URL")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    if shop is None:
        shop = await asyncio.to_thread(Shop.open, settings)
    application.bot_data.shop = shop
    started = time.time()

    async def health() -> dict[str, Any]:
        return {
            "ready": application.running,
            "mode": "webhook" if webhook else "polling",
            "uptime_s": round(time.time() - started, 1),
            "products": shop.product_count(),
        }

    secret = settings.webhook_secret or secrets.token_urlsafe(32)
    http = web.make_app(
        health,
        webhook_sink(application, stop) if webhook else None,
        secret if webhook else None,
        shop_links=shop.links.follow,
    )
    try:
        async with application:
            await set_commands(application)
            runner = await web.start_server(http, settings.http_host, settings.http_port)
            try:
                if webhook:
                    url = f"{settings.public_url}{web.WEBHOOK_PATH}"
                    await application.bot.set_webhook(
                        url, secret_token=secret, allowed_updates=Update.ALL_TYPES
                    )
                    log.info("webhook set to %s", url)
                else:
                    await application.bot.delete_webhook()
                    assert application.updater is not None
                    await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
                await application.start()
                log.info("reelcart is running as @%s", application.bot.username)
                await stop.wait()
                log.info("stopping: finishing updates in flight")
                if not webhook and application.updater is not None:
                    await application.updater.stop()
            finally:
                # Stop taking webhook calls first, then let the application drain its queue.
                await runner.cleanup()
                if application.running:
                    await application.stop()
    finally:
        await asyncio.to_thread(shop.close)
        log.info("reelcart stopped")
