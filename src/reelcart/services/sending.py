"""The rules every service worker sends by: a steady pace under Telegram's limits, the one
retry rule, and what an outcome leaves in the database.

Retry rule (restock alerts and broadcasts alike): a message that certainly did not arrive
(``RETRY_LATER``: a 429, Telegram's 5xx, no connection) is sent again after the wait
Telegram asked for, up to ``MAX_ATTEMPTS`` times; anything else is final. A message that
may have arrived (``UNKNOWN``) is never sent again: nobody gets one twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from reelcart.domain import Delivery
from reelcart.services.messenger import Outcome, Status

log = logging.getLogger(__name__)

#: A message that met this many "retry later" answers in a row is given up (failed).
MAX_ATTEMPTS = 5
#: The wait before sending again when Telegram did not say how long.
DEFAULT_WAIT = 1.0

_STATES = {
    Status.SENT: Delivery.SENT,
    Status.BLOCKED: Delivery.BLOCKED,
    Status.RETRY_LATER: Delivery.PENDING,
    Status.FAILED: Delivery.FAILED,
    Status.UNKNOWN: Delivery.UNKNOWN,
}


def delivery_state(outcome: Outcome) -> Delivery:
    """Where a message stands after ``outcome``: PENDING (send it again later) when it
    certainly did not arrive, otherwise the outcome itself."""
    return _STATES[outcome.status]


class Pacer:
    """Spaces sends at most ``rate`` per second (a steady rate, no bursts)."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0

    async def wait(self) -> None:
        """Return when the next send may go."""
        now = self._clock()
        if self._next > now:
            await self._sleep(self._next - now)
            now = self._clock()
        self._next = max(now, self._next) + self.interval

    def hold(self, seconds: float) -> None:
        """Nothing more for ``seconds`` (after a 429)."""
        self._next = max(self._next, self._clock() + seconds)


async def send_patiently(
    send: Callable[[], Awaitable[Outcome]],
    pacer: Pacer,
    keep_going: Callable[[], bool] = lambda: True,
    *,
    what: str = "message",
    attempts: int = MAX_ATTEMPTS,
) -> Outcome:
    """Call ``send`` at the pacer's rate until it ends in anything but RETRY_LATER, waiting
    what Telegram asks between tries.

    Returns the last outcome: RETRY_LATER if ``keep_going()`` turned False while waiting
    (the message stays due), FAILED after ``attempts`` tries.
    """
    for attempt in range(1, attempts + 1):
        await pacer.wait()
        outcome = await send()
        if outcome.status is not Status.RETRY_LATER:
            return outcome
        wait = outcome.retry_after or DEFAULT_WAIT
        log.warning(
            "%s not delivered (%s), attempt %d: again in %.0f s",
            what,
            outcome.detail,
            attempt,
            wait,
        )
        pacer.hold(wait)
        if not keep_going():
            return outcome
    return Outcome.failed(f"not delivered after {attempts} attempts")
