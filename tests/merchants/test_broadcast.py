"""Broadcasts on a real database with a fake sender: pace, 429s, blocks, crashes, resumes."""

from __future__ import annotations

import pytest

from reelcart.catalog import backoffice, messaging
from reelcart.catalog.messaging import BroadcastStatus, Delivery
from reelcart.catalog.store import Store
from reelcart.services.broadcast import (
    BroadcastService,
    BroadcastTooLong,
    EmptyBroadcast,
    Pacer,
    RetryLater,
)
from tests.merchants.conftest import ADMIN, Back


class Sender:
    """Records every send; users in ``blocked`` refuse, ``flood`` answers 429 once each."""

    def __init__(self, blocked: set[int] | None = None, flood: set[int] | None = None) -> None:
        self.sent: list[int] = []
        self.blocked = blocked or set()
        self.flood = flood or set()

    async def __call__(self, user_id: int, text: str) -> Delivery:
        if user_id in self.flood:
            self.flood.discard(user_id)
            raise RetryLater(0.01)
        if user_id in self.blocked:
            return Delivery.BLOCKED
        self.sent.append(user_id)
        return Delivery.SENT


async def no_progress(broadcast: object) -> None:
    return None


def people(back: Back, *ids: int) -> None:
    for user_id in ids:
        back.shop.db.call(Store.touch_user, user_id, f"U{user_id}", None, "en")


async def started(back: Back, service: BroadcastService, text: str = "Sale!") -> int:
    broadcast_id = await service.draft(ADMIN, text, "en")
    assert await service.start(broadcast_id, ADMIN, 1, ADMIN) is not None
    return broadcast_id


async def test_every_reachable_user_gets_it_once_and_blocked_ones_are_marked(back: Back) -> None:
    people(back, *range(1, 11))
    back.shop.db.call(backoffice.set_banned, 2, True, ADMIN)
    back.shop.db.call(backoffice.set_blocked, 3, True)
    service = BroadcastService(back.shop.db, rate=25)
    assert await service.audience() == 8
    broadcast_id = await started(back, service)
    assert await service.start(broadcast_id, ADMIN, 1, ADMIN) is None  # a double tap
    sender = Sender(blocked={7}, flood={5})
    final = await service.deliver(broadcast_id, sender, no_progress)
    assert final is not None and final.status is BroadcastStatus.DONE
    assert sorted(sender.sent) == [1, 4, 5, 6, 8, 9, 10]  # 5 retried after its 429, once
    assert final.counts[Delivery.SENT] == 7 and final.counts[Delivery.BLOCKED] == 1
    assert back.value("SELECT blocked_at IS NOT NULL FROM user_flags WHERE user_id = 7") == 1
    assert await service.audience() == 7


async def test_a_crash_mid_send_resumes_without_sending_anyone_twice(back: Back) -> None:
    people(back, *range(1, 21))
    first = BroadcastService(back.shop.db, rate=25)
    broadcast_id = await started(back, first)
    sender = Sender()
    stop_after = 6

    def keep_going() -> bool:
        return len(sender.sent) < stop_after

    paused = await first.deliver(broadcast_id, sender, no_progress, keep_going)
    assert paused is not None and paused.status is BroadcastStatus.RUNNING
    # The crash: one more recipient was claimed ("sending") when the process died.
    in_flight = back.shop.db.call(messaging.claim_recipient, broadcast_id)
    assert in_flight is not None
    second = BroadcastService(back.shop.db, rate=25)  # a new process
    assert await second.interrupted() == [broadcast_id]
    final = await second.deliver(broadcast_id, sender, no_progress)
    assert final is not None and final.status is BroadcastStatus.DONE
    assert len(sender.sent) == len(set(sender.sent)) == 19  # nobody twice
    assert in_flight not in sender.sent  # maybe got it before the crash: never again
    assert final.counts[Delivery.UNKNOWN] == 1 and final.counts[Delivery.SENT] == 19


async def test_a_cancelled_broadcast_stops_and_skips_the_rest(back: Back) -> None:
    people(back, *range(1, 6))
    service = BroadcastService(back.shop.db, rate=25)
    broadcast_id = await started(back, service)
    sender = Sender()

    async def cancel_after_two(current: messaging.Broadcast) -> None:
        if current.counts[Delivery.SENT] == 2:
            await service.cancel(broadcast_id, ADMIN)

    final = await service.deliver(broadcast_id, sender, cancel_after_two)
    assert final is not None and final.status is BroadcastStatus.CANCELLED
    assert len(sender.sent) == 2 and final.counts[Delivery.SKIPPED] == 3
    actions = [row[0] for row in back.sql("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["broadcast.start", "broadcast.stop"]


async def test_the_pacer_keeps_under_the_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(20.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(21):
        await pacer.wait()
    assert abs(now[0] - 1.0) < 1e-9  # 21 sends take a second: 20 intervals of 50 ms
    pacer.hold(3.0)
    await pacer.wait()
    assert abs(now[0] - 4.0) < 1e-9
    assert all(s > 0 for s in slept)


@pytest.mark.parametrize(
    ("text", "error"), [("   ", EmptyBroadcast), ("x" * 5000, BroadcastTooLong)]
)
async def test_drafts_are_checked(back: Back, text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        await BroadcastService(back.shop.db).draft(ADMIN, text, "en")
