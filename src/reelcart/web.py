"""reelcart's own HTTP server (aiohttp): ``/healthz`` and the Telegram webhook endpoint.

It knows nothing of Telegram's types: the webhook route checks the secret header and hands
the JSON update to a callback supplied by ``bot.py``.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

UpdateSink = Callable[[dict[str, Any]], Awaitable[None]]
HealthProbe = Callable[[], Awaitable[dict[str, Any]]]
HEALTH: web.AppKey[HealthProbe] = web.AppKey("health")
SINK: web.AppKey[UpdateSink] = web.AppKey("sink")
SECRET = web.AppKey("secret", str)


async def healthz(request: web.Request) -> web.Response:
    """200 with a small JSON status while the bot runs."""
    status = await request.app[HEALTH]()
    return web.json_response({"ok": True, **status})


async def webhook(request: web.Request) -> web.Response:
    """Accept an update from Telegram; 403 without the right secret, 400 for non-JSON."""
    secret = request.app.get(SECRET)
    if secret is None:
        raise web.HTTPNotFound()
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        log.warning("webhook call with a wrong secret token from %s", request.remote)
        raise web.HTTPForbidden()
    try:
        update = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="not JSON") from None
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        raise web.HTTPBadRequest(text="not a Telegram update")
    await request.app[SINK](update)
    return web.Response(text="ok")


def make_app(
    health: Callable[[], Awaitable[dict[str, Any]]],
    sink: UpdateSink | None = None,
    secret: str | None = None,
) -> web.Application:
    """The HTTP app; the webhook route answers only when a sink and secret are given."""
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[HEALTH] = health
    if sink is not None and secret is not None:
        app[SINK] = sink
        app[SECRET] = secret
    app.router.add_get("/healthz", healthz)
    app.router.add_post(WEBHOOK_PATH, webhook)
    return app


async def start_server(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving ``app``; the caller cleans the runner up on shutdown."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    log.info("HTTP server listening on %s:%s", host, port)
    return runner
