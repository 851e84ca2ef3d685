"""What the admins see: applications, merchants, products waiting for a moderator, users,
and the audit log of what admins did."""

from __future__ import annotations

from dataclasses import dataclass

from reelcart.domain.people import Merchant
from reelcart.domain.products import Clip, Product


@dataclass(frozen=True)
class Application:
    """A merchant application waiting for an admin, with who sent it."""

    merchant: Merchant
    first_name: str
    username: str | None
    applied_at: float


@dataclass(frozen=True)
class MerchantSummary:
    """A merchant as the admin panel lists it."""

    merchant: Merchant
    products: int
    pending: int


@dataclass(frozen=True)
class ModerationItem:
    """A product waiting for a moderator, with what the flags are computed from."""

    product: Product
    merchant: Merchant
    clip: Clip | None
    category_prices: list[int]
    submitted_at: float


@dataclass(frozen=True)
class UserSummary:
    """A user as the admin panel shows them."""

    id: int
    first_name: str
    username: str | None
    known: bool
    banned: bool
    blocked: bool
    events: int


@dataclass(frozen=True)
class AuditEntry:
    """One admin action: who did what to which target, and when."""

    id: int
    admin_id: int
    action: str
    target_kind: str
    target_id: int | None
    detail: str
    at: float
