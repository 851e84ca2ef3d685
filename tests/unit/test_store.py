"""The data layer against a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reelcart.catalog.rows import CatalogRow, RowOutcome
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
from reelcart.storage.database import migrate, open_database
from reelcart.storage.store import Store


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
    merchant = store.merchant_by_name("acme")
    assert merchant is not None
    assert store.upsert_rows(merchant.id, [row("A"), row("B")]) == [RowOutcome.CREATED] * 2
    assert store.upsert_rows(merchant.id, [row("A"), row("B", price=6100)]) == [
        RowOutcome.UNCHANGED,
        RowOutcome.UPDATED,
    ]
    other = store.merchant_by_name("other")
    assert other is not None
    assert store.upsert_rows(other.id, [row("A")]) == [RowOutcome.CREATED]
    assert len(store.all_products()) == 3


def test_deleted_products_are_not_found(store: Store) -> None:
    merchant = store.merchant_by_name("acme")
    assert merchant is not None
    store.upsert_rows(merchant.id, [row("A")])
    product = store.all_products()[0]
    store.set_status(product.id, ProductStatus.DELETED)
    with pytest.raises(ProductNotFound):
        store.get_product(product.id)


def test_language_follows_telegram_until_chosen(store: Store) -> None:
    user, new = store.touch_user(7, "Ana", None, "fr-FR")
    assert new and user.language is Language.FR
    store.set_language(7, Language.EN)
    user, new = store.touch_user(7, "Ana", None, "fr")
    assert not new and user.language is Language.EN


def test_likes_respect_unlikes_newest_first(store: Store) -> None:
    for product_id, kind in [(1, EventKind.LIKE), (2, EventKind.LIKE), (1, EventKind.UNLIKE),
                             (3, EventKind.LIKE)]:  # fmt: skip
        store.add_event(Reaction(9, product_id, kind, at=1.0))
    assert store.liked_product_ids(9) == [3, 2]


def test_a_card_is_answered_only_once(store: Store) -> None:
    card_id = store.create_card(5, Pick(1, ReasonKind.POPULAR), 1000.0)
    assert store.answer_card(card_id) is True
    assert store.answer_card(card_id) is False


def test_clip_file_id_is_kept_for_the_same_source_and_forgotten_for_a_new_one(store: Store) -> None:
    merchant = store.merchant_by_name("acme")
    assert merchant is not None
    store.upsert_rows(merchant.id, [row("A")])
    pid = store.all_products()[0].id
    store.set_clip(Clip(pid, "/clips/a.mp4"))
    store.cache_file_id(pid, "/clips/a.mp4", "FILE1")
    store.set_clip(Clip(pid, "/clips/a.mp4", duration=3))
    clip = store.get_clip(pid)
    assert clip is not None and clip.file_id == "FILE1"
    store.set_clip(Clip(pid, "/clips/b.mp4"))
    clip = store.get_clip(pid)
    assert clip is not None and clip.file_id is None


def test_vectors_round_trip(store: Store) -> None:
    vector = np.arange(4, dtype=np.float32)
    store.save_vectors("m", [(1, "h1", vector), (2, "h2", vector * 2)])
    found = store.get_vectors("m", [1, 2, 3])
    assert set(found) == {1, 2}
    assert found[2][0] == "h2"
    np.testing.assert_array_equal(found[2][1], vector * 2)
    ids, matrix = store.all_vectors("m")
    assert ids.tolist() == [1, 2] and matrix.shape == (2, 4)
    assert store.get_vectors("other-model", [1]) == {}
