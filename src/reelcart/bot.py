"""Builds the python-telegram-bot Application and runs it (polling or webhook).

``serve`` is what ``reelcart run`` calls: it checks the token with the Bot API, opens the
shop, starts the HTTP server, talks to Telegram (or any Bot API base, such as the sandbox)
and stops gracefully on SIGINT or SIGTERM, finishing every update in flight before the
database closes. What an operator can get wrong (the token, the API base, the port, the
model, the webhook URL) stops it with a ``ConfigError`` that says so in one line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import time
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes

from reelcart import web
from reelcart.config import ConfigError, Settings
from reelcart.handlers import register_all
from reelcart.handlers.admin.menus import show_admin_menus
from reelcart.handlers.kit.context import BotData, ReelcartApplication, ReelcartBot, ReelcartContext
from reelcart.handlers.kit.menus import set_everyone_menu
from reelcart.handlers.kit.messenger import TelegramMessenger
from reelcart.handlers.telegram_api.payment_journal import PaymentJournalRequest, journal_update
from reelcart.handlers.telegram_api.transport import AiohttpRequest
from reelcart.services.fulfilment import Crash, never_crash
from reelcart.services.opening import open_shop
from reelcart.services.shop import Shop

log = logging.getLogger(__name__)


class MissingToken(ConfigError):
    """``reelcart run`` needs REELCART_BOT_TOKEN (and REELCART_PUBLIC_URL with --webhook)."""


def _rate_limiter(send_rate: float) -> AIORateLimiter:
    """Telegram's flood limits, kept on our side: ``send_rate`` messages per second across
    chats (REELCART_SEND_RATE; 0 lifts that cap), 20 per minute in a group, and up to three
    retries after a 429. Private chats have no per-chat cap: a swipe is a reply to a tap."""
    if send_rate <= 0:  # no overall limiter; the server's 429s are still waited out
        return AIORateLimiter(overall_max_rate=0, max_retries=3)
    return AIORateLimiter(overall_max_rate=send_rate, overall_time_period=1, max_retries=3)


def crash_hook(point: str | None) -> Crash:
    """REELCART_TEST_CRASH (tests of crash recovery only): the payment's crash point that
    ends the process at ``point`` at once (exit status 70), as a power cut would."""
    if point is None:
        return never_crash

    def crash(at: str) -> None:
        if at == point:
            log.critical("REELCART_TEST_CRASH: exiting %s", at.replace("_", " "))
            os._exit(70)

    return crash


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
    register_all(application)
    return application


async def set_commands(application: ReelcartApplication) -> None:
    """The command menu in English (default) and French; admins' chats also get /admin
    (approved merchants get theirs when they are approved)."""
    await set_everyone_menu(application.bot)
    await show_admin_menus(application)


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


async def connect(application: ReelcartApplication, settings: Settings) -> None:
    """Initialize the application: ``getMe`` checks the token and the Bot API base.

    Raises ConfigError (naming the variable, never showing the token) if the Bot API
    refuses the token, cannot be reached or answers with an error.
    """
    try:
        await application.initialize()
    except TelegramError as exc:
        await application.bot.shutdown()  # its connections were opened before getMe
        if isinstance(exc, InvalidToken):
            problem = (
                f"REELCART_BOT_TOKEN: the Bot API at {settings.api_root} refused the token "
                "(copy it again from @BotFather)"
            )
        elif isinstance(exc, NetworkError):
            problem = (
                f"REELCART_API_BASE: no answer from the Bot API at {settings.api_root} "
                f"({exc.message})"
            )
        else:
            problem = (
                f"REELCART_API_BASE: the Bot API at {settings.api_root} answered getMe with "
                f"an error ({exc.message})"
            )
        if settings.bot_token:
            problem = problem.replace(settings.bot_token, "<token>")
        raise ConfigError(problem) from None


async def serve(settings: Settings, *, webhook: bool = False, shop: Shop | None = None) -> None:
    """Run the bot until SIGINT/SIGTERM.

    Raises MissingToken without a token (or without a public URL for ``webhook``), and
    ConfigError for a token the Bot API refuses, an API base that does not answer, a model
    that does not load, an HTTP port that is taken or a webhook URL Telegram refuses.
    """
    application = build_application(settings)
    if webhook and not settings.public_url:
        raise MissingToken("webhook mode needs REELCART_PUBLIC_URL")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    # The token first: a typo should not wait for the model to load.
    await connect(application, settings)
    try:
        if shop is None:
            shop = await asyncio.to_thread(open_shop, settings)
    except BaseException:
        await application.shutdown()
        raise
    application.bot_data.shop = shop
    shop.connect(TelegramMessenger(application.bot), crash=crash_hook(settings.test_crash))
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
    ran = False
    try:
        async with application:  # initialized already; shut down on the way out
            await set_commands(application)
            try:
                runner = await web.start_server(http, settings.http_host, settings.http_port)
            except OSError as exc:
                where = f"{settings.http_host}:{settings.http_port}"
                raise ConfigError(
                    f"REELCART_HTTP_PORT: cannot serve HTTP on {where} ({exc.strerror or exc})"
                ) from None
            try:
                if webhook:
                    url = f"{settings.public_url}{web.WEBHOOK_PATH}"
                    try:
                        await application.bot.set_webhook(
                            url, secret_token=secret, allowed_updates=Update.ALL_TYPES
                        )
                    except TelegramError as exc:
                        raise ConfigError(
                            f"REELCART_PUBLIC_URL: the Bot API refused the webhook {url} "
                            f"({exc.message})"
                        ) from None
                    mode = f"webhook at {url}"
                else:
                    await application.bot.delete_webhook()
                    assert application.updater is not None
                    await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
                    mode = "long polling"
                await application.start()
                ran = True
                log.info(
                    "reelcart is running as @%s (%s; HTTP on %s:%s; %d products)",
                    application.bot.username,
                    mode,
                    settings.http_host,
                    settings.http_port,
                    shop.product_count(),
                )
                await stop.wait()
                log.debug("stopping: finishing updates in flight")
                if not webhook and application.updater is not None:
                    await application.updater.stop()
            finally:
                # Stop taking webhook calls first, then let the application drain its queue.
                await runner.cleanup()
                if application.running:
                    await application.stop()
    finally:
        await asyncio.to_thread(shop.close)
        if ran:
            log.info("reelcart stopped")
