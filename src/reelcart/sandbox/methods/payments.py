"""Invoices, shipping and pre-checkout answers, and Telegram Stars bookkeeping."""

from __future__ import annotations

import secrets
from typing import Any

from reelcart.sandbox.dispatch import Call, bot_method
from reelcart.sandbox.errors import BotApiError
from reelcart.sandbox.methods.common import reply_markup, send_message
from reelcart.sandbox.state import JSON, Invoice, now

STARS = "XTR"
MAX_STARS = 100_000
# Currencies Telegram Payments accepts (bots/payments#supported-currencies) plus Stars.
_CURRENCY_CODES = (
    "AED AFN ALL AMD ARS AUD AZN BAM BDT BGN BHD BND BOB BRL BYN CAD CHF CLP CNY COP CRC CZK "
    "DKK DOP DZD EGP ETB EUR GBP GEL GHS GTQ HKD HNL HRK HUF IDR ILS INR IQD IRR ISK JMD JOD "
    "JPY KES KGS KRW KZT LBP LKR MAD MDL MMK MNT MOP MUR MVR MXN MYR MZN NGN NIO NOK NPR NZD "
    "PAB PEN PHP PKR PLN PYG QAR RON RSD RUB SAR SEK SGD THB TJS TRY TTD TWD TZS UAH UGX USD "
    "UYU UZS VND YER ZAR XTR"
)
CURRENCIES = frozenset(_CURRENCY_CODES.split(" "))
# About US$1 .. US$10,000, the range Telegram allows, for the common two-decimal currencies.
_FIAT_RANGE = {
    "USD": (100, 1_000_000),
    "EUR": (100, 1_000_000),
    "GBP": (100, 1_000_000),
    "CHF": (100, 1_000_000),
}


def _check_provider(token: str, currency: str, prices: list[JSON]) -> None:
    if currency == STARS:
        # Stars invoices: no provider, exactly one price portion.
        if token or len(prices) != 1:
            raise BotApiError.bad_request("STARS_INVOICE_INVALID")
        return
    # A real provider token looks like "<digits>:TEST:<secret>" or "<digits>:LIVE:<secret>".
    parts = token.split(":")
    if len(parts) < 3 or not parts[0].isdigit() or parts[1] not in ("TEST", "LIVE"):
        raise BotApiError.bad_request("PAYMENT_PROVIDER_INVALID")


def _check_total(currency: str, total: int) -> None:
    if total <= 0:
        raise BotApiError.bad_request("Total price must be positive")
    low, high = (1, MAX_STARS) if currency == STARS else _FIAT_RANGE.get(currency, (1, 10**12))
    if not low <= total <= high:
        raise BotApiError.bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")


def parse_invoice(call: Call) -> Invoice:
    """Validate the invoice parameters shared by sendInvoice and createInvoiceLink."""
    params = call.params
    title = params.text("title")
    description = params.text("description")
    payload = params.text("payload")
    currency = params.text("currency")
    if not 1 <= len(title) <= 32:
        raise BotApiError.bad_request("invoice title must be 1-32 characters long")
    if not 1 <= len(description) <= 255:
        raise BotApiError.bad_request("invoice description must be 1-255 characters long")
    if not 1 <= len(payload.encode("utf-8")) <= 128:
        raise BotApiError.bad_request("INVOICE_PAYLOAD_INVALID")
    if currency not in CURRENCIES:
        raise BotApiError.bad_request("CURRENCY_INVALID")
    raw_prices = params.json("prices")
    if not isinstance(raw_prices, list) or not raw_prices:
        raise BotApiError.bad_request("can't parse prices JSON object")
    prices = [{"label": str(p["label"]), "amount": int(p["amount"])} for p in raw_prices]
    token = params.text("provider_token")
    _check_provider(token, currency, prices)
    invoice = Invoice(
        title=title,
        description=description,
        payload=payload,
        currency=currency,
        prices=prices,
        provider_token=token,
        is_flexible=params.flag("is_flexible"),
        need_name=params.flag("need_name"),
        need_phone_number=params.flag("need_phone_number"),
        need_email=params.flag("need_email"),
        need_shipping_address=params.flag("need_shipping_address") or params.flag("is_flexible"),
        start_parameter=params.text("start_parameter"),
        max_tip_amount=params.integer("max_tip_amount", 0) or 0,
        subscription_period=params.integer("subscription_period"),
    )
    _check_total(currency, invoice.total_amount)
    if currency == STARS and (invoice.is_flexible or invoice.max_tip_amount):
        raise BotApiError.bad_request("STARS_INVOICE_INVALID")
    return invoice


@bot_method("sendInvoice", metered=True)
async def send_invoice(call: Call) -> JSON:
    """sendInvoice: an invoice message the user can pay (see SimulatedUser.pay)."""
    invoice = parse_invoice(call)
    chat = call.state.chat_for_bot(call.params.get("chat_id"))
    markup = reply_markup(call, chat, invoice=True)
    content = {
        "invoice": {
            "title": invoice.title,
            "description": invoice.description,
            "start_parameter": invoice.start_parameter,
            "currency": invoice.currency,
            "total_amount": invoice.total_amount,
        }
    }
    return send_message(call, chat, content, markup, invoice=invoice).data


@bot_method("createInvoiceLink")
async def create_invoice_link(call: Call) -> str:
    """createInvoiceLink: a t.me/$... link; SimulatedUser.pay accepts it."""
    invoice = parse_invoice(call)
    slug = secrets.token_urlsafe(12)
    invoice.link = f"https://t.me/${slug}"
    call.state.invoice_links[invoice.link] = invoice
    return invoice.link


def _error_message(call: Call) -> str | None:
    ok = call.params.flag("ok")
    message = call.params.text("error_message").strip()
    if not ok and not message:
        raise BotApiError.bad_request("error_message must be non-empty if ok is false")
    return None if ok else message


@bot_method("answerShippingQuery")
async def answer_shipping_query(call: Call) -> bool:
    """answerShippingQuery: shipping options when ok, an error message otherwise."""
    error = _error_message(call)
    options: list[JSON] = []
    if error is None:
        raw = call.params.json("shipping_options")
        if not isinstance(raw, list) or not raw:
            raise BotApiError.bad_request("SHIPPING_OPTIONS_EMPTY")
        for option in raw:
            prices = option.get("prices") or []
            if not prices:
                raise BotApiError.bad_request("shipping option prices must be non-empty")
            options.append(
                {
                    "id": str(option["id"]),
                    "title": str(option["title"]),
                    "prices": [
                        {"label": str(p["label"]), "amount": int(p["amount"])} for p in prices
                    ],
                }
            )
    answer = {"ok": error is None, "shipping_options": options, "error_message": error}
    call.state.answer_query("shipping", call.params.text("shipping_query_id"), answer)
    return True


@bot_method("answerPreCheckoutQuery")
async def answer_pre_checkout_query(call: Call) -> bool:
    """answerPreCheckoutQuery: must arrive within 10 seconds of the query."""
    error = _error_message(call)
    answer = {"ok": error is None, "error_message": error}
    call.state.answer_query("pre_checkout", call.params.text("pre_checkout_query_id"), answer)
    return True


@bot_method("refundStarPayment")
async def refund_star_payment(call: Call) -> bool:
    """refundStarPayment: returns the Stars and tells the user with a service message."""
    state = call.state
    charge = state.star_charges.get(call.params.text("telegram_payment_charge_id"))
    user_id = call.params.integer("user_id")
    if charge is None or charge.user_id != user_id:
        raise BotApiError.bad_request("CHARGE_NOT_FOUND")
    if charge.refunded:
        raise BotApiError.bad_request("CHARGE_ALREADY_REFUNDED")
    charge.refunded = True
    user = state.users[charge.user_id]
    state.star_transactions.append(
        {
            "id": charge.charge_id,
            "amount": charge.amount,
            "date": now(),
            "receiver": {
                "type": "user",
                "transaction_type": "invoice_payment",
                "user": user.to_api(),
                "invoice_payload": charge.payload,
            },
        }
    )
    chat = state.chats.get(charge.user_id)
    if chat is not None:
        state.user_message(
            chat,
            {
                "refunded_payment": {
                    "currency": STARS,
                    "total_amount": charge.amount,
                    "invoice_payload": charge.payload,
                    "telegram_payment_charge_id": charge.charge_id,
                }
            },
        )
    return True


@bot_method("getStarTransactions")
async def get_star_transactions(call: Call) -> dict[str, Any]:
    """getStarTransactions: newest first, with offset and limit (1-100)."""
    offset = max(0, call.params.integer("offset", 0) or 0)
    limit = min(100, max(1, call.params.integer("limit", 100) or 100))
    newest_first = list(reversed(call.state.star_transactions))
    return {"transactions": newest_first[offset : offset + limit]}


@bot_method("getMyStarBalance")
async def get_my_star_balance(call: Call) -> JSON:
    """getMyStarBalance: incoming minus refunded Stars."""
    balance = sum(c.amount for c in call.state.star_charges.values() if not c.refunded)
    return {"amount": balance}
