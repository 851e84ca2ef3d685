"""/products: the merchant's own catalog a page at a time, each product's screen (pause,
resume, price, stock, preview, delete) and the typed price or stock.

Callback data: ``kit.callbacks.MERCHANT``. Every product id in a button is checked against
the pressing merchant's own catalog."""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from reelcart.domain import (
    Language,
    Merchant,
    ModerationState,
    Product,
    ProductNotFound,
    ProductStatus,
)
from reelcart.handlers.kit.callbacks import MERCHANT
from reelcart.handlers.kit.context import ReelcartContext, shopper
from reelcart.handlers.kit.errors import error_text
from reelcart.handlers.kit.prompts import Prompt, ask
from reelcart.handlers.merchant import stats
from reelcart.handlers.merchant.notices import notify_admins_pending
from reelcart.handlers.merchant.onboarding import merchant_or_refuse
from reelcart.handlers.merchant.preview import send_preview
from reelcart.handlers.merchant.restock import kick_restock_alerts
from reelcart.i18n import format_price, t
from reelcart.services.merchants import InvalidInput
from reelcart.services.stats import PERIODS

log = logging.getLogger(__name__)

#: Preset reasons to reject a product; stored as ``#<code>``, shown in the reader's language.
REASONS = ("prohibited", "misleading", "clip", "price", "quality")


def _title(product: Product) -> str:
    return html.escape(product.title)


def _state_icon(product: Product) -> str:
    if product.moderation is ModerationState.PENDING:
        return "⏳"
    if product.moderation in (ModerationState.REJECTED, ModerationState.SUSPENDED):
        return "⛔"
    if product.status is ProductStatus.PAUSED:
        return "⏸"
    return "🔴" if product.stock <= 0 else "🟢"


def reason_text(lang: Language, note: str | None) -> str:
    """A stored rejection reason in ``lang``: presets are stored as ``#code``."""
    if note and note.startswith("#") and note[1:] in REASONS:
        return t(lang, f"reason.{note[1:]}")
    return note or "—"


def _state_text(product: Product, lang: Language, note: str | None) -> str:
    if product.moderation is ModerationState.PENDING:
        return t(lang, "products.state_pending")
    if product.moderation is ModerationState.REJECTED:
        return t(lang, "products.state_rejected", reason=html.escape(reason_text(lang, note)))
    if product.moderation is ModerationState.SUSPENDED:
        return t(lang, "products.state_suspended")
    if product.status is ProductStatus.PAUSED:
        return t(lang, "products.state_paused")
    if product.stock <= 0:
        return t(lang, "products.state_sold_out")
    return t(lang, "products.state_live")


async def products_command(update: Update, context: ReelcartContext) -> None:
    """The merchant's own products, a page at a time."""
    user = await shopper(update, context)
    assert update.message is not None
    merchant = await merchant_or_refuse(update, context, user)
    if merchant is None:
        return
    page = 0
    if context.args:
        if len(context.args) != 1 or not context.args[0].isdigit() or int(context.args[0]) < 1:
            await update.message.reply_text(
                t(user.language, "products.usage"), parse_mode=ParseMode.HTML
            )
            return
        page = int(context.args[0]) - 1
    text, markup = await _list_view(context, merchant, page, user.language)
    await update.message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def _list_view(
    context: ReelcartContext, merchant: Merchant, page: int, lang: Language
) -> tuple[str, InlineKeyboardMarkup | None]:
    listing = await context.shop.merchants.page(merchant.id, page)
    if listing.total == 0:
        return t(lang, "products.empty"), None
    rows = []
    for product in listing.products:
        label = f"{_state_icon(product)} {product.title}"
        if len(label) > 40:
            label = label[:39] + "…"
        label += f" · {format_price(product.price, lang)} · {product.stock}"
        rows.append(
            [
                InlineKeyboardButton(
                    label, callback_data=MERCHANT.data("p", product.id, listing.page)
                )
            ]
        )
    if listing.pages > 1:
        nav = []
        if listing.page > 0:
            nav.append(
                InlineKeyboardButton("◀️", callback_data=MERCHANT.data("pl", listing.page - 1))
            )
        nav.append(
            InlineKeyboardButton(
                f"{listing.page + 1}/{listing.pages}", callback_data=MERCHANT.data("noop")
            )
        )
        if listing.page + 1 < listing.pages:
            nav.append(
                InlineKeyboardButton("▶️", callback_data=MERCHANT.data("pl", listing.page + 1))
            )
        rows.append(nav)
    text = t(
        lang,
        "products.header",
        name=html.escape(merchant.name),
        count=listing.total,
        page=listing.page + 1,
        pages=listing.pages,
    )
    return text, InlineKeyboardMarkup(rows)


async def _product_view(
    context: ReelcartContext, merchant: Merchant, product: Product, page: int, lang: Language
) -> tuple[str, InlineKeyboardMarkup]:
    note = None
    if product.moderation is ModerationState.REJECTED:
        note = await context.shop.merchants.moderation_note(product.id)
    text = t(
        lang,
        "products.detail",
        title=_title(product),
        sku=html.escape(product.sku),
        price=format_price(product.price, lang),
        stock=product.stock,
        state=_state_text(product, lang, note),
    )
    pid = product.id
    toggle = (
        InlineKeyboardButton(
            t(lang, "products.btn_resume"), callback_data=MERCHANT.data("resume", pid, page)
        )
        if product.status is ProductStatus.PAUSED
        else InlineKeyboardButton(
            t(lang, "products.btn_pause"), callback_data=MERCHANT.data("pause", pid, page)
        )
    )
    markup = InlineKeyboardMarkup(
        [
            [
                toggle,
                InlineKeyboardButton(
                    t(lang, "products.btn_view"), callback_data=MERCHANT.data("view", pid)
                ),
            ],
            [
                InlineKeyboardButton(
                    t(lang, "products.btn_price"), callback_data=MERCHANT.data("price", pid)
                ),
                InlineKeyboardButton(
                    t(lang, "products.btn_stock"), callback_data=MERCHANT.data("stock", pid)
                ),
            ],
            [
                InlineKeyboardButton(
                    t(lang, "products.btn_delete"), callback_data=MERCHANT.data("del", pid, page)
                ),
                InlineKeyboardButton(
                    t(lang, "products.btn_back"), callback_data=MERCHANT.data("pl", page)
                ),
            ],
        ]
    )
    return text, markup


async def merchant_button(update: Update, context: ReelcartContext) -> None:
    """Buttons of /products and /stats; every product id is checked against the presser's
    own catalog."""
    query = update.callback_query
    assert query is not None
    user = await shopper(update, context)
    lang = user.language
    pressed = MERCHANT.parse(query.data)
    if pressed is None:
        await query.answer(t(lang, "feed.stale"))
        return
    merchant = await merchant_or_refuse(update, context, user)
    if merchant is None:
        return
    action, (first, second) = pressed.action, pressed.args
    message = query.message if isinstance(query.message, Message) else None
    if action == "noop":
        await query.answer()
        return
    if action == "pv":
        await query.answer(t(lang, "products.preview_only"))
        return
    if action in ("st", "sp"):
        if first not in PERIODS:
            await query.answer(t(lang, "feed.stale"))
            return
        await query.answer()
        if action == "st" and message is not None:
            await stats.edit_stats(context, message, merchant, first, lang)
        else:
            await stats.send_product_stats(context, user.id, merchant, first, lang)
        return
    if first is None or not first.isdigit():
        await query.answer(t(lang, "feed.stale"))
        return
    number, page = int(first), int(second or 0)
    if action == "pl":
        text, markup = await _list_view(context, merchant, number, lang)
        await query.answer()
        await _edit(message, text, markup)
        return
    try:
        await _product_action(update, context, merchant, action, number, page, lang)
    except ProductNotFound:
        await query.answer(t(lang, "products.not_yours"), show_alert=True)


async def _product_action(
    update: Update,
    context: ReelcartContext,
    merchant: Merchant,
    action: str,
    product_id: int,
    page: int,
    lang: Language,
) -> None:
    query = update.callback_query
    assert query is not None
    message = query.message if isinstance(query.message, Message) else None
    merchants = context.shop.merchants
    product = await merchants.product(merchant.id, product_id)  # ProductNotFound if not theirs
    if action in ("pause", "resume"):
        product = await merchants.set_paused(merchant.id, product.id, action == "pause")
        await query.answer(t(lang, f"products.{action}d", title=product.title))
        if action == "resume":
            kick_restock_alerts(context)
    elif action == "delok":
        await merchants.delete(merchant.id, product.id)
        await query.answer(t(lang, "products.deleted", title=product.title))
        text, markup = await _list_view(context, merchant, page, lang)
        await _edit(message, text, markup)
        return
    elif action == "del":
        await query.answer()
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t(lang, "products.btn_delete_yes"),
                        callback_data=MERCHANT.data("delok", product.id, page),
                    ),
                    InlineKeyboardButton(
                        t(lang, "products.btn_cancel"),
                        callback_data=MERCHANT.data("p", product.id, page),
                    ),
                ]
            ]
        )
        await _edit(message, t(lang, "products.delete_confirm", title=_title(product)), markup)
        return
    elif action in ("price", "stock"):
        ask(context, Prompt("merchant", action, target=product.id))
        await query.answer()
        key = "products.ask_price" if action == "price" else "products.ask_stock"
        await context.bot.send_message(
            query.from_user.id,
            t(
                lang,
                key,
                title=_title(product),
                currency=product.price.currency,
                price=format_price(product.price, lang),
                stock=product.stock,
            ),
            parse_mode=ParseMode.HTML,
        )
        return
    elif action == "view":
        await query.answer()
        await send_preview(context, query.from_user.id, product, lang)
        return
    else:
        await query.answer()
    text, markup = await _product_view(context, merchant, product, page, lang)
    await _edit(message, text, markup)


async def _edit(message: Message | None, text: str, markup: InlineKeyboardMarkup | None) -> None:
    if message is None:
        return
    try:
        await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.info("could not edit message %s: %s", message.message_id, exc)


async def typed_value(
    message: Message, context: ReelcartContext, merchant: Merchant, prompt: Prompt, lang: Language
) -> None:
    """A typed price or stock: set it, then show the product's screen again."""
    merchants = context.shop.merchants
    assert message.text is not None
    try:
        if prompt.kind == "price":
            product = await merchants.set_price(merchant.id, prompt.target, message.text)
            done = t(
                lang,
                "products.price_set",
                title=_title(product),
                price=format_price(product.price, lang),
            )
        else:
            product = await merchants.set_stock(merchant.id, prompt.target, message.text)
            done = t(lang, "products.stock_set", title=_title(product), stock=product.stock)
            kick_restock_alerts(context)
    except InvalidInput as exc:
        await message.reply_text(error_text(lang, exc))
        ask(context, prompt)
        return
    except ProductNotFound:
        await message.reply_text(t(lang, "products.not_yours"))
        return
    if product.moderation is ModerationState.PENDING and prompt.kind == "price":
        done += "\n" + t(lang, "products.back_to_moderation")
        await notify_admins_pending(context, merchant, 1)
    text, markup = await _product_view(context, merchant, product, 0, lang)
    await message.reply_text(done + "\n\n" + text, parse_mode=ParseMode.HTML, reply_markup=markup)
