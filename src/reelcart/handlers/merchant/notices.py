"""What a merchant's doings tell the admins: a new application, products waiting for moderation."""

from __future__ import annotations

import html

from reelcart.domain import Language, Merchant, User
from reelcart.handlers.kit.callbacks import ADMIN
from reelcart.handlers.kit.context import ReelcartContext
from reelcart.handlers.kit.messenger import outbox
from reelcart.i18n import t
from reelcart.services.messenger import Button


def application_text(lang: Language, merchant: Merchant, applicant: str, user_id: int) -> str:
    """A merchant application as the admins read it (the notice, the admin panel)."""
    return t(
        lang,
        "admin.application",
        name=html.escape(merchant.name),
        url=html.escape(merchant.shop_url or "—"),
        applicant=html.escape(applicant),
        user_id=user_id,
    )


def application_buttons(lang: Language, merchant_id: int) -> list[Button]:
    """Approve / Reject, in one row, under an application."""
    return [
        Button(t(lang, "admin.btn_approve"), ADMIN.data("app", merchant_id, 1)),
        Button(t(lang, "admin.btn_reject"), ADMIN.data("app", merchant_id, 0)),
    ]


async def notify_application(context: ReelcartContext, merchant: Merchant, user: User) -> None:
    """A new merchant application reaches every admin with Approve / Reject."""
    name = user.first_name or str(user.id)
    await outbox(context).notices.to_admins(
        lambda lang: application_text(lang, merchant, name, user.id),
        lambda lang: [application_buttons(lang, merchant.id)],
    )


async def notify_admins_pending(context: ReelcartContext, merchant: Merchant, count: int) -> None:
    """Tell the admins that products wait in the moderation queue."""
    await outbox(context).notices.to_admins(
        lambda lang: t(lang, "admin.new_pending", count=count, merchant=html.escape(merchant.name)),
        lambda lang: [[Button(t(lang, "admin.btn_open_queue"), ADMIN.data("qm", merchant.id))]],
    )
