"""Who uses the shop: shoppers (``User``) and the merchants who sell on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Language(StrEnum):
    """The languages reelcart speaks."""

    EN = "en"
    FR = "fr"

    @classmethod
    def from_code(cls, code: str | None) -> Language:
        """French for any ``fr*`` Telegram language code, English otherwise."""
        if code and code.lower().startswith("fr"):
            return cls.FR
        return cls.EN


@dataclass(frozen=True)
class User:
    id: int
    first_name: str = ""
    language: Language = Language.EN
    interests: tuple[str, ...] = field(default_factory=tuple)
    onboarded: bool = False


class MerchantState(StrEnum):
    """A merchant's application: applied, then approved or rejected by an admin."""

    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Merchant:
    """A shop selling on reelcart. Only approved, non-suspended merchants run their catalog;
    a trusted merchant's products skip the moderation queue."""

    id: int
    name: str
    shop_url: str | None = None
    owner_user_id: int | None = None
    state: MerchantState = MerchantState.APPROVED
    trusted: bool = True
    suspended: bool = False

    @property
    def active(self) -> bool:
        """Approved and not suspended: may use the merchant commands."""
        return self.state is MerchantState.APPROVED and not self.suspended
