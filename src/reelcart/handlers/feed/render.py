"""How cards and lists look in Telegram: captions, keyboards, and the feed's callback data.

Callback data is short and strictly parsed (Telegram allows 1-64 bytes):
``c:<action>:<card id>`` for card buttons, ``p:<product id>`` to open a product,
``i:<interest>`` / ``i:!done`` / ``i:!lang:<lang>`` for onboarding, ``l:<lang>`` for the
language. Anything else is treated as a stale or forged button.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from reelcart.domain import FeedCard, Language, Product
from reelcart.i18n import format_price, t

CARD_ACTIONS = ("like", "dislike", "next", "buy", "why")
_CARD_DATA = re.compile(r"^c:(like|dislike|next|buy|why):([1-9][0-9]{0,17})$")
_PRODUCT_DATA = re.compile(r"^p:([1-9][0-9]{0,17})$")
_LANGUAGES = {language.value: language for language in Language}
CAPTION_LIMIT = 1024
#: Onboarding's "start swiping" button.
INTERESTS_DONE = "i:!done"
#: ``i:!lang:<code>`` switches to that language: a double tap sets it twice, not back and
#: forth. A bare ``i:!lang`` (on greetings sent before) still toggles.
SWITCH_LANGUAGE = "i:!lang"


@dataclass(frozen=True)
class CardButton:
    """A tap on a card: its action (``CARD_ACTIONS``) and the card."""

    action: str
    card_id: int


def card_data(action: str, card_id: int) -> str:
    """``c:<action>:<card id>``."""
    return f"c:{action}:{card_id}"


def parse_card_data(data: str | None) -> CardButton | None:
    """The card button behind ``data``, or None if it is malformed."""
    match = _CARD_DATA.match(data or "")
    return CardButton(match[1], int(match[2])) if match else None


def product_data(product_id: int) -> str:
    """``p:<product id>``: open that product's card."""
    return f"p:{product_id}"


def parse_product_data(data: str | None) -> int | None:
    """The product a ``p:`` button opens, or None if it is malformed."""
    match = _PRODUCT_DATA.match(data or "")
    return int(match[1]) if match else None


def interest_data(interest: str) -> str:
    """The onboarding button that toggles ``interest`` (check its length with ``fits``)."""
    return f"i:{interest}"


def parse_interest_data(data: str) -> str:
    """The interest an onboarding button toggles (to be checked against the options)."""
    return data[2:]


def switch_language_data(language: Language) -> str:
    """``i:!lang:<code>``: onboarding's switch to ``language``."""
    return f"{SWITCH_LANGUAGE}:{language.value}"


def parse_switch_language_data(data: str) -> Language | None:
    """The language a switch button asks for; None for a bare (toggling) one or a forged one."""
    return _LANGUAGES.get(data[len(SWITCH_LANGUAGE) + 1 :])


def is_switch_language_data(data: str) -> bool:
    """Whether ``data`` is onboarding's language switch (with a code or bare)."""
    return data == SWITCH_LANGUAGE or data.startswith(f"{SWITCH_LANGUAGE}:")


def language_data(language: Language) -> str:
    """``l:<code>``: /lang's button for ``language``."""
    return f"l:{language.value}"


def parse_language_data(data: str | None) -> Language | None:
    """The language an ``l:<code>`` button picks, or None if it is malformed."""
    if not data or not data.startswith("l:"):
        return None
    return _LANGUAGES.get(data[2:])


def fits(data: str) -> bool:
    """Whether Telegram takes ``data`` as a button's callback data (64 bytes at most)."""
    return len(data.encode()) <= 64


def caption(product: Product, language: Language) -> str:
    """Title, price, merchant and hashtags, HTML-escaped, within Telegram's 1024 limit."""
    price = format_price(product.price, language)
    if product.stock <= 0:
        price = f"{price} · {t(language, 'feed.sold_out')}"
    tags = " ".join(f"#{tag}" for tag in product.hashtags)
    text = t(
        language,
        "feed.card_caption",
        title=html.escape(product.title),
        price=html.escape(price),
        merchant=html.escape(product.merchant_name),
        hashtags=html.escape(tags),
    ).rstrip()  # no hashtags: no empty last line (it would double the blank line below)
    description = html.escape(product.description)
    if description:
        room = CAPTION_LIMIT - len(text) - 2
        if room > 40:
            if len(description) > room:
                description = description[: room - 1].rsplit(" ", 1)[0] + "…"
            text = f"{text}\n\n{description}"
    return text.strip()


def card_keyboard(
    card: FeedCard, language: Language, shop_url: str | None = None
) -> InlineKeyboardMarkup:
    """The card's buttons, in the order DESIGN.md gives: ❤️ 👎 ⏭ / 🛒 🔗 / 💡 ↗️ (no 🛒 when
    the product is sold out).

    ``shop_url`` is the 🔗 target: a tracked ``/go/...`` link when reelcart has a public
    URL; without one the product's own shop URL is used (and clicks are not counted).
    """
    cid = card.card_id
    rows = [
        [
            InlineKeyboardButton(
                t(language, "feed.btn_like"), callback_data=card_data("like", cid)
            ),
            InlineKeyboardButton(
                t(language, "feed.btn_dislike"), callback_data=card_data("dislike", cid)
            ),
            InlineKeyboardButton(
                t(language, "feed.btn_next"), callback_data=card_data("next", cid)
            ),
        ]
    ]
    commerce = []
    if card.product.stock > 0:  # sold out: the caption says so, and there is nothing to buy
        commerce.append(
            InlineKeyboardButton(t(language, "feed.btn_buy"), callback_data=card_data("buy", cid))
        )
    shop_url = shop_url or card.product.shop_url
    if shop_url:
        commerce.append(InlineKeyboardButton(t(language, "feed.btn_shop"), url=shop_url))
    if commerce:
        rows.append(commerce)
    rows.append(
        [
            InlineKeyboardButton(t(language, "feed.btn_why"), callback_data=card_data("why", cid)),
            InlineKeyboardButton(
                t(language, "feed.btn_share"),
                switch_inline_query=share_query(card.product.id),
            ),
        ]
    )
    return InlineKeyboardMarkup(rows)


def share_query(product_id: int) -> str:
    """The inline query that shares one product (answered by the inline handler)."""
    return f"p_{product_id}"


def product_list_keyboard(products: list[Product], language: Language) -> InlineKeyboardMarkup:
    """One button per product: tapping it opens that product's card."""
    rows = []
    for product in products:
        label = f"{product.title} · {format_price(product.price, language)}"
        if len(label) > 60:
            label = label[:59] + "…"
        rows.append([InlineKeyboardButton(label, callback_data=product_data(product.id))])
    return InlineKeyboardMarkup(rows)


def deep_link(bot_username: str, product_id: int) -> str:
    """The t.me link that opens a product in the bot (``/start p_<id>``)."""
    return f"https://t.me/{bot_username}?start=p_{product_id}"
