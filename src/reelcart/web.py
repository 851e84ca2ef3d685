"""reelcart's own HTTP server (aiohttp): ``/healthz``, the Telegram webhook endpoint and the
tracked shop links ``/go/<token>``.

It knows nothing of Telegram's types: the webhook route checks the secret header and hands
the JSON update to a callback supplied by ``bot.py``; the shop-link route asks a callback
where a token leads (it records the click) and redirects there.

Telegram redelivers an update until the webhook answers 2xx, and holds the updates behind
it meanwhile. So the webhook answers 200 for an update that can never be handled (the sink
raises ``UnusableUpdate``: logged and dropped), and 503 only for "not now"
(``RetryLater``: the bot is stopping, its queue is full), when a later delivery will work.
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


class UnusableUpdate(Exception):
    """Raised by an update sink for an update that no retry will make usable."""


class RetryLater(Exception):
    """Raised by an update sink that cannot take an update now, but will later."""


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
    """Accept an update from Telegram; 403 without the right secret; 200 for an update
    taken, or dropped as unusable (not JSON, not an update, unreadable); 503 (Telegram
    retries) while it cannot be taken."""
    secret = request.app.get(SECRET)
    if secret is None:
        raise web.HTTPNotFound()
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        log.warning("webhook call with a wrong secret token from %s", request.remote)
        raise web.HTTPForbidden()
    # Past the secret, the caller is Telegram: anything but 2xx would be sent again.
    try:
        update = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        log.warning("webhook: a body that is not JSON dropped")
        return web.Response(text="dropped: not JSON")
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        log.warning("webhook: JSON that is not a Telegram update dropped")
        return web.Response(text="dropped: not a Telegram update")
    try:
        await request.app[SINK](update)
    except UnusableUpdate as exc:
        log.warning("webhook: update %s dropped: %s", update["update_id"], exc)
        return web.Response(text="dropped")
    except RetryLater as exc:
        log.info("webhook: update %s refused for now: %s", update["update_id"], exc)
        raise web.HTTPServiceUnavailable(text=str(exc), headers={"Retry-After": "5"}) from None
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
    log.debug("HTTP server listening on %s:%s", host, port)
    return runner
