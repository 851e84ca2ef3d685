"""The moderation queue: products waiting for an admin's yes or no (with the automatic
flags), one merchant's products at a time if asked, a preset or typed rejection reason,
and the product's card as shoppers would see it."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from reelcart.domain import Language, ModerationItem, ProductNotFound, User
from reelcart.handlers.admin.notices import tell_user
from reelcart.handlers.admin.press import Press, Stale, back_button
from reelcart.handlers.kit.callbacks import ADMIN
from reelcart.handlers.kit.context import ReelcartContext, language_of
from reelcart.handlers.kit.prompts import Prompt, ask
from reelcart.handlers.merchant.preview import send_preview
from reelcart.handlers.merchant.products import REASONS, reason_text
from reelcart.i18n import format_price, t
from reelcart.services.admin import Flag

#: In ``user_data``: the merchant whose products the moderator is going through.
QUEUE_FILTER = "reelcart.queue_merchant"


def _flag_text(lang: Language, flag: Flag, category: str) -> str:
    if flag.kind == "blocklist":
        return t(lang, "flag.blocklist", words=", ".join(flag.words))
    if flag.kind in ("price_high", "price_low"):
        assert flag.median is not None
        return t(
            lang,
            f"flag.{flag.kind}",
            ratio=f"{flag.ratio:.1f}",
            category=html.escape(category),
            median=format_price(flag.median, lang),
        )
    return t(lang, f"flag.{flag.kind}")


def _item_text(
    lang: Language, item: ModerationItem, position: int, total: int, flags: list[Flag]
) -> str:
    product = item.product
    description = product.description
    if len(description) > 300:
        description = description[:299] + "…"
    lines = [
        t(lang, "admin.queue_title", position=position, total=total),
        t(
            lang,
            "admin.queue_product",
            title=html.escape(product.title),
            sku=html.escape(product.sku),
            merchant=html.escape(item.merchant.name),
            trust=t(lang, "admin.trusted" if item.merchant.trusted else "admin.untrusted"),
            price=format_price(product.price, lang),
            stock=product.stock,
            category=html.escape(product.category or "—"),
        ),
    ]
    if product.hashtags:
        lines.append(html.escape(" ".join(f"#{tag}" for tag in product.hashtags)))
    if description:
        lines.append(f"<i>{html.escape(description)}</i>")
    if product.shop_url:
        lines.append("🔗 " + html.escape(product.shop_url))
    if flags:
        lines.append(t(lang, "admin.flags"))
        lines += ["• " + _flag_text(lang, flag, product.category) for flag in flags]
    else:
        lines.append(t(lang, "admin.no_flags"))
    return "\n".join(lines)


def _queue_filter(context: ReelcartContext) -> int | None:
    """The merchant whose products the moderator is going through (None: everyone's)."""
    data = context.user_data or {}
    value = data.get(QUEUE_FILTER)
    return value if isinstance(value, int) else None


async def _queue_view(press: Press, offset: int) -> tuple[str, InlineKeyboardMarkup]:
    lang = press.lang
    only = _queue_filter(press.context)
    item, total, flags = await press.shop.admin.queue_item(offset, only)
    if item is None and only is not None:
        # That merchant's products are all decided: on with everyone else's.
        if press.context.user_data is not None:
            press.context.user_data.pop(QUEUE_FILTER, None)
        item, total, flags = await press.shop.admin.queue_item(0)
    if item is None:
        return t(lang, "admin.queue_empty"), InlineKeyboardMarkup([[back_button(lang)]])
    offset = offset % total if total else 0
    pid = item.product.id
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "admin.btn_approve"), callback_data=ADMIN.data("qa", pid, offset)
                ),
                InlineKeyboardButton(
                    t(lang, "admin.btn_reject"), callback_data=ADMIN.data("qr", pid, offset)
                ),
            ],
            [
                InlineKeyboardButton(
                    t(lang, "admin.btn_card"), callback_data=ADMIN.data("qc", pid)
                ),
                InlineKeyboardButton(
                    t(lang, "admin.btn_next"), callback_data=ADMIN.data("q", offset + 1)
                ),
            ],
            [back_button(lang)],
        ]
    )
    return _item_text(lang, item, offset + 1, total, flags), markup


async def screen_queue(press: Press) -> None:
    """``adm:q:<offset>``: the product at ``offset`` in the moderation queue."""
    offset = press.number_or(0, 0)
    await press.answer()
    await press.show(*await _queue_view(press, offset))


async def screen_queue_of(press: Press) -> None:
    """The queue from the start, with one merchant's products only (0: everyone's)."""
    merchant_id = press.number(0)
    if press.context.user_data is not None:
        if merchant_id:
            press.context.user_data[QUEUE_FILTER] = merchant_id
        else:
            press.context.user_data.pop(QUEUE_FILTER, None)
    await press.answer()
    await press.show(*await _queue_view(press, 0))


async def _decide(press: Press, product_id: int, offset: int, approve: bool, note: str) -> None:
    product = await press.shop.admin.decide_product(product_id, approve, press.admin_id, note)
    if product is None:
        await press.answer("admin.already_decided")
    else:
        await press.answer("admin.approved" if approve else "admin.rejected")
        merchant = await press.shop.merchants.merchant(product.merchant_id)
        owner = merchant.owner_user_id if merchant else None
        if approve:
            await tell_user(
                press.context, owner, "merchant.product_approved", title=html.escape(product.title)
            )
        else:
            owner_lang = language_of(await press.shop.feed.user(owner)) if owner else press.lang
            await tell_user(
                press.context,
                owner,
                "merchant.product_rejected",
                title=html.escape(product.title),
                reason=html.escape(reason_text(owner_lang, note)),
            )
    await press.show(*await _queue_view(press, offset))


async def screen_approve(press: Press) -> None:
    """``adm:qa:<product>:<offset>``: approve a product, then the next one."""
    await _decide(press, press.number(0), press.number_or(1, 0), True, "")


async def screen_reasons(press: Press) -> None:
    """``adm:qr:<product>:<offset>``: the reasons to reject a product, to pick one."""
    pid, offset = press.number(0), press.number_or(1, 0)
    lang = press.lang
    try:
        product = await press.shop.feed.product(pid)
    except ProductNotFound:
        raise Stale(pid) from None
    await press.answer()
    rows = [
        [
            InlineKeyboardButton(
                t(lang, f"reason.{code}"), callback_data=ADMIN.data("qx", pid, code, offset)
            )
        ]
        for code in REASONS
    ]
    rows.append(
        [
            InlineKeyboardButton(
                t(lang, "admin.btn_other_reason"), callback_data=ADMIN.data("qo", pid, offset)
            )
        ]
    )
    rows.append([back_button(lang, ADMIN.data("q", offset))])
    await press.show(
        t(lang, "admin.why_reject", title=html.escape(product.title)), InlineKeyboardMarkup(rows)
    )


async def screen_reject(press: Press) -> None:
    """``adm:qx:<product>:<reason>:<offset>``: reject a product for a preset reason."""
    code = press.args[1]
    if code not in REASONS:
        raise Stale(code)
    await _decide(press, press.number(0), press.number_or(2, 0), False, f"#{code}")


async def screen_other_reason(press: Press) -> None:
    """``adm:qo:<product>:<offset>``: ask for a rejection reason to be typed."""
    pid, offset = press.number(0), press.number_or(1, 0)
    ask(press.context, Prompt("admin", "reason", target=pid, data=str(offset)))
    await press.answer()
    await press.context.bot.send_message(press.admin_id, t(press.lang, "admin.ask_reason"))


async def screen_card(press: Press) -> None:
    """``adm:qc:<product>``: the product's card, as shoppers would see it."""
    pid = press.number(0)
    try:
        product = await press.shop.feed.product(pid)
    except ProductNotFound:
        raise Stale(pid) from None
    await press.answer()
    await send_preview(press.context, press.admin_id, product, press.lang)


async def typed_reason(
    update: Update, context: ReelcartContext, user: User, prompt: Prompt, text: str
) -> None:
    """A typed rejection reason: reject the product and tell its merchant why."""
    assert update.message is not None
    lang = user.language
    if not text or len(text) > 300:
        await update.message.reply_text(t(lang, "admin.reason_invalid"))
        ask(context, prompt)
        return
    product = await context.shop.admin.decide_product(prompt.target, False, user.id, text)
    if product is None:
        await update.message.reply_text(t(lang, "admin.already_decided"))
        return
    merchant = await context.shop.merchants.merchant(product.merchant_id)
    await tell_user(
        context,
        merchant.owner_user_id if merchant else None,
        "merchant.product_rejected",
        title=html.escape(product.title),
        reason=html.escape(text),
    )
    await update.message.reply_text(t(lang, "admin.rejected"))
