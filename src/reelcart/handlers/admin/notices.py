"""What the admins' decisions tell merchants and shoppers."""

from __future__ import annotations

from reelcart.handlers.kit.context import ReelcartContext
from reelcart.handlers.kit.messenger import outbox
from reelcart.i18n import t


async def tell_user(
    context: ReelcartContext, user_id: int | None, key: str, **params: object
) -> None:
    """A message to a merchant or shopper in their language (quietly skipped if blocked)."""
    if user_id is None:
        return
    await outbox(context).notices.tell(user_id, lambda lang: t(lang, key, **params))
