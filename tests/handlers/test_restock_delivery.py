"""Restock alerts through the real Application and the sandbox: a 429 delays an alert, it
does not lose it, and nobody gets one twice. (How each Telegram error maps to an outcome is
tested once, at the adapter: ``test_messenger.py``.)"""

from __future__ import annotations

from reelcart.domain import EventKind, Reaction
from reelcart.handlers.kit.context import ReelcartContext
from reelcart.handlers.merchant.restock import deliver_restock_alerts
from reelcart.sandbox.limits import FloodControl
from reelcart.storage.events import add_event
from reelcart.storage.products import set_stock
from tests.handlers.conftest import Harness


class FloodBurst(FloodControl):
    """Telegram's flood control in a burst: the next ``times`` sends to ``chat_id`` are
    answered 429 "retry after 1"; everything else goes through."""

    def __init__(self, chat_id: int, times: int) -> None:
        super().__init__(None)
        self.chat_id = chat_id
        self.left = times

    def acquire(self, chat_id: int | None) -> int:
        if chat_id == self.chat_id and self.left:
            self.left -= 1
            return 1
        return 0


def restocked_for_a_liker(harness: Harness, user_id: int) -> int:
    """A shopper who likes the sold-out S3, which then comes back in stock."""
    db = harness.shop.db
    product_id = db.call(
        lambda store: store.db.execute("SELECT id FROM products WHERE sku = 'S3'").fetchone()[0]
    )
    db.call(add_event, Reaction(user_id, product_id, EventKind.LIKE, at=1.0))
    db.call(set_stock, product_id, 5)
    return int(product_id)


def alert_states(harness: Harness, user_id: int) -> list[str]:
    rows = harness.shop.db.call(
        lambda store: store.db.execute(
            "SELECT state FROM restock_alerts WHERE user_id = ?", [user_id]
        ).fetchall()
    )
    return [row[0] for row in rows]


async def test_a_restock_alert_that_meets_a_429_is_sent_later_and_once(harness: Harness) -> None:
    shopper = harness.user(3001)
    await shopper.send_command("/start")
    await shopper.wait_for()
    restocked_for_a_liker(harness, shopper.id)
    # More 429s in a row than python-telegram-bot's rate limiter retries (3): the last
    # one reaches reelcart's own code, as in a real burst.
    burst = FloodBurst(shopper.id, times=4)
    harness.server.state.flood = burst
    await deliver_restock_alerts(ReelcartContext(harness.application))
    assert burst.left == 0  # the burst really was met
    alerts = [m for m in shopper.messages if m.text.startswith("🔔 Back in stock")]
    assert len(alerts) == 1, [m.text for m in shopper.messages]
    assert "Court leather sneaker" in alerts[0].text
    assert alert_states(harness, shopper.id) == ["sent"]
    # A later run finds nothing left to send.
    await deliver_restock_alerts(ReelcartContext(harness.application))
    assert len([m for m in shopper.messages if m.text.startswith("🔔")]) == 1
