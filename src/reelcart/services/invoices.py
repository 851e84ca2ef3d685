"""The invoice payload: what ties a Telegram invoice, and the payment it becomes, to the
draft reelcart priced.

A payload is ``rc1.<draft id>.<signature>``: the signature covers the draft, the shopper,
the currency and the amount, so shipping, pre-checkout and payment refuse anything altered
or sent by someone else.
"""

from __future__ import annotations

import re

from reelcart.domain import Draft, ForgedPayload
from reelcart.services.signing import Signer
from reelcart.storage import orders as order_store
from reelcart.storage.store import Store

_PAYLOAD = re.compile(r"^rc1\.([1-9][0-9]{0,17})\.([A-Za-z0-9_-]{22})$")


class InvoiceSigner:
    """Signs a draft into its invoice payload, and finds the draft a payload names."""

    def __init__(self, secret: bytes) -> None:
        self._signer = Signer(secret, "invoice")

    def payload_for(self, draft: Draft) -> str:
        """The signed invoice payload of a draft (at most 50 bytes; Telegram allows 128)."""
        signature = self._signer.sign(
            "rc1", draft.id, draft.user_id, draft.currency, draft.total_minor
        )
        return f"rc1.{draft.id}.{signature}"

    def verified_draft(self, store: Store, payload: str, user_id: int) -> Draft:
        """The draft a payload names, if reelcart signed it for this shopper.

        Raises ForgedPayload for a payload that is malformed, altered, names no draft, or
        was signed for someone else. Runs on the database thread (``store``).
        """
        match = _PAYLOAD.match(payload)
        if not match:
            raise ForgedPayload(payload)
        draft = order_store.get_draft(store, int(match[1]))
        if draft is None or not self._signer.verify(
            match[2], "rc1", draft.id, draft.user_id, draft.currency, draft.total_minor
        ):
            raise ForgedPayload(payload)
        if draft.user_id != user_id:
            raise ForgedPayload(payload)
        return draft


__all__ = ["InvoiceSigner"]
