"""The restock-alert worker on a real database, with a fake at the services' port to
Telegram: each alert goes once, a 429 delays it, a block or an unanswered send settles it."""

from __future__ import annotations

from reelcart.domain import EventKind
from reelcart.services.messenger import Button, Outcome
from reelcart.services.restock import RestockAlerts
from reelcart.storage.products import set_stock
from tests.fake_messenger import FakeMessenger
from tests.merchants.conftest import Back


def restocked(back: Back, *likers: int) -> int:
    """Sencha (sold out) is liked by ``likers``, then comes back in stock."""
    merchant = back.merchant(301, "Stocky", trusted=True)
    sencha = back.upload(merchant)["T2"]
    for user_id in likers:
        back.react(user_id, sencha, EventKind.LIKE)
    back.shop.db.call(set_stock, sencha, 4)  # the restock is recorded by a trigger
    return sencha


def states(back: Back) -> dict[int, str]:
    return dict(back.sql("SELECT user_id, state FROM restock_alerts"))


async def test_each_liker_is_told_once_whatever_telegram_answers(back: Back) -> None:
    sencha = restocked(back, 11, 12, 13, 14)
    messenger = FakeMessenger()
    messenger.script[11] = [Outcome.retry_later(0.01, "429"), Outcome.retry_later(0.02, "5xx")]
    messenger.script[12] = [Outcome.blocked("bot was blocked by the user")]
    messenger.script[13] = [Outcome.unknown("read timeout")]  # it may have arrived
    messenger.script[14] = [Outcome.failed("chat not found")]
    alerts = RestockAlerts(back.shop.merchants, messenger)
    assert await alerts.deliver() == 1
    assert states(back) == {11: "sent", 12: "blocked", 13: "unknown", 14: "failed"}
    tries = [sent.user_id for sent in messenger.requests]
    assert sorted(tries) == [11, 11, 11, 12, 13, 14]  # only what did not arrive, again
    [text] = messenger.to(11)
    assert text.startswith("🔔 Back in stock: <b>Sencha green tea</b>")
    buttons = next(sent.buttons for sent in messenger.requests if sent.outcome.ok)
    assert [[button.callback_data for button in row] for row in buttons] == [[f"p:{sencha}"]]
    assert isinstance(buttons[0][0], Button)
    assert back.value("SELECT blocked_at IS NOT NULL FROM user_flags WHERE user_id = 12") == 1
    assert await alerts.deliver() == 0  # nothing left, nobody told twice
    assert len(messenger.requests) == 6


async def test_a_stop_while_waiting_out_a_429_leaves_the_alert_due(back: Back) -> None:
    restocked(back, 21, 22)
    messenger = FakeMessenger()
    messenger.script[21] = [Outcome.retry_later(0.01, "429")]
    alerts = RestockAlerts(back.shop.merchants, messenger)

    def running() -> bool:  # the bot stops while 21's 429 is waited out
        return not messenger.requests

    assert await alerts.deliver(running) == 0
    assert states(back) == {21: "pending", 22: "pending"}
    assert await alerts.deliver() == 2  # the next start
    assert sorted(who for who, _text in messenger.delivered) == [21, 22]


async def test_an_alert_a_stop_cut_short_is_never_sent_again(back: Back) -> None:
    restocked(back, 31)
    [claimed] = await back.shop.merchants.due_restock_alerts(limit=1)  # "sending", then a crash
    messenger = FakeMessenger()
    alerts = RestockAlerts(back.shop.merchants, messenger)
    assert await alerts.settle() == 1
    assert await alerts.deliver() == 0
    assert claimed.user_id == 31 and states(back) == {31: "unknown"}
    assert messenger.requests == []
