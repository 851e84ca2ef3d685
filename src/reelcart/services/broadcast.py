"""Broadcasts to every shopper, within Telegram's limits, resumable after a restart.

The delivery loop lives here, on the ``Messenger`` port: recipients are sent one at a time,
paced under ``rate`` messages per second (Telegram allows about 30 per second to different
chats), by the shared retry rule (``services.sending``: a message that certainly did not
arrive is sent again, one that may have is not). Each recipient's state is written before
and after its send, so a restart resumes where it stopped and nobody gets the message
twice (see ``storage.outbox``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from reelcart.domain import Broadcast, ReelcartError
from reelcart.services.messenger import Messenger, Outcome
from reelcart.services.sending import Pacer, delivery_state, send_patiently
from reelcart.storage import outbox
from reelcart.storage.worker import DatabaseWorker

log = logging.getLogger(__name__)

#: Messages per second a broadcast sends: under Telegram's ~30/s, leaving room for the feed.
DEFAULT_RATE = 20.0
#: Longest broadcast text (Telegram's limit for a text message).
MAX_TEXT = 4096


class EmptyBroadcast(ReelcartError):
    message_key = "admin.broadcast_empty"


class BroadcastTooLong(ReelcartError):
    message_key = "admin.broadcast_too_long"


Progress = Callable[[Broadcast], Awaitable[None]]


class BroadcastService:
    """Drafts, starts, delivers, stops and resumes broadcasts."""

    def __init__(self, db: DatabaseWorker, rate: float = DEFAULT_RATE) -> None:
        if not 0 < rate < 30:
            raise ValueError("a broadcast must stay under 30 messages per second")
        self.db = db
        self.rate = rate
        self._delivering: set[int] = set()

    async def audience(self) -> int:
        """How many shoppers a broadcast started now would reach."""
        return await self.db.run(outbox.reachable_users)

    async def draft(self, admin_id: int, text: str, language: str) -> int:
        """A draft to confirm. Raises EmptyBroadcast, BroadcastTooLong."""
        text = text.strip()
        if not text:
            raise EmptyBroadcast()
        if len(text) > MAX_TEXT:
            raise BroadcastTooLong()
        return await self.db.run(outbox.create_broadcast, admin_id, text, language)

    async def start(
        self, broadcast_id: int, chat_id: int, message_id: int, admin_id: int
    ) -> int | None:
        """Fix the recipients and mark it running; None if it was not a draft any more (a
        double tap, or cancelled)."""
        return await self.db.run(
            outbox.start_broadcast, broadcast_id, chat_id, message_id, admin_id
        )

    async def cancel(self, broadcast_id: int, admin_id: int) -> bool:
        return await self.db.run(outbox.cancel_broadcast, broadcast_id, admin_id)

    async def get(self, broadcast_id: int) -> Broadcast | None:
        return await self.db.run(outbox.get_broadcast, broadcast_id)

    async def interrupted(self) -> list[int]:
        """Broadcasts a previous run left running, made ready to resume: whoever was being
        sent to at the crash is not sent to again."""
        ids = await self.db.run(outbox.running_broadcasts)
        for broadcast_id in ids:
            if broadcast_id in self._delivering:
                continue
            settled = await self.db.run(outbox.settle_interrupted, broadcast_id)
            if settled:
                log.warning(
                    "broadcast %s: %d recipient(s) were being sent to when the bot stopped; "
                    "they are not sent to again",
                    broadcast_id,
                    settled,
                )
        return [i for i in ids if i not in self._delivering]

    async def deliver(
        self,
        broadcast_id: int,
        messenger: Messenger,
        progress: Progress,
        keep_going: Callable[[], bool] = lambda: True,
        pacer: Pacer | None = None,
    ) -> Broadcast | None:
        """Send to every pending recipient through ``messenger``, one at a time; return the
        final state, shown to ``progress`` after each recipient.

        Stops early (leaving the rest pending, to resume later) when ``keep_going()`` turns
        False, and when an admin cancels. Returns None if this process is delivering this
        broadcast already.
        """
        if broadcast_id in self._delivering:
            return None
        broadcast = await self.get(broadcast_id)
        if broadcast is None:
            return None
        self._delivering.add(broadcast_id)
        pacer = pacer or Pacer(self.rate)
        try:
            while keep_going():
                user_id = await self.db.run(outbox.claim_recipient, broadcast_id)
                if user_id is None:
                    break
                outcome = await self._send_one(broadcast, user_id, messenger, pacer, keep_going)
                state = delivery_state(outcome)
                await self.db.run(outbox.mark_recipient, broadcast_id, user_id, state)
                current = await self.get(broadcast_id)
                if current is not None:
                    await progress(current)
            else:
                log.info("broadcast %s paused: the bot is stopping", broadcast_id)
                return await self.get(broadcast_id)
            await self.db.run(outbox.finish_broadcast, broadcast_id)
            final = await self.get(broadcast_id)
            if final is not None:
                counts = ", ".join(f"{n} {state.value}" for state, n in final.counts.items() if n)
                log.info("broadcast %s finished: %s", broadcast_id, counts)
                await progress(final)
            return final
        finally:
            self._delivering.discard(broadcast_id)

    @staticmethod
    async def _send_one(
        broadcast: Broadcast,
        user_id: int,
        messenger: Messenger,
        pacer: Pacer,
        keep_going: Callable[[], bool],
    ) -> Outcome:
        # The admin's own words, as typed: plain text, not HTML.
        outcome = await send_patiently(
            lambda: messenger.send_text(user_id, broadcast.text, html=False),
            pacer,
            keep_going,
            what=f"broadcast {broadcast.id} to {user_id}",
        )
        if not outcome.ok:
            log.info(
                "broadcast %s to %s: %s (%s)",
                broadcast.id,
                user_id,
                outcome.status.value,
                outcome.detail,
            )
        return outcome
