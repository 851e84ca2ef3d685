"""Buying in the chat: 🛒 invoices, the basket, shipping and pre-checkout, successful
payments (handed to ``services.fulfilment``, which sends the receipts and notices),
/orders, /sales with tracking numbers, and order-preparation clips.

Callback data, strictly parsed like ``render.py``'s: ``bk:add:<product>`` /
``bk:rm:<product>`` / ``bk:pay`` / ``bk:clear`` for the basket; the order buttons
(``or:...``, ``sl:ship:...``) have their codec in ``services.receipts``.
"""

from __future__ import annotations

import html
import logging
import re

from telegram import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
    ShippingOption,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    ShippingQueryHandler,
    filters,
)

from reelcart.domain import (
    Language,
    Money,
    NotAMerchant,
    Order,
    OrderNotFound,
    OrderStatus,
    Product,
    ProductKind,
    ProductNotFound,
    ReelcartError,
    User,
)
from reelcart.handlers.kit.context import ReelcartApplication, ReelcartContext, shopper
from reelcart.handlers.kit.errors import error_text
from reelcart.handlers.kit.messenger import outbox
from reelcart.i18n import format_price, t
from reelcart.services import notices
from reelcart.services.orders import (
    RECOVERY_GRACE_S,
    BasketView,
    Checkout,
    CheckoutLine,
    InvalidTracking,
    OrderNotShippable,
    Payment,
    charge_price,
)
from reelcart.services.receipts import (
    option_title,
    order_details,
    parse_order_data,
    parse_ship_data,
    ship_data,
    show_data,
    status_label,
)
from reelcart.services.shop import Shop

log = logging.getLogger(__name__)

HTML = ParseMode.HTML
_BASKET_DATA = re.compile(r"^bk:(?:(add|rm):([1-9][0-9]{0,17})|(pay|clear))$")
_ORDER_NUMBER = re.compile(r"^#?([1-9][0-9]{0,17})$")
# A merchant's preparation clip: a video captioned with the order number ("#12").
CLIP_CAPTION = r"(?i)^\s*(?:#|order\s*#?\s*|commande\s*#?\s*|n°\s*)([1-9][0-9]{0,17})\s*$"
# The tracking-number prompt starts with this in every language, so a reply finds it.
TRACKING_MARK = "📦✏️"


# -- text helpers ------------------------------------------------------------------------


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def language_of_user(shop: Shop, user_id: int) -> Language:
    """The language a user chose (or Telegram's), English for strangers."""
    return await notices.language_of_user(shop.feed, user_id)


def _line_label(line: CheckoutLine) -> str:
    return line.title if line.quantity == 1 else f"{line.title} ×{line.quantity}"


# -- 🛒 and invoices ---------------------------------------------------------------------


async def buy_product(
    update: Update, context: ReelcartContext, user: User, product: Product
) -> None:
    """🛒 on a card: send the product's invoice (or say plainly why it can't be paid here)."""
    query = update.callback_query
    assert query is not None
    lang = user.language
    try:
        checkout = await context.shop.orders.checkout_product(user.id, product.id)
    except ProductNotFound:
        await query.answer(t(lang, "feed.card_unavailable"), show_alert=True)
        return
    except ReelcartError as exc:
        await query.answer(error_text(lang, exc), show_alert=True)
        return
    chat_id = update.effective_chat.id if update.effective_chat else user.id
    if await send_invoice(context, chat_id, lang, checkout, product_id=product.id):
        await query.answer(t(lang, "commerce.invoice_sent"))
    else:
        await query.answer(t(lang, "commerce.invoice_failed"), show_alert=True)


async def send_invoice(
    context: ReelcartContext,
    chat_id: int,
    language: Language,
    checkout: Checkout,
    product_id: int | None = None,
) -> bool:
    """Send the invoice of ``checkout``; False if Telegram refuses it (e.g. the amount)."""
    lines = checkout.lines
    count = sum(line.quantity for line in lines)
    if len(lines) == 1 and lines[0].quantity == 1:
        title = _cut(lines[0].title, 32)
        description = checkout.description.strip() or lines[0].title
    else:
        title = _cut(
            t(language, "commerce.basket_title", merchant=checkout.merchant_name, count=count), 32
        )
        items = ", ".join(_line_label(line) for line in lines)
        description = t(
            language, "commerce.basket_description", merchant=checkout.merchant_name, items=items
        )
    if checkout.catalog_total is not None:
        note = t(
            language,
            "commerce.stars_description",
            description="",
            stars=format_price(checkout.total, language),
            price=format_price(checkout.catalog_total, language),
        ).strip()
        description = f"{_cut(description, 255 - len(note) - 1)} {note}"
    description = _cut(description, 255)
    if checkout.currency == "XTR":
        label = (
            _line_label(lines[0])
            if len(lines) == 1
            else t(language, "commerce.stars_items", count=count)
        )
        prices = [LabeledPrice(_cut(label, 64), checkout.total.minor)]
    else:
        prices = [LabeledPrice(_cut(_line_label(line), 64), line.amount.minor) for line in lines]
    buttons = [
        [
            InlineKeyboardButton(
                t(language, "commerce.btn_pay", total=format_price(checkout.total, language)),
                pay=True,
            )
        ]
    ]
    if product_id is not None:
        buttons.append(
            [
                InlineKeyboardButton(
                    t(language, "commerce.btn_basket_add"), callback_data=f"bk:add:{product_id}"
                )
            ]
        )
    physical = checkout.physical
    try:
        await context.bot.send_invoice(
            chat_id,
            title,
            description,
            checkout.payload,
            checkout.currency,
            prices,
            provider_token=context.shop.settings.payment_provider_token if physical else None,
            need_name=physical or None,
            need_shipping_address=physical or None,
            is_flexible=physical or None,
            reply_markup=InlineKeyboardMarkup(buttons),
        )
    except BadRequest as exc:
        log.warning("Telegram refused the invoice of draft %s: %s", checkout.draft_id, exc)
        return False
    return True


# -- the basket --------------------------------------------------------------------------


def basket_message(view: BasketView, language: Language) -> tuple[str, InlineKeyboardMarkup | None]:
    """The basket as a message: one line per product, pay / remove / empty buttons."""
    if not view.items:
        return t(language, "commerce.basket_empty"), None
    rows = [t(language, "commerce.basket_header", merchant=html.escape(view.merchant_name))]
    buttons = []
    for product, quantity in view.items:
        try:
            unit = charge_price(product)
        except ReelcartError:
            unit = product.price
        rows.append(
            t(
                language,
                "commerce.basket_line",
                title=html.escape(product.title),
                quantity=quantity,
                price=format_price(Money(unit.minor * quantity, unit.currency), language),
            )
        )
        buttons.append(
            [
                InlineKeyboardButton(
                    _cut(t(language, "commerce.btn_basket_remove", title=product.title), 40),
                    callback_data=f"bk:rm:{product.id}",
                )
            ]
        )
    if view.total is not None:
        physical = view.items[0][0].kind is ProductKind.PHYSICAL
        key = "commerce.basket_total_shipping" if physical else "commerce.basket_total"
        total = format_price(view.total, language)
        rows.append(t(language, key, total=total))
        buttons.insert(
            0,
            [
                InlineKeyboardButton(
                    t(language, "commerce.btn_basket_pay", total=total), callback_data="bk:pay"
                )
            ],
        )
    buttons.append(
        [InlineKeyboardButton(t(language, "commerce.btn_basket_clear"), callback_data="bk:clear")]
    )
    return "\n".join(rows), InlineKeyboardMarkup(buttons)


async def basket_command(update: Update, context: ReelcartContext) -> None:
    """/basket: what the shopper gathered, with one button to pay it all."""
    user = await shopper(update, context)
    assert update.message is not None
    view = await context.shop.orders.basket(user.id)
    text, markup = basket_message(view, user.language)
    await update.message.reply_text(text, parse_mode=HTML, reply_markup=markup)


async def basket_button(update: Update, context: ReelcartContext) -> None:
    """Add to the basket (from an invoice), remove, empty, or pay it."""
    query = update.callback_query
    assert query is not None
    user = await shopper(update, context)
    lang = user.language
    match = _BASKET_DATA.match(query.data or "")
    if match is None:
        await query.answer(t(lang, "feed.stale"))
        return
    action = match[1] or match[3]
    orders = context.shop.orders
    try:
        if action == "add":
            view = await orders.add_to_basket(user.id, int(match[2]))
            await query.answer(
                t(lang, "commerce.basket_added", count=view.count, merchant=view.merchant_name),
                show_alert=True,
            )
        elif action == "pay":
            checkout = await orders.checkout_basket(user.id)
            chat_id = update.effective_chat.id if update.effective_chat else user.id
            if await send_invoice(context, chat_id, lang, checkout):
                await query.answer(t(lang, "commerce.invoice_sent"))
            else:
                await query.answer(t(lang, "commerce.invoice_failed"), show_alert=True)
        else:
            if action == "rm":
                view = await orders.remove_from_basket(user.id, int(match[2]))
                note = t(lang, "commerce.basket_removed")
            else:
                await orders.empty_basket(user.id)
                view = BasketView((), None)
                note = t(lang, "commerce.basket_cleared")
            await query.answer(note)
            await _redraw_basket(query, view, lang)
    except ProductNotFound:
        await query.answer(t(lang, "feed.card_unavailable"), show_alert=True)
    except ReelcartError as exc:
        await query.answer(error_text(lang, exc), show_alert=True)


async def _redraw_basket(query: CallbackQuery, view: BasketView, lang: Language) -> None:
    text, markup = basket_message(view, lang)
    message = query.message
    if isinstance(message, Message) and message.text is not None:
        try:
            await message.edit_text(text, parse_mode=HTML, reply_markup=markup)
        except BadRequest as exc:
            log.info("could not redraw the basket: %s", exc)


# -- shipping and pre-checkout -------------------------------------------------------------


async def shipping_query(update: Update, context: ReelcartContext) -> None:
    """Offer the merchant's shipping options for the invoice's currency."""
    query = update.shipping_query
    assert query is not None
    shop = context.shop
    try:
        rates = await shop.orders.shipping_options(query.from_user.id, query.invoice_payload)
    except ReelcartError as exc:
        lang = await language_of_user(shop, query.from_user.id)
        await query.answer(ok=False, error_message=error_text(lang, exc))
        return
    lang = await language_of_user(shop, query.from_user.id)
    options = []
    for rate in rates:
        title = option_title(lang, rate.option_id, rate.title)
        options.append(
            ShippingOption(rate.option_id, title, [LabeledPrice(title, rate.amount_minor)])
        )
    await query.answer(ok=True, shipping_options=options)


async def pre_checkout(update: Update, context: ReelcartContext) -> None:
    """Re-check the invoice (signature, price, stock, still sold) and answer at once."""
    query = update.pre_checkout_query
    assert query is not None
    shop = context.shop
    try:
        await shop.orders.pre_checkout(
            query.from_user.id,
            query.invoice_payload,
            query.currency,
            query.total_amount,
            query.shipping_option_id,
        )
    except ReelcartError as exc:
        lang = await language_of_user(shop, query.from_user.id)
        log.info("pre-checkout of user %s declined: %s", query.from_user.id, exc.message_key)
        await query.answer(ok=False, error_message=error_text(lang, exc))
        return
    except Exception:
        # Never leave Telegram waiting: decline, then let the error handler log it.
        await query.answer(ok=False, error_message=t(Language.EN, "error.generic"))
        raise
    await query.answer(ok=True)


# -- successful payments, receipts and notices ---------------------------------------------


async def successful_payment(update: Update, context: ReelcartContext) -> None:
    """Money moved: the fulfilment service makes its order (once) and tells everyone."""
    message = update.effective_message
    assert message is not None
    payment = Payment.from_message(message.to_dict())
    if payment is None:
        return
    await outbox(context).fulfilment.take_payment(payment)


async def recover(context: ReelcartContext) -> None:
    """Job: finish what a crash interrupted (``Fulfilment.recover``). The first run (at
    start) takes everything; later runs leave the newest to the handlers working on them."""
    data = context.job.data if context.job else None
    grace = float(data) if isinstance(data, int | float) else 0.0
    await outbox(context).fulfilment.recover(grace)


# -- the shopper's orders ------------------------------------------------------------------


def _orders_keyboard(orders: list[Order], language: Language) -> InlineKeyboardMarkup:
    rows = []
    for order in orders:
        title = order.lines[0].title if order.lines else "?"
        if len(order.lines) > 1:
            title = f"{title} +{len(order.lines) - 1}"
        label = t(
            language,
            "commerce.orders_button",
            number=order.number,
            title=_cut(title, 24),
            total=format_price(order.total, language),
            status=status_label(order, language),
        )
        rows.append([InlineKeyboardButton(label, callback_data=show_data(order.id))])
    return InlineKeyboardMarkup(rows)


async def orders_command(update: Update, context: ReelcartContext) -> None:
    """/orders lists the shopper's orders; /orders 12 shows order #12 if it is theirs."""
    user = await shopper(update, context)
    assert update.message is not None
    lang = user.language
    orders = context.shop.orders
    if context.args:
        match = _ORDER_NUMBER.match(context.args[0])
        if match is None:
            text = _cut(" ".join(context.args), 40)
            await update.message.reply_text(t(lang, "commerce.order_number_invalid", text=text))
            return
        try:
            order = await orders.order_of_shopper(user.id, int(match[1]))
        except OrderNotFound:
            await update.message.reply_text(t(lang, "commerce.order_not_found"))
            return
        await update.message.reply_text(order_details(order, lang), parse_mode=HTML)
        return
    mine = await orders.orders_of(user.id)
    if not mine:
        await update.message.reply_text(t(lang, "commerce.orders_empty"))
        return
    await update.message.reply_text(
        t(lang, "commerce.orders_header"), reply_markup=_orders_keyboard(mine, lang)
    )


async def order_button(update: Update, context: ReelcartContext) -> None:
    """An order in /orders (details), or the consent buttons under a receipt."""
    query = update.callback_query
    assert query is not None
    user = await shopper(update, context)
    lang = user.language
    button = parse_order_data(query.data)
    if button is None:
        await query.answer(t(lang, "feed.stale"))
        return
    orders = context.shop.orders
    try:
        consent = button.consent
        if consent is None:
            order = await orders.order_of_shopper(user.id, button.order_id)
            await query.answer()
            await context.bot.send_message(user.id, order_details(order, lang), parse_mode=HTML)
            return
        order = await orders.set_clip_consent(user.id, button.order_id, consent)
    except OrderNotFound:
        await query.answer(t(lang, "commerce.order_not_found"), show_alert=True)
        return
    key = "commerce.consent_yes" if consent else "commerce.consent_no"
    await query.answer(t(lang, key, number=order.number))
    message = query.message
    if isinstance(message, Message):
        try:
            await message.edit_reply_markup(None)
        except BadRequest as exc:
            log.info("could not remove the consent buttons: %s", exc)


# -- merchants: /sales, shipping, preparation clips ------------------------------------


async def sales_command(update: Update, context: ReelcartContext) -> None:
    """/sales: the merchant's newest orders; ``/sales ship 12 TRACKING`` marks one shipped."""
    user = await shopper(update, context)
    message = update.message
    assert message is not None
    lang = user.language
    args = context.args or []
    if args and args[0].lower() in ("ship", "expedier", "expédier"):
        match = _ORDER_NUMBER.match(args[1]) if len(args) >= 3 else None
        if match is None:
            await message.reply_text(t(lang, "commerce.sales_usage"), parse_mode=HTML)
            return
        await _ship(context, message, user, int(match[1]), " ".join(args[2:]))
        return
    try:
        merchant, sales = await context.shop.orders.sales(user.id)
    except NotAMerchant as exc:
        await message.reply_text(error_text(lang, exc))
        return
    if not sales:
        await message.reply_text(
            t(lang, "commerce.sales_empty", merchant=html.escape(merchant.name)), parse_mode=HTML
        )
        return
    rows = [t(lang, "commerce.sales_header", merchant=html.escape(merchant.name))]
    buttons = []
    for order in sales:
        items = ", ".join(f"{line.title} ×{line.quantity}" for line in order.lines)
        rows.append(
            t(
                lang,
                "commerce.sales_line",
                number=order.number,
                status=status_label(order, lang),
                total=format_price(order.total, lang),
                items=html.escape(_cut(items, 80)),
            )
        )
        if order.kind is ProductKind.PHYSICAL and order.status is OrderStatus.PAID:
            buttons.append(
                [
                    InlineKeyboardButton(
                        t(lang, "commerce.btn_mark_shipped", number=order.number),
                        callback_data=ship_data(order.id),
                    )
                ]
            )
    rows += ["", t(lang, "commerce.sales_usage")]
    await message.reply_text(
        "\n".join(rows),
        parse_mode=HTML,
        reply_markup=InlineKeyboardMarkup(buttons) if buttons else None,
    )


async def ship_button(update: Update, context: ReelcartContext) -> None:
    """📦 Mark shipped: ask the merchant for the tracking number (a reply to the prompt)."""
    query = update.callback_query
    assert query is not None
    user = await shopper(update, context)
    lang = user.language
    order_id = parse_ship_data(query.data)
    if order_id is None:
        await query.answer(t(lang, "feed.stale"))
        return
    try:
        order = await context.shop.orders.merchant_order(user.id, order_id)
    except NotAMerchant as exc:
        await query.answer(error_text(lang, exc), show_alert=True)
        return
    except OrderNotFound:
        number = f"#{order_id}"
        await query.answer(
            t(lang, "commerce.merchant_order_not_found", number=number), show_alert=True
        )
        return
    await query.answer()
    await context.bot.send_message(
        user.id,
        t(lang, "commerce.tracking_prompt", number=order.number),
        reply_markup=ForceReply(input_field_placeholder="1Z999AA10123456784"),
    )


class _TrackingReply(filters.MessageFilter):
    """A reply to the bot's tracking-number prompt."""

    def filter(self, message: Message) -> bool:
        """Whether ``message`` answers the tracking-number prompt."""
        replied = message.reply_to_message
        return bool(
            replied is not None
            and replied.from_user is not None
            and replied.from_user.is_bot
            and (replied.text or "").startswith(TRACKING_MARK)
        )


async def tracking_reply(update: Update, context: ReelcartContext) -> None:
    """The merchant answered the prompt with a tracking number."""
    user = await shopper(update, context)
    message = update.message
    assert message is not None and message.reply_to_message is not None
    found = re.search(r"#([1-9][0-9]{0,17})", message.reply_to_message.text or "")
    if found is None:
        await message.reply_text(t(user.language, "feed.stale"))
        return
    await _ship(context, message, user, int(found[1]), message.text or "")


async def _ship(
    context: ReelcartContext, message: Message, user: User, order_id: int, tracking: str
) -> None:
    lang = user.language
    try:
        order = await context.shop.orders.ship(user.id, order_id, tracking)
    except InvalidTracking:
        await message.reply_text(t(lang, "commerce.tracking_invalid"))
        return
    except NotAMerchant as exc:
        await message.reply_text(error_text(lang, exc))
        return
    except OrderNotFound:
        await message.reply_text(
            t(lang, "commerce.merchant_order_not_found", number=f"#{order_id}")
        )
        return
    except OrderNotShippable as exc:
        await message.reply_text(error_text(lang, exc))
        return
    tracking_text = html.escape(order.tracking or "")
    await message.reply_text(
        t(lang, "commerce.shipped_merchant", number=order.number, tracking=tracking_text),
        parse_mode=HTML,
    )
    await outbox(context).fulfilment.shipped(order)


async def preparation_clip(update: Update, context: ReelcartContext) -> None:
    """A merchant's video captioned with an order number: the order's preparation clip."""
    user = await shopper(update, context)
    message = update.message
    assert message is not None and message.video is not None
    match = re.match(CLIP_CAPTION, message.caption or "")
    assert match is not None
    order_id = int(match[1])
    video = message.video
    try:
        order = await context.shop.orders.add_preparation_clip(
            user.id, order_id, video.file_id, _in_seconds(video.duration), video.width, video.height
        )
    except (NotAMerchant, OrderNotFound):
        await message.reply_text(
            t(user.language, "commerce.clip_not_merchant", number=f"#{order_id}")
        )
        return
    await outbox(context).fulfilment.share_preparation_clip(order, video.file_id)
    key = "commerce.clip_saved_shared" if order.clip_consent else "commerce.clip_saved_private"
    await message.reply_text(t(user.language, key, number=order.number))


def _in_seconds(duration: object) -> int | None:
    seconds = getattr(duration, "total_seconds", None)
    if callable(seconds):
        return int(seconds())
    return int(duration) if isinstance(duration, int | float) else None


async def refunded_payment(update: Update, context: ReelcartContext) -> None:
    """Telegram's note that Stars went back: the order already says so; nothing to answer."""


def register(application: ReelcartApplication) -> None:
    """Add the commerce handlers (before the catch-alls) and the recovery jobs."""
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("basket", basket_command))
    application.add_handler(CommandHandler("orders", orders_command))
    application.add_handler(CommandHandler("sales", sales_command))
    application.add_handler(CallbackQueryHandler(basket_button, pattern=r"^bk:"))
    application.add_handler(CallbackQueryHandler(order_button, pattern=r"^or:"))
    application.add_handler(CallbackQueryHandler(ship_button, pattern=r"^sl:"))
    application.add_handler(ShippingQueryHandler(shipping_query))
    application.add_handler(PreCheckoutQueryHandler(pre_checkout))
    application.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, successful_payment))
    application.add_handler(MessageHandler(filters.StatusUpdate.REFUNDED_PAYMENT, refunded_payment))
    application.add_handler(
        MessageHandler(private & filters.TEXT & ~filters.COMMAND & _TrackingReply(), tracking_reply)
    )
    application.add_handler(
        MessageHandler(
            private & filters.VIDEO & filters.CaptionRegex(CLIP_CAPTION), preparation_clip
        )
    )
    jobs = application.job_queue
    if jobs is not None:
        # At start: everything a crash left unfinished; then every minute, what is stuck.
        # The start run is scheduled now but runs once the application starts, however
        # long opening the shop took: never skip it as "missed".
        jobs.run_once(
            recover,
            when=0.5,
            data=0.0,
            name="orders-recover-start",
            job_kwargs={"misfire_grace_time": None},
        )
        jobs.run_repeating(
            recover, interval=60, first=60, data=RECOVERY_GRACE_S, name="orders-recover"
        )
