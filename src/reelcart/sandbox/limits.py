"""Flood control and answer deadlines of the sandbox.

Telegram does not publish exact flood limits. The FAQ says a bot should not send more than
about 30 messages per second overall and about one message per second to a single chat,
short bursts being tolerated; going over earns ``429 Too Many Requests: retry after N``.
The sandbox models both with token buckets so a bot that ignores ``retry_after`` is caught
in tests, and :class:`SandboxLimits` makes the numbers explicit and adjustable.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SandboxLimits:
    """Flood-control budget of the sandbox bot.

    ``messages_per_second``/``burst`` is the bot-wide bucket (all chats together);
    ``per_chat_per_second``/``per_chat_burst`` is one bucket per chat. Sends, copies,
    forwards and edits draw one token from both.
    """

    messages_per_second: float = 30.0
    burst: int = 30
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 20


@dataclass(frozen=True)
class QueryDeadlines:
    """Seconds a bot has to answer each kind of query before Telegram gives up on it.

    Pre-checkout's 10 s is documented; callback queries expire after about 15 s in
    practice; inline and shipping queries are given 10 s here.
    """

    callback: float = 15.0
    inline: float = 10.0
    shipping: float = 10.0
    pre_checkout: float = 10.0


@dataclass
class _Bucket:
    rate: float
    capacity: float
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for_token(self) -> float:
        """Seconds until one token is available (0 if one is available now)."""
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


class FloodControl:
    """Token buckets per bot and per chat; ``None`` limits switch flood control off."""

    def __init__(self, limits: SandboxLimits | None) -> None:
        self.limits = limits
        self._global: _Bucket | None = None
        if limits is not None:
            self._global = _Bucket(limits.messages_per_second, float(limits.burst))
        self._chats: dict[int, _Bucket] = {}

    def acquire(self, chat_id: int | None) -> int:
        """Take one token for a send to ``chat_id``; return 0, or the seconds to wait.

        When a token is missing nothing is taken, so a bot that waits ``retry_after`` and
        retries succeeds, just as with Telegram.
        """
        if self.limits is None or self._global is None:
            return 0
        now = time.monotonic()
        buckets = [self._global]
        if chat_id is not None:
            bucket = self._chats.get(chat_id)
            if bucket is None:
                bucket = _Bucket(self.limits.per_chat_per_second, float(self.limits.per_chat_burst))
                self._chats[chat_id] = bucket
            buckets.append(bucket)
        for bucket in buckets:
            bucket.refill(now)
        wait = max(bucket.wait_for_token() for bucket in buckets)
        if wait > 0:
            # Telegram reports whole seconds and never 0.
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.tokens -= 1.0
        return 0
