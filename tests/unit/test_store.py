"""The data layer against a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reelcart.domain import (
    Clip,
    EventKind,
    Language,
    Money,
    Pick,
    ProductKind,
    ProductNotFound,
    ProductStatus,
    Reaction,
    ReasonKind,
)
from reelcart.domain.catalog import CatalogRow, RowOutcome
from reelcart.storage.database import migrate, open_database
from reelcart.storage.events import add_event, answer_card, create_card, liked_product_ids
from reelcart.storage.merchants import merchant_by_name
from reelcart.storage.products import (
    all_products,
    cache_file_id,
    get_clip,
    get_product,
    set_clip,
    set_product_status,
    upsert_rows,
)
from reelcart.storage.store import Store
from reelcart.storage.users import set_language, touch_user
from reelcart.storage.vectors import all_vectors, get_vectors, save_vectors


def row(sku: str, title: str = "Trail shoe", price: int = 5900, stock: int = 3) -> CatalogRow:
    return CatalogRow(
        line=2, sku=sku, title=title, description="Grippy", price=Money(price, "EUR"),
        stock=stock, hashtags=("running",), category="sneakers", kind=ProductKind.PHYSICAL,
        shop_url="https://shop.example/p/" + sku,
    )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(open_database(tmp_path / "shop.db"))


def test_a_new_file_is_in_wal_mode_and_migrations_run_once(tmp_path: Path) -> None:
    db = open_database(tmp_path / "a.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert migrate(db) == []
    assert {"users", "products", "clips", "events", "cards"} <= set(db.table_names())


def test_upsert_by_merchant_and_sku_reports_each_outcome(store: Store) -> None:
    merchant = merchant_by_name(store, "acme")
    assert merchant is not None
    assert upsert_rows(store, merchant.id, [row("A"), row("B")]) == [RowOutcome.CREATED] * 2
    assert upsert_rows(store, merchant.id, [row("A"), row("B", price=6100)]) == [
        RowOutcome.UNCHANGED,
        RowOutcome.UPDATED,
    ]
    other = merchant_by_name(store, "other")
    assert other is not None
    assert upsert_rows(store, other.id, [row("A")]) == [RowOutcome.CREATED]
    assert len(all_products(store)) == 3


def test_deleted_products_are_not_found(store: Store) -> None:
    merchant = merchant_by_name(store, "acme")
    assert merchant is not None
    upsert_rows(store, merchant.id, [row("A")])
    product = all_products(store)[0]
    set_product_status(store, product.id, ProductStatus.DELETED)
    with pytest.raises(ProductNotFound):
        get_product(store, product.id)


def test_language_follows_telegram_until_chosen(store: Store) -> None:
    user, new = touch_user(store, 7, "Ana", None, "fr-FR")
    assert new and user.language is Language.FR
    set_language(store, 7, Language.EN)
    user, new = touch_user(store, 7, "Ana", None, "fr")
    assert not new and user.language is Language.EN


def test_likes_respect_unlikes_newest_first(store: Store) -> None:
    for product_id, kind in [(1, EventKind.LIKE), (2, EventKind.LIKE), (1, EventKind.UNLIKE),
                             (3, EventKind.LIKE)]:  # fmt: skip
        add_event(store, Reaction(9, product_id, kind, at=1.0))
    assert liked_product_ids(store, 9) == [3, 2]


def test_a_card_is_answered_only_once(store: Store) -> None:
    card_id = create_card(store, 5, Pick(1, ReasonKind.POPULAR), 1000.0)
    assert answer_card(store, card_id) is True
    assert answer_card(store, card_id) is False


def test_clip_file_id_is_kept_for_the_same_source_and_forgotten_for_a_new_one(store: Store) -> None:
    merchant = merchant_by_name(store, "acme")
    assert merchant is not None
    upsert_rows(store, merchant.id, [row("A")])
    pid = all_products(store)[0].id
    set_clip(store, Clip(pid, "/clips/a.mp4"))
    cache_file_id(store, pid, "/clips/a.mp4", "FILE1")
    set_clip(store, Clip(pid, "/clips/a.mp4", duration=3))
    clip = get_clip(store, pid)
    assert clip is not None and clip.file_id == "FILE1"
    set_clip(store, Clip(pid, "/clips/b.mp4"))
    clip = get_clip(store, pid)
    assert clip is not None and clip.file_id is None


def test_vectors_round_trip(store: Store) -> None:
    vector = np.arange(4, dtype=np.float32)
    save_vectors(store, "m", [(1, "h1", vector), (2, "h2", vector * 2)])
    found = get_vectors(store, "m", [1, 2, 3])
    assert set(found) == {1, 2}
    assert found[2][0] == "h2"
    np.testing.assert_array_equal(found[2][1], vector * 2)
    ids, matrix = all_vectors(store, "m")
    assert ids.tolist() == [1, 2] and matrix.shape == (2, 4)
    assert get_vectors(store, "other-model", [1]) == {}
