"""getUpdates and the webhook methods."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from reelcart.sandbox.dispatch import Call, Described, bot_method
from reelcart.sandbox.errors import WEBHOOK_CONFLICT, BotApiError
from reelcart.sandbox.files import is_loopback_url
from reelcart.sandbox.state import JSON
from reelcart.sandbox.updates import WebhookConfig

_SECRET = re.compile(r"[A-Za-z0-9_-]+")
_WEBHOOK_PORTS = (80, 88, 443, 8443)


def _allowed_updates(call: Call) -> list[str] | None:
    """Apply allowed_updates when given; an empty list restores the default set."""
    value = call.params.json("allowed_updates")
    if value is None:
        return call.state.updates.allowed_updates
    if not isinstance(value, list):
        raise BotApiError.bad_request("can't parse allowed_updates JSON object")
    call.state.updates.allowed_updates = [str(kind) for kind in value] or None
    return call.state.updates.allowed_updates


@bot_method("getUpdates")
async def get_updates(call: Call) -> list[JSON]:
    """getUpdates: confirm ``offset`` and long-poll up to ``timeout`` seconds (max 50)."""
    state = call.state
    if state.webhook is not None:
        raise BotApiError.conflict(WEBHOOK_CONFLICT)
    limit = min(100, max(1, call.params.integer("limit", 100) or 100))
    timeout = float(call.params.integer("timeout", 0) or 0)
    _allowed_updates(call)
    return await state.updates.poll(call.params.integer("offset"), limit, timeout)


def _check_webhook_url(url: str) -> None:
    """Telegram's rules (HTTPS on 443/80/88/8443); loopback URLs may be plain HTTP on any
    port, the one relaxation the sandbox needs to reach a local bot."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BotApiError.bad_request("bad webhook: invalid webhook URL specified") from None
    if not parts.hostname or parts.scheme not in ("http", "https"):
        raise BotApiError.bad_request("bad webhook: invalid webhook URL specified")
    if is_loopback_url(url):
        return
    if parts.scheme != "https":
        raise BotApiError.bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if (port or 443) not in _WEBHOOK_PORTS:
        raise BotApiError.bad_request(
            "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
        )
    raise BotApiError.bad_request(
        "bad webhook: the sandbox delivers webhooks to loopback hosts only"
    )


@bot_method("setWebhook")
async def set_webhook(call: Call) -> Described:
    """setWebhook; an empty url removes the webhook."""
    state = call.state
    params = call.params
    url = params.text("url").strip()
    if not url:
        return await delete_webhook(call)
    _check_webhook_url(url)
    secret = params.text("secret_token") or None
    if secret is not None:
        if len(secret) > 256:
            raise BotApiError.bad_request("secret token is too long")
        if not _SECRET.fullmatch(secret):
            raise BotApiError.bad_request("secret token contains unallowed characters")
    max_connections = min(100, max(1, params.integer("max_connections", 40) or 40))
    allowed = _allowed_updates(call)
    if params.flag("drop_pending_updates"):
        state.updates.clear()
    previous = state.webhook
    config = WebhookConfig(url, secret, max_connections, params.get("ip_address"), allowed)
    unchanged = previous is not None and (
        previous.url,
        previous.secret_token,
        previous.max_connections,
    ) == (url, secret, max_connections)
    if unchanged and previous is not None:
        # Keep the error history of an unchanged webhook, like Telegram does.
        config.last_error_date = previous.last_error_date
        config.last_error_message = previous.last_error_message
    state.webhook = config
    state.updates.changed.notify()  # wake the delivery loop
    return Described(True, "Webhook is already set" if unchanged else "Webhook was set")


@bot_method("deleteWebhook")
async def delete_webhook(call: Call) -> Described:
    """deleteWebhook; updates stay queued for getUpdates unless dropped."""
    state = call.state
    if call.params.flag("drop_pending_updates"):
        state.updates.clear()
    existed = state.webhook is not None
    state.webhook = None
    state.updates.changed.notify()
    return Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")


@bot_method("getWebhookInfo")
async def get_webhook_info(call: Call) -> dict[str, Any]:
    """getWebhookInfo."""
    state = call.state
    pending = state.updates.pending_count
    if state.webhook is None:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": pending}
    return state.webhook.info(pending)
