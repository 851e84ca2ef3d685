"""Fixtures for the embedding tests: a real SQLite file and a countable encoder."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from reelcart.domain import Money, Product, ProductKind
from reelcart.domain.catalog import CatalogRow
from reelcart.embeddings.encoder import HashingEncoder
from reelcart.storage.merchants import merchant_by_name
from reelcart.storage.products import all_products, upsert_rows
from reelcart.storage.store import Store
from reelcart.storage.worker import DatabaseWorker


class CountingEncoder(HashingEncoder):
    """The hashing encoder, remembering every text it was asked to encode."""

    def __init__(self, dim: int = 32) -> None:
        super().__init__(dim)
        self.texts: list[str] = []
        self.calls = 0

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        self.calls += 1
        self.texts.extend(texts)
        return super().encode(texts, batch_size)


CATALOG = [
    ("SHOE-1", "Trail running shoes", "Grippy shoes for mud", ("running", "trail"), "shoes"),
    ("SHOE-2", "Road running shoes", "Cushioned shoes for long road runs", ("running",), "shoes"),
    ("SHOE-3", "Leather boots", "Brown leather ankle boots", ("boots",), "shoes"),
    ("COF-1", "Espresso beans", "Dark roast arabica beans", ("coffee",), "coffee"),
    ("COF-2", "Pour-over kettle", "Gooseneck kettle for coffee", ("coffee", "brewing"), "coffee"),
    ("BOOK-1", "Sci-fi novel", "A space opera paperback", ("books",), "books"),
]


Item = tuple[str, str, str, tuple[str, ...], str]


def catalog_rows(items: Sequence[Item] = CATALOG) -> list[CatalogRow]:
    """Catalog rows for (sku, title, description, hashtags, category) items."""
    return [
        CatalogRow(
            line=line,
            sku=sku,
            title=title,
            description=description,
            price=Money(1500, "EUR"),
            stock=10,
            hashtags=tags,
            category=category,
            kind=ProductKind.PHYSICAL,
        )
        for line, (sku, title, description, tags, category) in enumerate(items, start=2)
    ]


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[DatabaseWorker]:
    db = DatabaseWorker(tmp_path / "x.db")
    yield db
    db.close()


@pytest.fixture
def products(worker: DatabaseWorker) -> list[Product]:
    """The small catalog above, stored in the database."""

    def load(store: Store) -> list[Product]:
        merchant = merchant_by_name(store, "Trailhead")
        assert merchant is not None
        upsert_rows(store, merchant.id, catalog_rows())
        return all_products(store)

    return worker.call(load)


@pytest.fixture
def encoder() -> CountingEncoder:
    return CountingEncoder()
