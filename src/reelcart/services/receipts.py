"""What orders read like in the chat: receipts, order details, the merchant's notice of a
new order and the notices of a payment that needs attention, in the reader's language
(Telegram HTML, every name escaped).

Also the one codec of the order buttons, for whoever builds or parses them:
``or:show:<order>`` an order's details, ``or:clip:<order>:y|n`` consent to share its
preparation clip, ``sl:ship:<order>`` a merchant marking it shipped.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from reelcart.domain import Language, Order, OrderStatus, ProductKind
from reelcart.i18n import CATALOGS, format_price, t
from reelcart.services.messenger import Button, Keyboard

_ORDER_DATA = re.compile(r"^or:(?:show:([1-9][0-9]{0,17})|clip:([1-9][0-9]{0,17}):([yn]))$")
_SHIP_DATA = re.compile(r"^sl:ship:([1-9][0-9]{0,17})$")


# -- the order buttons' codec ----------------------------------------------------------------


@dataclass(frozen=True)
class OrderButton:
    """A tap on an order: its details (``consent`` None) or the answer to sharing its clip."""

    order_id: int
    consent: bool | None = None


def show_data(order_id: int) -> str:
    return f"or:show:{order_id}"


def consent_data(order_id: int, consent: bool) -> str:
    return f"or:clip:{order_id}:{'y' if consent else 'n'}"


def parse_order_data(data: str | None) -> OrderButton | None:
    """The order button behind ``data``, or None if it is malformed."""
    match = _ORDER_DATA.match(data or "")
    if match is None:
        return None
    if match[1]:
        return OrderButton(int(match[1]))
    return OrderButton(int(match[2]), match[3] == "y")


def ship_data(order_id: int) -> str:
    return f"sl:ship:{order_id}"


def parse_ship_data(data: str | None) -> int | None:
    """The order a "mark shipped" button is about, or None if ``data`` is malformed."""
    match = _SHIP_DATA.match(data or "")
    return int(match[1]) if match else None


# -- texts -----------------------------------------------------------------------------------


def status_label(order: Order, language: Language) -> str:
    """An order's status as the shopper reads it."""
    if order.status is OrderStatus.PAID and order.kind is ProductKind.DIGITAL:
        return t(language, "commerce.status_paid_digital")
    return t(language, f"commerce.status_{order.status.value}")


def option_title(language: Language, option_id: str | None, fallback: str = "") -> str:
    """A shipping option's name in ``language`` (the merchant's own title otherwise)."""
    key = f"commerce.shipping_{option_id}"
    if key in CATALOGS[language]:
        return t(language, key)
    return fallback or option_id or ""


def problem(order: Order) -> tuple[str, str]:
    """(kind, detail) of an order's problem: ``sold_out`` and the product's title, ..."""
    kind, _, detail = (order.problem or "").partition(":")
    return kind, detail


def _order_body(order: Order, language: Language) -> list[str]:
    """The lines, shipping and total of an order, HTML-escaped."""
    price = format_price
    rows = [
        t(
            language,
            "commerce.line",
            title=html.escape(line.title),
            quantity=line.quantity,
            price=price(line.total, language),
        )
        for line in order.lines
    ]
    if order.shipping.minor:
        rows.append(
            t(
                language,
                "commerce.receipt_shipping",
                option=html.escape(option_title(language, order.shipping_option)),
                price=price(order.shipping, language),
            )
        )
    rows.append(t(language, "commerce.receipt_total", total=price(order.total, language)))
    return rows


def _ship_to(order: Order, language: Language) -> list[str]:
    if order.address is None:
        return []
    return [
        t(
            language,
            "commerce.ship_to",
            name=html.escape(order.recipient or ""),
            address=html.escape(order.address.one_line()),
        )
    ]


def _title(order: Order, language: Language) -> str:
    return t(
        language,
        "commerce.receipt_title",
        number=order.number,
        merchant=html.escape(order.merchant_name),
    )


def order_details(order: Order, language: Language) -> str:
    """An order as /orders shows it: receipt, status and tracking number."""
    rows = [
        _title(order, language),
        *_order_body(order, language),
        *_ship_to(order, language),
        t(language, "commerce.order_status", status=status_label(order, language)),
    ]
    if order.tracking:
        rows.append(t(language, "commerce.order_tracking", tracking=html.escape(order.tracking)))
    return "\n".join(rows)


def receipt(order: Order, language: Language) -> str:
    """The receipt a shopper gets right after paying."""
    rows = [_title(order, language), *_order_body(order, language), *_ship_to(order, language), ""]
    if order.kind is ProductKind.PHYSICAL:
        rows += [
            t(language, "commerce.receipt_next_physical"),
            "",
            t(language, "commerce.consent_ask"),
        ]
    else:
        rows.append(t(language, "commerce.receipt_next_digital"))
    return "\n".join(rows)


def refunded(order: Order, language: Language) -> str:
    """The shopper's money is back."""
    total = format_price(order.total, language)
    return t(language, "commerce.refunded_shopper", total=total, number=order.number)


def shopper_message(order: Order, language: Language) -> tuple[str, Keyboard]:
    """What the shopper is told once the payment is in: the receipt (with the buttons
    asking consent to share the preparation clip), or what happened to their money."""
    total = format_price(order.total, language)
    kind, detail = problem(order)
    if order.status in (OrderStatus.PAID, OrderStatus.SHIPPED):
        if order.kind is not ProductKind.PHYSICAL:
            return receipt(order, language), ()
        consent = [
            Button(t(language, "commerce.btn_consent_yes"), consent_data(order.id, True)),
            Button(t(language, "commerce.btn_consent_no"), consent_data(order.id, False)),
        ]
        return receipt(order, language), [consent]
    if order.status is OrderStatus.REFUNDED and kind == "sold_out":
        title = html.escape(detail)
        text = t(
            language, "commerce.refunded_sold_out", title=title, total=total, number=order.number
        )
    elif order.status is OrderStatus.REFUNDED:
        text = refunded(order, language)
    elif order.status is OrderStatus.REFUND_PENDING:
        text = t(language, "commerce.refund_pending_shopper", total=total, number=order.number)
    elif kind == "sold_out":
        title = html.escape(detail)
        text = t(language, "commerce.attention_shopper", number=order.number, title=title)
    else:
        text = t(language, "commerce.attention_unmatched", total=total, number=order.number)
    return text, ()


def _reason(order: Order, language: Language) -> str:
    kind, detail = problem(order)
    if kind == "sold_out":
        return t(language, "commerce.reason_sold_out", title=html.escape(detail))
    if kind in ("amount", "paid_twice"):
        return t(language, f"commerce.reason_{kind}")
    return t(language, "commerce.reason_unmatched")


def merchant_attention(order: Order, language: Language) -> str:
    """The merchant's notice of a payment that needs attention."""
    return t(
        language,
        "commerce.merchant_attention",
        number=order.number,
        merchant=html.escape(order.merchant_name),
        total=format_price(order.total, language),
        reason=_reason(order, language),
    )


def admin_attention(order: Order, language: Language) -> str:
    """An admin's notice of a payment that needs attention."""
    return t(
        language,
        "commerce.admin_attention",
        number=order.number,
        merchant=html.escape(order.merchant_name or "?"),
        reason=_reason(order, language),
        total=format_price(order.total, language),
        buyer=order.user_id,
    )


def merchant_notice(order: Order, language: Language, buyer: str) -> tuple[str, Keyboard]:
    """The merchant's notice of a new paid order: what to send where (with a "mark
    shipped" button), or that a digital product is theirs to deliver."""
    rows = [
        t(language, "commerce.merchant_new_order", number=order.number, buyer=html.escape(buyer)),
        *_order_body(order, language),
    ]
    if order.kind is not ProductKind.PHYSICAL:
        rows.append(t(language, "commerce.merchant_digital"))
        return "\n".join(rows), ()
    rows.append(
        t(
            language,
            "commerce.merchant_ship_to",
            name=html.escape(order.recipient or buyer),
            address=html.escape(order.address.one_line() if order.address else "?"),
            option=html.escape(option_title(language, order.shipping_option)),
        )
    )
    rows.append(t(language, "commerce.merchant_clip_hint", number=order.number))
    label = t(language, "commerce.btn_mark_shipped", number=order.number)
    return "\n".join(rows), [[Button(label, ship_data(order.id))]]


def shipped(order: Order, language: Language) -> str:
    """The shopper's notice that their order is on its way, with its tracking number."""
    return t(
        language,
        "commerce.shipped_shopper",
        number=order.number,
        merchant=html.escape(order.merchant_name),
        tracking=html.escape(order.tracking or ""),
    )
