"""Products that exist only for the ranking: an id, a category, a merchant and a title.

The evaluations and the benchmarks rank synthetic or borrowed catalogs (MovieLens movies,
simulated categories, a million clustered vectors); the ``HybridRecommender`` needs a ``Product``
for each, and only these fields of it matter to the ranking.
"""

from __future__ import annotations

from reelcart.domain import Money, Product, ProductKind


def stand_in(
    product_id: int,
    category: str,
    *,
    merchant_id: int = 1,
    title: str = "",
    stock: int = 100,
    kind: ProductKind = ProductKind.PHYSICAL,
) -> Product:
    """An active, approved, in-stock product priced 10 EUR, with an SKU of its id."""
    return Product(
        id=product_id,
        merchant_id=merchant_id,
        sku=str(product_id),
        title=title or f"product {product_id}",
        description="",
        price=Money(1000, "EUR"),
        stock=stock,
        hashtags=(),
        category=category,
        kind=kind,
    )
