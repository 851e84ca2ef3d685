"""Broadcasts on a real database with a fake messenger (the services' port to Telegram):
pace, 429s, blocks, crashes, resumes, and the retry rule every worker shares."""

from __future__ import annotations

import pytest

from reelcart.domain import Broadcast, BroadcastStatus, Delivery
from reelcart.services.broadcast import BroadcastService, BroadcastTooLong, EmptyBroadcast
from reelcart.services.messenger import Outcome
from reelcart.services.sending import MAX_ATTEMPTS, Pacer
from reelcart.storage import outbox
from reelcart.storage.users import set_banned, set_blocked, touch_user
from tests.fake_messenger import FakeMessenger
from tests.merchants.conftest import ADMIN, Back


class Sender(FakeMessenger):
    """Records every send; users in ``blocked`` refuse, ``flood`` answers 429 once each,
    ``gone`` never answer (the request may have arrived), ``down`` meet Telegram's 5xx once."""

    def __init__(
        self,
        blocked: set[int] | None = None,
        flood: set[int] | None = None,
        gone: set[int] | None = None,
        down: set[int] | None = None,
    ) -> None:
        super().__init__()
        self.blocked = blocked or set()
        self.flood = flood or set()
        self.gone = gone or set()
        self.down = down or set()

    def answer(self, user_id: int) -> Outcome:
        if self.script[user_id]:
            return super().answer(user_id)
        if user_id in self.flood:
            self.flood.discard(user_id)
            return Outcome.retry_later(0.01, "429")
        if user_id in self.down:
            self.down.discard(user_id)
            return Outcome.retry_later(0.0, "Bad Gateway")
        if user_id in self.blocked:
            return Outcome.blocked()
        if user_id in self.gone:
            return Outcome.unknown("read timeout")
        return Outcome.sent()

    @property
    def sent(self) -> list[int]:
        return [user_id for user_id, _text in self.delivered]


async def no_progress(broadcast: object) -> None:
    return None


def people(back: Back, *ids: int) -> None:
    for user_id in ids:
        back.shop.db.call(touch_user, user_id, f"U{user_id}", None, "en")


async def started(back: Back, service: BroadcastService, text: str = "Sale!") -> int:
    broadcast_id = await service.draft(ADMIN, text, "en")
    assert await service.start(broadcast_id, ADMIN, 1, ADMIN) is not None
    return broadcast_id


async def test_every_reachable_user_gets_it_once_and_blocked_ones_are_marked(back: Back) -> None:
    people(back, *range(1, 11))
    back.shop.db.call(set_banned, 2, True, ADMIN)
    back.shop.db.call(set_blocked, 3, True)
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
    in_flight = back.shop.db.call(outbox.claim_recipient, broadcast_id)
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

    async def cancel_after_two(current: Broadcast) -> None:
        if current.counts[Delivery.SENT] == 2:
            await service.cancel(broadcast_id, ADMIN)

    final = await service.deliver(broadcast_id, sender, cancel_after_two)
    assert final is not None and final.status is BroadcastStatus.CANCELLED
    assert len(sender.sent) == 2 and final.counts[Delivery.SKIPPED] == 3
    actions = [row[0] for row in back.sql("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["broadcast.start", "broadcast.stop"]


class VirtualTime:
    """A pacer's clock and sleep that move without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds

    def pacer(self, rate: float = 25.0) -> Pacer:
        return Pacer(rate, clock=self.clock, sleep=self.sleep)


async def test_only_what_certainly_did_not_arrive_is_sent_again(back: Back) -> None:
    people(back, *range(1, 7))
    service = BroadcastService(back.shop.db, rate=25)
    broadcast_id = await started(back, service)
    # 2 meets Telegram's 5xx once; 3's request leaves and no answer comes back; 4 is
    # answered 429 every time.
    sender = Sender(down={2}, gone={3})
    sender.script[4] = [Outcome.retry_later(7.0, "429")] * MAX_ATTEMPTS
    time = VirtualTime()
    final = await service.deliver(broadcast_id, sender, no_progress, pacer=time.pacer())
    assert final is not None and final.status is BroadcastStatus.DONE
    assert sender.sent == [1, 2, 5, 6]  # 2 sent again after the 5xx, once
    tries = [sent.user_id for sent in sender.requests]
    assert tries.count(2) == 2 and tries.count(3) == 1  # maybe arrived: never again
    assert tries.count(4) == MAX_ATTEMPTS  # then given up
    assert final.counts[Delivery.SENT] == 4 and final.counts[Delivery.UNKNOWN] == 1
    assert final.counts[Delivery.FAILED] == 1
    assert time.now >= MAX_ATTEMPTS * 7.0  # every 429's retry_after waited out


async def test_a_stop_while_waiting_out_a_429_leaves_that_recipient_due(back: Back) -> None:
    people(back, *range(1, 5))
    first = BroadcastService(back.shop.db, rate=25)
    broadcast_id = await started(back, first)
    sender = Sender(flood={2})

    def keep_going() -> bool:  # the bot stops while 2's 429 is waited out
        return 2 not in [sent.user_id for sent in sender.requests]

    paused = await first.deliver(
        broadcast_id, sender, no_progress, keep_going, pacer=VirtualTime().pacer()
    )
    assert paused is not None and paused.status is BroadcastStatus.RUNNING
    assert paused.counts[Delivery.PENDING] == 3 and sender.sent == [1]
    second = BroadcastService(back.shop.db, rate=25)  # the next start
    assert await second.interrupted() == [broadcast_id]
    final = await second.deliver(broadcast_id, sender, no_progress, pacer=VirtualTime().pacer())
    assert final is not None and final.counts[Delivery.SENT] == 4
    assert sender.sent == [1, 2, 3, 4]


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
