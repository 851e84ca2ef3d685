"""Fixtures for the catalog tests: a real SQLite file behind the database thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reelcart.catalog.importer import CatalogImporter
from reelcart.domain import Product
from reelcart.storage.worker import DatabaseWorker

DEMO_DATA = Path(__file__).resolve().parents[2] / "src" / "reelcart" / "demo_data"


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[DatabaseWorker]:
    db = DatabaseWorker(tmp_path / "c.db")
    yield db
    db.close()


class ChangedLog:
    """Records what the importer hands to the embedding pipeline."""

    def __init__(self) -> None:
        self.calls: list[list[Product]] = []

    def __call__(self, products: list[Product], progress: object) -> None:
        self.calls.append(list(products))


@pytest.fixture
def changed() -> ChangedLog:
    return ChangedLog()


@pytest.fixture
def importer(worker: DatabaseWorker, changed: ChangedLog) -> CatalogImporter:
    return CatalogImporter(worker, on_changed=changed)
