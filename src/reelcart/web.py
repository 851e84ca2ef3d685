"""reelcart's own HTTP server (aiohttp): ``/healthz``, the Telegram webhook endpoint and the
tracked shop links ``/go/<token>``.

It knows nothing of Telegram's types: the webhook route checks the secret header and hands
the JSON update to a callback supplied by ``bot.py``; the shop-link route asks a callback
where a token leads (it records the click) and redirects there.
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
# (token, count the click?) -> where to redirect, or None for a bad token.
ShopLinkResolver = Callable[[str, bool], Awaitable[str | None]]
HEALTH: web.AppKey[HealthProbe] = web.AppKey("health")
SINK: web.AppKey[UpdateSink] = web.AppKey("sink")
SECRET = web.AppKey("secret", str)
SHOP_LINKS: web.AppKey[ShopLinkResolver] = web.AppKey("shop_links")


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


async def shop_link(request: web.Request) -> web.Response:
    """302 to the product's shop (the click is counted); 404 for a tampered token.

    Only a GET counts: a HEAD (link checkers) is redirected without recording anything.
    """
    resolve = request.app.get(SHOP_LINKS)
    if resolve is None:
        raise web.HTTPNotFound()
    target = await resolve(request.match_info["token"], request.method == "GET")
    if target is None:
        raise web.HTTPNotFound(text="This link is not valid.")
    raise web.HTTPFound(target, headers={"Cache-Control": "no-store"})


def make_app(
    health: Callable[[], Awaitable[dict[str, Any]]],
    sink: UpdateSink | None = None,
    secret: str | None = None,
    shop_links: ShopLinkResolver | None = None,
) -> web.Application:
    """The HTTP app; the webhook route answers only when a sink and secret are given, the
    shop links only with a resolver."""
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[HEALTH] = health
    if sink is not None and secret is not None:
        app[SINK] = sink
        app[SECRET] = secret
    if shop_links is not None:
        app[SHOP_LINKS] = shop_links
    app.router.add_get("/healthz", healthz)
    app.router.add_post(WEBHOOK_PATH, webhook)
    app.router.add_get("/go/{token}", shop_link)
    return app


async def start_server(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving ``app``; the caller cleans the runner up on shutdown."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    log.info("HTTP server listening on %s:%s", host, port)
    return runner
