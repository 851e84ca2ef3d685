"""The event log and the feed's cards.

Events are appended, never updated or deleted: the ranking's state is rebuilt from them on
start. A card is one product shown to one shopper, in one message, answered once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from reelcart.domain import EventKind, Pick, Reaction, ReasonKind
from reelcart.storage.store import Store, rows


def add_event(store: Store, reaction: Reaction, card_id: int | None = None) -> int:
    """Append one event to the log; events are never updated or deleted.

    Plain SQL rather than ``Table.insert``: every swipe writes here, and sqlite-utils
    looks the table up and builds the statement anew each time.
    """
    cursor = store.db.execute(
        "INSERT INTO events (user_id, product_id, kind, dwell_ms, card_id, at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            reaction.user_id,
            reaction.product_id,
            reaction.kind.value,
            reaction.dwell_ms,
            card_id,
            reaction.at or time.time(),
        ],
    )
    assert cursor.lastrowid is not None
    return int(cursor.lastrowid)


def add_shop_click(store: Store, reaction: Reaction, window: float) -> bool:
    """Record a shop click unless the same shopper's click on the same product was
    recorded less than ``window`` seconds before it; returns whether it was recorded.
    (Check and insert are one call on the database thread, so two at once count once.)
    """
    recent = store.db.execute(
        "SELECT 1 FROM events WHERE user_id = ? AND kind = ? AND product_id = ? AND at > ? LIMIT 1",
        [
            reaction.user_id,
            EventKind.SHOP_CLICK.value,
            reaction.product_id,
            reaction.at - window,
        ],
    ).fetchone()
    if recent is not None:
        return False
    add_event(store, reaction)
    return True


def iter_events(store: Store, batch: int = 10_000) -> Iterator[Reaction]:
    """The whole log in order, to rebuild the ranking's state on start."""
    last = 0
    while True:
        page = store.db.execute(
            "SELECT id, user_id, product_id, kind, dwell_ms, at FROM events "
            "WHERE id > ? ORDER BY id LIMIT ?",
            [last, batch],
        ).fetchall()
        if not page:
            return
        for _id, user_id, product_id, kind, dwell_ms, at in page:
            yield Reaction(user_id, product_id, EventKind(kind), dwell_ms, at)
        last = page[-1][0]


def liked_product_ids(store: Store, user_id: int, limit: int = 50) -> list[int]:
    """Products the user likes now (a later unlike cancels a like), newest first."""
    sql = (
        "SELECT product_id, kind FROM events WHERE user_id = ? AND kind IN ('like', 'unlike') "
        "ORDER BY id"
    )
    state: dict[int, bool] = {}
    for product_id, kind in store.db.execute(sql, [user_id]).fetchall():
        state.pop(product_id, None)
        state[product_id] = kind == EventKind.LIKE.value
    liked = [pid for pid, on in state.items() if on]
    liked.reverse()
    return liked[:limit]


# -- cards --------------------------------------------------------------------------------


def create_card(
    store: Store,
    user_id: int,
    pick: Pick,
    shown_at: float,
    chat_id: int | None = None,
    message_id: int | None = None,
) -> int:
    """A new card row (plain SQL, as ``add_event``: one per swipe); ``shown_at`` is when
    its dwell time starts, by the feed's clock."""
    cursor = store.db.execute(
        "INSERT INTO cards (user_id, product_id, reason, because_product_id, "
        "because_interest, chat_id, message_id, shown_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            user_id,
            pick.product_id,
            pick.reason.value,
            pick.because_product_id,
            pick.because_interest,
            chat_id,
            message_id,
            shown_at,
        ],
    )
    assert cursor.lastrowid is not None
    return int(cursor.lastrowid)


def get_card(store: Store, card_id: int) -> dict | None:
    found = rows(store, "SELECT * FROM cards WHERE id = ?", [card_id])
    return found[0] if found else None


def card_pick(card: dict) -> Pick:
    """The pick a card row was made from."""
    return Pick(
        product_id=card["product_id"],
        reason=ReasonKind(card["reason"]),
        because_product_id=card["because_product_id"],
        because_interest=card["because_interest"],
    )


def set_card_message(
    store: Store, card_id: int, chat_id: int, message_id: int, shown_at: float
) -> None:
    """The card went into this message at ``shown_at`` (the feed's clock)."""
    store.db.execute(
        "UPDATE cards SET chat_id = ?, message_id = ?, shown_at = ? WHERE id = ?",
        [chat_id, message_id, shown_at, card_id],
    )


def answer_card(store: Store, card_id: int) -> bool:
    """Mark a card answered; False if it already was (a button pressed twice)."""
    cursor = store.db.execute(
        "UPDATE cards SET answered_at = ? WHERE id = ? AND answered_at IS NULL",
        [time.time(), card_id],
    )
    return cursor.rowcount == 1


def latest_card(store: Store, user_id: int) -> dict | None:
    found = rows(store, "SELECT * FROM cards WHERE user_id = ? ORDER BY id DESC LIMIT 1", [user_id])
    return found[0] if found else None
