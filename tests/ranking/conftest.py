"""A synthetic catalog with a known geometry, for contract tests of the ranking.

Each category has a random centre; its products are scattered around it (cosine about 0.6
to each other, about 0 to other categories), which is roughly what the real model gives for
product texts. Near-copies of a product can be added on demand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from reelcart.domain import EventKind, Money, Pick, Product, ProductKind, Reaction
from reelcart.embeddings.index import VectorIndex
from reelcart.ranking.hybrid import HybridRecommender

DIM = 32
CATEGORIES = ("shoes", "coffee", "books", "games", "garden")


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


@dataclass
class World:
    """Products, their vectors in a real VectorIndex, and who is in which category."""

    seed: int = 0
    spread: float = 0.8
    index: VectorIndex = field(default_factory=lambda: VectorIndex(DIM))
    products: dict[int, Product] = field(default_factory=dict)
    by_category: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.centres = {c: _unit(self.rng.normal(size=DIM)) for c in CATEGORIES}

    def add(
        self,
        category: str,
        *,
        near: int | None = None,
        hashtags: tuple[str, ...] = (),
        stock: int = 5,
    ) -> Product:
        pid = len(self.products) + 1
        if near is not None:
            base = self.index.vector(near)
            assert base is not None
            vector = _unit(base + self.rng.normal(scale=0.1 / np.sqrt(DIM), size=DIM))
        else:
            noise = self.rng.normal(scale=self.spread / np.sqrt(DIM), size=DIM)
            vector = _unit(self.centres[category] + noise)
        product = Product(
            id=pid,
            merchant_id=1,
            sku=f"SKU-{pid}",
            title=f"{category} #{pid}",
            description="",
            price=Money(1000, "EUR"),
            stock=stock,
            hashtags=hashtags or (category,),
            category=category.title(),  # matching is case-insensitive
            kind=ProductKind.PHYSICAL,
        )
        self.products[pid] = product
        self.by_category.setdefault(category, []).append(pid)
        self.index.upsert([pid], vector[None, :])
        return product

    def fill(self, per_category: int) -> World:
        for category in CATEGORIES:
            for _ in range(per_category):
                self.add(category)
        return self

    def category(self, product_id: int) -> str:
        return self.products[product_id].category.lower()

    def recommender(self, discovery_rate: float = 0.0, seed: int = 1) -> HybridRecommender:
        rec = HybridRecommender(self.index, discovery_rate=discovery_rate, seed=seed)
        rec.load_products(self.products.values())
        return rec


def swipe(
    rec: HybridRecommender, user_id: int, kind: EventKind = EventKind.SKIP, dwell_ms: int = 1500
) -> Pick:
    """What the feed service does for one card: pick, show (impression), react.

    The default is a plain skip after half of a 3 s clip: a neutral signal.
    """
    pick = rec.next_pick(user_id)
    assert pick is not None
    rec.observe(Reaction(user_id, pick.product_id, EventKind.IMPRESSION))
    rec.observe(Reaction(user_id, pick.product_id, kind, dwell_ms))
    return pick


def react(rec: HybridRecommender, user_id: int, product_id: int, kind: EventKind) -> None:
    """A reaction on a product the shopper opened themselves (search, a shared link)."""
    rec.observe(Reaction(user_id, product_id, EventKind.IMPRESSION))
    rec.observe(Reaction(user_id, product_id, kind, 2000))


@pytest.fixture
def world() -> World:
    return World().fill(20)
