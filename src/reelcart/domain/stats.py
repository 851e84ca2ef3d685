"""What the data says: a period's counts per product, per day and per creator."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Metrics:
    """Counts over a period for one product, or a whole shop."""

    impressions: int = 0
    likes: int = 0
    dwell_total_ms: int = 0
    dwell_count: int = 0
    shop_clicks: int = 0
    shares: int = 0
    purchases: int = 0
    revenue: dict[str, int] = field(default_factory=dict)
    referral_clicks: int = 0
    referred_purchases: int = 0

    @property
    def avg_dwell_ms(self) -> int | None:
        """Mean time a card stayed on screen before the shopper swiped it."""
        return round(self.dwell_total_ms / self.dwell_count) if self.dwell_count else None

    @property
    def conversion(self) -> float | None:
        """Purchases per impression."""
        return self.purchases / self.impressions if self.impressions else None

    def add(self, other: Metrics) -> None:
        for name in (
            "impressions",
            "likes",
            "dwell_total_ms",
            "dwell_count",
            "shop_clicks",
            "shares",
            "purchases",
            "referral_clicks",
            "referred_purchases",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for currency, minor in other.revenue.items():
            self.revenue[currency] = self.revenue.get(currency, 0) + minor


@dataclass(frozen=True)
class ProductMetrics:
    product_id: int
    title: str
    deleted: bool
    metrics: Metrics


@dataclass(frozen=True)
class DayPoint:
    """One day of the trend (``day`` counts from the start of the period)."""

    day: int
    impressions: int
    likes: int
    purchases: int


@dataclass(frozen=True)
class CreatorMetrics:
    creator_id: int
    name: str
    clicks: int
    purchases: int


@dataclass(frozen=True)
class ShopCounts:
    """Whole-shop numbers for the admins."""

    users: int
    new_users: int
    active_users: int
    merchants: int
    applications: int
    pending_products: int
    orders: int


@dataclass(frozen=True)
class StatsReport:
    """Statistics of one merchant (or the whole shop) over ``[since, until)``."""

    since: float
    until: float
    days: int
    overall: Metrics
    products: list[ProductMetrics]
    daily: list[DayPoint]
    creators: list[CreatorMetrics]
    purchases_from: str
    shop: ShopCounts | None = None
