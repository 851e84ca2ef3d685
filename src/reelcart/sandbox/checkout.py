"""The payment flow a Telegram client runs when a user pays an invoice.

Order of events, as in Telegram Payments: for a flexible invoice a ``shipping_query``
(the bot answers with answerShippingQuery); then a ``pre_checkout_query`` the bot must
answer within 10 seconds; if it says ok, the money moves and the bot receives a
``successful_payment`` service message in the user's chat.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any, Protocol

from reelcart.sandbox.state import (
    JSON,
    Invoice,
    PendingQuery,
    PrivateChat,
    SandboxState,
    StarCharge,
    UserAccount,
    now,
)
from reelcart.sandbox.views import PaymentResult, message_id_of


class Payer(Protocol):
    """What the payment flow needs of the user paying (``Payer`` is one)."""

    state: SandboxState
    account: UserAccount
    last_update_id: int | None

    @property
    def id(self) -> int: ...

    @property
    def chat(self) -> PrivateChat: ...

    def send_content(self, content: JSON) -> JSON: ...

    async def await_answer(
        self, query: PendingQuery, give_up_after: float | None, what: str
    ) -> JSON: ...


DEFAULT_ADDRESS: JSON = {
    "country_code": "FR",
    "state": "",
    "city": "Paris",
    "street_line1": "1 Rue de Rivoli",
    "street_line2": "",
    "post_code": "75001",
}


def _find_invoice(user: Payer, ref: Any) -> Invoice:
    if isinstance(ref, str):
        invoice = user.state.invoice_links.get(ref)
        if invoice is None:
            raise LookupError(f"no invoice link {ref!r}")
        return invoice
    message_id = message_id_of(ref)
    stored = user.chat.find(message_id)
    if stored is None or stored.invoice is None:
        raise LookupError(f"message {message_id} is not an invoice in this chat")
    return stored.invoice


def _order_info(user: Payer, invoice: Invoice, given: JSON | None) -> JSON | None:
    """What the client collects for the invoice's need_* flags (defaults from the user)."""
    if given is not None:
        return given
    info: JSON = {}
    if invoice.need_name:
        info["name"] = user.account.first_name
    if invoice.need_phone_number:
        info["phone_number"] = f"+3360{user.id % 10_000_000:07d}"
    if invoice.need_email:
        info["email"] = f"user{user.id}@example.com"
    if invoice.need_shipping_address:
        info["shipping_address"] = dict(DEFAULT_ADDRESS)
    return info or None


async def run_checkout(
    user: Payer,
    ref: Any,
    *,
    shipping_option_id: str | None,
    order_info: JSON | None,
    tip_amount: int,
    duplicate_delivery: bool,
    answer_within: float | None,
) -> PaymentResult:
    """Run the whole payment of ``ref`` for ``user``; see ``SimulatedUser.pay``."""
    state = user.state
    invoice = _find_invoice(user, ref)
    if tip_amount < 0 or tip_amount > invoice.max_tip_amount:
        raise ValueError(f"tip {tip_amount} exceeds the invoice's max_tip_amount")
    info = _order_info(user, invoice, order_info)
    total = invoice.total_amount + tip_amount
    chosen: str | None = None
    if invoice.is_flexible:
        query = state.open_query("shipping", user.account, state.deadlines.shipping)
        user.last_update_id = state.push_update(
            "shipping_query",
            {
                "id": query.id,
                "from": user.account.to_api(),
                "invoice_payload": invoice.payload,
                "shipping_address": (info or {}).get("shipping_address", dict(DEFAULT_ADDRESS)),
            },
        )
        try:
            answer = await user.await_answer(query, answer_within, "shipping query")
        except TimeoutError:
            return PaymentResult("shipping_timeout", invoice.currency, total)
        if not answer["ok"]:
            return PaymentResult(
                "shipping_declined", invoice.currency, total, answer.get("error_message")
            )
        options: list[JSON] = answer["shipping_options"]
        option = (
            next((o for o in options if o["id"] == shipping_option_id), None)
            if shipping_option_id is not None
            else options[0]
        )
        if option is None:
            raise LookupError(f"the bot offered no shipping option {shipping_option_id!r}")
        chosen = option["id"]
        total += sum(int(price["amount"]) for price in option["prices"])

    pre_checkout: JSON = {
        "from": user.account.to_api(),
        "currency": invoice.currency,
        "total_amount": total,
        "invoice_payload": invoice.payload,
    }
    if chosen is not None:
        pre_checkout["shipping_option_id"] = chosen
    if info is not None:
        pre_checkout["order_info"] = info
    query = state.open_query("pre_checkout", user.account, state.deadlines.pre_checkout)
    loop = asyncio.get_running_loop()
    asked_at = loop.time()
    user.last_update_id = state.push_update("pre_checkout_query", {"id": query.id, **pre_checkout})
    try:
        answer = await user.await_answer(query, answer_within, "pre-checkout query")
    except TimeoutError:
        return PaymentResult("timeout", invoice.currency, total)
    latency = loop.time() - asked_at
    if not answer["ok"]:
        return PaymentResult(
            "declined",
            invoice.currency,
            total,
            answer.get("error_message"),
            pre_checkout_latency=latency,
        )

    stars = invoice.currency == "XTR"
    charge_id = ("stxCA" if stars else "") + secrets.token_hex(16 if stars else 10)
    provider_id = charge_id if stars else "ch_" + secrets.token_hex(12)
    payment: dict[str, Any] = {
        "currency": invoice.currency,
        "total_amount": total,
        "invoice_payload": invoice.payload,
        "telegram_payment_charge_id": charge_id,
        "provider_payment_charge_id": provider_id,
    }
    if chosen is not None:
        payment["shipping_option_id"] = chosen
    if info is not None:
        payment["order_info"] = info
    if invoice.subscription_period:
        payment["subscription_expiration_date"] = now() + invoice.subscription_period
        payment["is_recurring"] = True
        payment["is_first_recurring"] = True
    if stars:
        state.star_charges[charge_id] = StarCharge(
            charge_id, user.id, total, invoice.payload, now()
        )
        state.star_transactions.append(
            {
                "id": charge_id,
                "amount": total,
                "date": now(),
                "source": {
                    "type": "user",
                    "transaction_type": "invoice_payment",
                    "user": user.account.to_api(),
                    "invoice_payload": invoice.payload,
                },
            }
        )
    message = user.send_content({"successful_payment": payment})
    update_id = user.last_update_id
    if duplicate_delivery and update_id is not None:
        state.updates.redeliver(update_id)
    return PaymentResult(
        "paid", invoice.currency, total, None, charge_id, provider_id, message, update_id, latency
    )
