"""The update queue of the sandbox bot: long polling and webhook delivery.

Telegram keeps every update until the bot confirms it (``getUpdates`` with a higher
``offset``, or a 2xx answer from the webhook). Only one ``getUpdates`` may wait at a
time; a newer call terminates the older one with 409. While a webhook is set, updates
are POSTed to it in order, retried with backoff, and ``getUpdates`` is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from reelcart.sandbox.errors import POLL_CONFLICT, BotApiError

logger = logging.getLogger(__name__)

# Update types delivered when allowed_updates is empty or never set.
DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
MAX_POLL_TIMEOUT = 50.0
_HISTORY = 10_000  # delivered updates kept for duplicate redelivery


class Signal:
    """Wakes every coroutine waiting for "something changed"."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake all current waiters."""
        self._event.set()
        self._event = asyncio.Event()

    def waiter(self) -> asyncio.Event:
        """Take this before checking the condition, then wait on it."""
        return self._event


async def wait_signal(event: asyncio.Event, seconds: float) -> None:
    """Wait for ``event`` at most ``seconds``, without raising when time runs out."""
    if seconds <= 0:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


@dataclass
class _Pending:
    update_id: int
    kind: str
    body: dict[str, Any]
    # A duplicate delivery ignores the confirmed offset until it has been returned once.
    duplicate: bool = False
    returned: bool = False


@dataclass
class WebhookConfig:
    """What setWebhook stored."""

    url: str
    secret_token: str | None
    max_connections: int
    ip_address: str | None
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None
    set_at: float = field(default_factory=time.time)

    def info(self, pending: int) -> dict[str, Any]:
        """``WebhookInfo`` JSON."""
        data: dict[str, Any] = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": pending,
            "max_connections": self.max_connections,
        }
        if self.ip_address:
            data["ip_address"] = self.ip_address
        if self.last_error_date is not None:
            data["last_error_date"] = self.last_error_date
            data["last_error_message"] = self.last_error_message
        if self.allowed_updates is not None:
            data["allowed_updates"] = self.allowed_updates
        return data


class UpdateQueue:
    """Pending updates of the bot, in order, with Telegram's confirmation rules."""

    def __init__(self) -> None:
        self._pending: list[_Pending] = []
        self._history: OrderedDict[int, _Pending] = OrderedDict()
        # Telegram's update ids start at an arbitrary large number, not at 1.
        self._next_id = random.randint(100_000_000, 900_000_000)
        self.allowed_updates: list[str] | None = None
        self.changed = Signal()
        self._poll_abort: asyncio.Event | None = None
        self.closed = False

    @property
    def pending_count(self) -> int:
        """Updates not yet confirmed by the bot."""
        return len(self._pending)

    def accepts(self, kind: str) -> bool:
        """Whether the current allowed_updates setting lets ``kind`` through."""
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in DEFAULT_EXCLUDED

    def push(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update of ``kind``; return its update_id, or None if filtered out."""
        if not self.accepts(kind):
            logger.debug("update of type %s dropped by allowed_updates", kind)
            return None
        update_id = self._next_id
        self._next_id += 1
        pending = _Pending(update_id, kind, {"update_id": update_id, kind: payload})
        self._pending.append(pending)
        self._history[update_id] = pending
        while len(self._history) > _HISTORY:
            self._history.popitem(last=False)
        self.changed.notify()
        return update_id

    def redeliver(self, update_id: int) -> None:
        """Deliver an already queued or delivered update once more, same update_id."""
        original = self._history.get(update_id)
        if original is None:
            raise KeyError(f"update {update_id} is unknown or too old")
        self._pending.append(_Pending(update_id, original.kind, original.body, duplicate=True))
        self.changed.notify()

    def update(self, update_id: int) -> dict[str, Any] | None:
        """The JSON of a recent update, for inspection."""
        pending = self._history.get(update_id)
        return pending.body if pending else None

    def clear(self) -> None:
        """Forget every pending update (``drop_pending_updates``)."""
        self._pending.clear()
        self.changed.notify()

    def confirm(self, offset: int) -> None:
        """Forget updates below ``offset``; a negative offset keeps only the last -offset."""
        if offset < 0:
            keep = -offset
            self._pending = self._pending[-keep:] if keep else []
            return
        self._pending = [
            p for p in self._pending if p.update_id >= offset or (p.duplicate and not p.returned)
        ]

    def take(self, limit: int) -> list[dict[str, Any]]:
        """The first ``limit`` pending updates, still pending until confirmed."""
        batch = self._pending[:limit]
        for pending in batch:
            pending.returned = True
        return [p.body for p in batch]

    def head(self) -> _Pending | None:
        """The oldest pending update (for webhook delivery)."""
        return self._pending[0] if self._pending else None

    def drop_head(self, pending: _Pending) -> None:
        """Confirm one delivered update (the webhook answered 2xx)."""
        with contextlib.suppress(ValueError):
            self._pending.remove(pending)

    async def poll(
        self, offset: int | None, limit: int, wait_seconds: float
    ) -> list[dict[str, Any]]:
        """getUpdates: confirm ``offset``, then wait up to ``wait_seconds`` for updates.

        A second poll arriving while this one waits ends this one with 409 Conflict.
        """
        if offset is not None:
            self.confirm(offset)
        if self._poll_abort is not None:
            self._poll_abort.set()
        abort = asyncio.Event()
        self._poll_abort = abort
        try:
            deadline = time.monotonic() + min(max(wait_seconds, 0.0), MAX_POLL_TIMEOUT)
            while True:
                waiter = self.changed.waiter()
                if abort.is_set():
                    raise BotApiError.conflict(POLL_CONFLICT)
                if self._pending or self.closed:
                    return self.take(limit)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                aborted = asyncio.ensure_future(abort.wait())
                changed = asyncio.ensure_future(waiter.wait())
                try:
                    await asyncio.wait(
                        {aborted, changed},
                        timeout=remaining,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    aborted.cancel()
                    changed.cancel()
        finally:
            if self._poll_abort is abort:
                self._poll_abort = None

    def close(self) -> None:
        """Release every waiting poll (server shutdown)."""
        self.closed = True
        self.changed.notify()


WebhookReply = Callable[[dict[str, Any]], Awaitable[None]]
ConfigSource = Callable[[], "WebhookConfig | None"]


class WebhookDelivery:
    """POSTs pending updates to the webhook, oldest first, one at a time.

    Telegram may open up to ``max_connections`` parallel connections; the sandbox sends
    one update at a time so order is always preserved (a documented simplification).
    """

    def __init__(
        self,
        queue: UpdateQueue,
        session: aiohttp.ClientSession,
        config: ConfigSource,
        on_reply: WebhookReply,
        *,
        min_backoff: float = 0.05,
        max_backoff: float = 2.0,
    ) -> None:
        self.queue = queue
        self.session = session
        self.config = config
        self.on_reply = on_reply
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0

    def start(self) -> None:
        """Start the delivery loop (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="sandbox-webhook")

    async def stop(self) -> None:
        """Stop the delivery loop and wait for it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        backoff = self.min_backoff
        while True:
            waiter = self.queue.changed.waiter()
            config = self.config()
            pending = self.queue.head()
            if config is None or pending is None:
                await waiter.wait()
                continue
            if await self._post(config, pending):
                self.queue.drop_head(pending)
                backoff = self.min_backoff
                continue
            # Telegram retries with growing pauses; keep them short so tests stay fast.
            await wait_signal(waiter, backoff)
            backoff = min(self.max_backoff, backoff * 2)

    async def _post(self, config: WebhookConfig, pending: _Pending) -> bool:
        headers = {"Content-Type": "application/json"}
        if config.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = config.secret_token
        try:
            async with self.session.post(
                config.url,
                json=pending.body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=60),
            ) as response:
                if 200 <= response.status < 300:
                    self.delivered += 1
                    await self._maybe_reply(response)
                    return True
                error = f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = (
                "Connection refused"
                if isinstance(exc, aiohttp.ClientConnectorError)
                else f"Connection error: {exc}"
            )
        config.last_error_date = int(time.time())
        config.last_error_message = error
        logger.info("webhook delivery of update %s failed: %s", pending.update_id, error)
        return False

    async def _maybe_reply(self, response: aiohttp.ClientResponse) -> None:
        """Telegram executes a method call sent back as the webhook's response body."""
        if response.content_type != "application/json":
            return
        try:
            body = await response.json()
        except (ValueError, aiohttp.ContentTypeError):
            return
        if isinstance(body, dict) and isinstance(body.get("method"), str):
            try:
                await self.on_reply(body)
            except BotApiError as exc:
                logger.info("method in webhook reply failed: %s", exc.description)
