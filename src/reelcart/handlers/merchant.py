"""Merchants in the chat: /merchant to apply, /upload a catalog, a video to attach a clip,
/products to manage the catalog, /stats with a chart; and restock alerts to shoppers.

Callback data (Telegram allows 64 bytes), all starting ``mer:``:
``mer:pl:<page>`` a page of /products, ``mer:p:<product>:<page>`` one product,
``mer:pause|resume|del|delok:<product>:<page>``, ``mer:price|stock|view:<product>``,
``mer:st:<period>`` / ``mer:sp:<period>`` the /stats chart and its per-product list.
Every product id in a button is checked against the pressing merchant's own catalog.

Typed answers (a shop name, a price, ...) are awaited through ``kit.prompts``; any command
drops the open question.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
from pathlib import Path
from typing import cast

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from reelcart.catalog.decoding import MAX_FILE_BYTES
from reelcart.catalog.importer import STAGES, ImportReport
from reelcart.domain import (
    AlreadyMerchant,
    CatalogFileError,
    Clip,
    FeedCard,
    Language,
    Merchant,
    MerchantState,
    Metrics,
    ModerationState,
    Money,
    NameTaken,
    NotAMerchant,
    Pick,
    Product,
    ProductNotFound,
    ProductStatus,
    ReasonKind,
    StatsReport,
    User,
)
from reelcart.handlers.feed import render
from reelcart.handlers.kit.context import ReelcartApplication, ReelcartContext, shopper
from reelcart.handlers.kit.errors import error_text
from reelcart.handlers.kit.messenger import outbox
from reelcart.handlers.kit.prompts import Prompt, ask, cancel_command, drop_prompt, take_prompt
from reelcart.handlers.kit.status import StatusMessage
from reelcart.i18n import format_price, t
from reelcart.i18n.catalog_report import (
    failed_rows_csv,
    file_reason,
    report_counts,
    row_place,
    row_reason,
)
from reelcart.services.merchants import (
    MAX_DOWNLOAD_BYTES,
    InvalidInput,
    parse_shop_name,
    parse_shop_url,
)
from reelcart.services.messenger import Button
from reelcart.services.stats import DEFAULT_PERIOD, PERIODS, ChartLabels, parse_period

log = logging.getLogger(__name__)

_DATA = re.compile(
    r"^mer:(pl|p|pause|resume|price|stock|view|del|delok|st|sp|noop|pv)"
    r"(?::([0-9a-z]{1,18}))?(?::([0-9]{1,6}))?$"
)
_CSV_NAME = re.compile(r"[^A-Za-z0-9._-]+")
RESTOCK_EVERY = 5.0
#: Preset reasons to reject a product; stored as ``#<code>``, shown in the reader's language.
REASONS = ("prohibited", "misleading", "clip", "price", "quality")


# -- who may use the merchant commands -----------------------------------------------------


async def merchant_or_refuse(
    update: Update, context: ReelcartContext, user: User
) -> Merchant | None:
    """The user's approved shop, or None after telling them clearly why not."""
    try:
        return await context.shop.merchants.require(user.id)
    except NotAMerchant as exc:
        text = error_text(user.language, exc)
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, text)
        return None


# -- /merchant -----------------------------------------------------------------------------


async def merchant_command(update: Update, context: ReelcartContext) -> None:
    """Apply to sell (asking the shop's name, then its link), or say where the shop stands."""
    user = await shopper(update, context)
    assert update.message is not None
    lang = user.language
    mine = await context.shop.merchants.owned(user.id)
    if mine is not None and mine.state is not MerchantState.REJECTED:
        if mine.active:
            await update.message.reply_text(
                t(lang, "merchant.welcome", name=html.escape(mine.name))
                + ("\n" + t(lang, "merchant.trusted") if mine.trusted else ""),
                parse_mode=ParseMode.HTML,
            )
        elif mine.suspended:
            await update.message.reply_text(t(lang, "merchant.suspended"))
        else:
            await update.message.reply_text(
                t(lang, "merchant.application_waiting_named", name=html.escape(mine.name)),
                parse_mode=ParseMode.HTML,
            )
        return
    args = " ".join(context.args or []).strip()
    if args:
        # /merchant <name> <link>: the link is the last word.
        name, _, link = args.rpartition(" ")
        if not name or not link:
            await update.message.reply_text(t(lang, "merchant.usage"), parse_mode=ParseMode.HTML)
            return
        try:
            shop_url = parse_shop_url(link)
        except InvalidInput:
            await update.message.reply_text(t(lang, "merchant.usage"), parse_mode=ParseMode.HTML)
            return
        await _submit(update, context, user, name, shop_url)
        return
    ask(context, Prompt("merchant", "apply_name"))
    await update.message.reply_text(t(lang, "merchant.ask_name"), parse_mode=ParseMode.HTML)


async def _submit(
    update: Update, context: ReelcartContext, user: User, name: str, shop_url: str | None
) -> None:
    assert update.message is not None
    lang = user.language
    try:
        merchant = await context.shop.merchants.apply(user.id, name, shop_url)
    except InvalidInput as exc:
        await update.message.reply_text(error_text(lang, exc))
        ask(context, Prompt("merchant", "apply_name"))
        return
    except NameTaken:
        await update.message.reply_text(t(lang, "merchant.name_taken"))
        ask(context, Prompt("merchant", "apply_name"))
        return
    except AlreadyMerchant:
        await update.message.reply_text(t(lang, "merchant.already"))
        return
    await update.message.reply_text(
        t(lang, "merchant.applied", name=html.escape(merchant.name)), parse_mode=ParseMode.HTML
    )
    await _notify_application(context, merchant, user)


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
        Button(t(lang, "admin.btn_approve"), f"adm:app:{merchant_id}:1"),
        Button(t(lang, "admin.btn_reject"), f"adm:app:{merchant_id}:0"),
    ]


async def _notify_application(context: ReelcartContext, merchant: Merchant, user: User) -> None:
    """A new merchant application reaches every admin with Approve / Reject."""
    name = user.first_name or str(user.id)
    await outbox(context).notices.to_admins(
        lambda lang: application_text(lang, merchant, name, user.id),
        lambda lang: [application_buttons(lang, merchant.id)],
    )


# -- prompts answered ----------------------------------------------------------------------


async def typed_answer(update: Update, context: ReelcartContext) -> None:
    """Text that answers a merchant question (shop name, link, price, stock)."""
    prompt = take_prompt(context, "merchant")
    if prompt is None:
        return  # not for us: the next handler group takes it
    message = update.message
    assert message is not None and message.text is not None
    user = await shopper(update, context)
    lang = user.language
    text = message.text
    if prompt.kind == "apply_name":
        try:
            name = parse_shop_name(text)
        except InvalidInput as exc:
            await message.reply_text(error_text(lang, exc))
            ask(context, Prompt("merchant", "apply_name"))
            raise ApplicationHandlerStop from None
        ask(context, Prompt("merchant", "apply_url", data=name))
        await message.reply_text(
            t(lang, "merchant.ask_url", name=html.escape(name)), parse_mode=ParseMode.HTML
        )
    elif prompt.kind == "apply_url":
        try:
            shop_url = parse_shop_url(text)
        except InvalidInput as exc:
            await message.reply_text(error_text(lang, exc))
            ask(context, prompt)
            raise ApplicationHandlerStop from None
        await _submit(update, context, user, prompt.data, shop_url)
    elif prompt.kind in ("price", "stock"):
        merchant = await merchant_or_refuse(update, context, user)
        if merchant is not None:
            await _typed_value(message, context, merchant, prompt, lang)
    raise ApplicationHandlerStop


async def _typed_value(
    message: Message, context: ReelcartContext, merchant: Merchant, prompt: Prompt, lang: Language
) -> None:
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
            _kick_restock_alerts(context)
    except InvalidInput as exc:
        await message.reply_text(error_text(lang, exc))
        ask(context, prompt)
        return
    except ProductNotFound:
        await message.reply_text(t(lang, "products.not_yours"))
        return
    if product.moderation is ModerationState.PENDING and prompt.kind == "price":
        done += "\n" + t(lang, "products.back_to_moderation")
        await _notify_admins_pending(context, merchant, 1)
    text, markup = await _product_view(context, merchant, product, 0, lang)
    await message.reply_text(done + "\n\n" + text, parse_mode=ParseMode.HTML, reply_markup=markup)


# -- /upload and catalog documents ----------------------------------------------------------


async def upload_command(update: Update, context: ReelcartContext) -> None:
    """Explain how to send a catalog file."""
    user = await shopper(update, context)
    assert update.message is not None
    merchant = await merchant_or_refuse(update, context, user)
    if merchant is None:
        return
    if context.args:
        await update.message.reply_text(t(user.language, "upload.usage"), parse_mode=ParseMode.HTML)
        return
    await update.message.reply_text(
        t(user.language, "upload.prompt", limit_mb=MAX_FILE_BYTES // 2**20),
        parse_mode=ParseMode.HTML,
    )


def _mb(size: int) -> float:
    return round(size / 2**20, 1)


def _stage_line(lang: Language, stage: str, done: int, total: int) -> str:
    mark = "✅" if done >= total else "⏳"
    label = t(lang, f"upload.stage_{stage}")
    if stage == "read":
        return f"{mark} {label}: {max(1, round(done / 1024))} KB"
    if stage == "checked":
        return f"{mark} {label}: " + t(lang, "upload.rows", count=total)
    return f"{mark} {label}: " + t(lang, "upload.n_of_total", done=done, total=total)


def _progress_text(lang: Language, filename: str, stages: dict[str, tuple[int, int]]) -> str:
    lines = [t(lang, "upload.importing", file=html.escape(filename))]
    lines += [_stage_line(lang, stage, *stages[stage]) for stage in STAGES if stage in stages]
    return "\n".join(lines)


async def document_received(update: Update, context: ReelcartContext) -> None:
    """A merchant sent a catalog file: import it, editing one status message as it goes."""
    user = await shopper(update, context)
    message = update.message
    assert message is not None and message.document is not None
    lang = user.language
    document = message.document
    if (document.mime_type or "").startswith("video/"):
        await message.reply_text(t(lang, "clip.send_as_video"))
        return
    merchant = await merchant_or_refuse(update, context, user)
    if merchant is None:
        return
    filename = document.file_name or "catalog"
    limit_mb = MAX_FILE_BYTES // 2**20
    if document.file_size and document.file_size > MAX_FILE_BYTES:
        # Checked before downloading: Telegram would refuse to hand a bot the file anyway.
        reason = t(
            lang, "error.catalog_file.too_large", size_mb=_mb(document.file_size), limit_mb=limit_mb
        )
        await message.reply_text(
            t(lang, "upload.refused", file=html.escape(filename), reason=html.escape(reason)),
            parse_mode=ParseMode.HTML,
        )
        return
    status = StatusMessage.of(
        await message.reply_text(_progress_text(lang, filename, {}), parse_mode=ParseMode.HTML)
    )
    try:
        tg_file = await document.get_file()
        data = bytes(await tg_file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("could not download catalog %r: %s", filename, exc)
        await status.show(t(lang, "upload.download_failed", file=html.escape(filename)), final=True)
        return
    report = await _import(context, status, merchant, data, filename, lang)
    if report is None:
        return
    await _report(context, message, status, merchant, report, filename, lang)


async def _import(
    context: ReelcartContext,
    status: StatusMessage,
    merchant: Merchant,
    data: bytes,
    filename: str,
    lang: Language,
) -> ImportReport | None:
    """Run the import on a worker thread; its progress comes back to the loop to edit the
    status message."""
    loop = asyncio.get_running_loop()
    stages: dict[str, tuple[int, int]] = {}
    last_hop = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        # Called on the import thread: only hop to the event loop when there is news.
        fresh = stage not in stages
        stages[stage] = (done, total)
        now = time.monotonic()
        if fresh or done >= total or now - last_hop[0] >= 0.5:
            last_hop[0] = now
            text = _progress_text(lang, filename, dict(stages))
            asyncio.run_coroutine_threadsafe(status.show(text), loop)

    try:
        return await asyncio.to_thread(
            context.shop.import_bytes, data, filename, merchant.name, progress
        )
    except CatalogFileError as exc:
        reason = file_reason(lang, exc)
        await status.show(
            t(lang, "upload.refused", file=html.escape(filename), reason=html.escape(reason)),
            final=True,
        )
        return None


async def _report(
    context: ReelcartContext,
    message: Message,
    status: StatusMessage,
    merchant: Merchant,
    report: ImportReport,
    filename: str,
    lang: Language,
) -> None:
    counts = await context.shop.merchants.moderation_summary(report.changed_ids)
    pending = counts[ModerationState.PENDING]
    lines = [
        t(lang, "upload.done", file=html.escape(filename)),
        t(lang, "upload.counts", **report_counts(report)),
    ]
    if pending:
        lines.append(t(lang, "upload.pending", count=pending))
    elif report.created or report.updated:
        lines.append(t(lang, "upload.live", count=report.created + report.updated))
    if report.errors:
        lines.append(t(lang, "upload.failed_header", count=report.failed))
        for error in report.errors[:5]:
            where, reason = row_place(lang, error), row_reason(lang, error)
            lines.append(
                t(lang, "upload.error_line", where=html.escape(where), reason=html.escape(reason))
            )
        if len(report.errors) > 5:
            lines.append(t(lang, "upload.more_errors", count=len(report.errors) - 5))
    await status.show("\n".join(lines), final=True)
    if report.errors:
        stem = _CSV_NAME.sub("-", Path(filename).stem).strip("-") or "catalog"
        await message.reply_document(
            InputFile(failed_rows_csv(report.errors, lang), filename=f"{stem}-failed-rows.csv"),
            caption=t(lang, "upload.failed_file", count=report.failed),
        )
    if pending:
        await _notify_admins_pending(context, merchant, pending)
    _kick_restock_alerts(context)


async def _notify_admins_pending(context: ReelcartContext, merchant: Merchant, count: int) -> None:
    """Tell the admins that products wait in the moderation queue."""
    await outbox(context).notices.to_admins(
        lambda lang: t(lang, "admin.new_pending", count=count, merchant=html.escape(merchant.name)),
        lambda lang: [[Button(t(lang, "admin.btn_open_queue"), f"adm:qm:{merchant.id}")]],
    )


# -- clips ---------------------------------------------------------------------------------


async def video_received(update: Update, context: ReelcartContext) -> None:
    """A merchant sent a video captioned with a SKU: it becomes that product's clip."""
    user = await shopper(update, context)
    message = update.message
    assert message is not None and message.video is not None
    lang = user.language
    merchant = await merchant_or_refuse(update, context, user)
    if merchant is None:
        return
    video = message.video
    sku = (message.caption or "").strip()
    if not sku:
        await message.reply_text(t(lang, "clip.caption_needed"), parse_mode=ParseMode.HTML)
        return
    merchants = context.shop.merchants
    try:
        product = await merchants.product_by_sku(merchant.id, sku)
    except InvalidInput:
        await message.reply_text(t(lang, "clip.caption_needed"), parse_mode=ParseMode.HTML)
        return
    except ProductNotFound:
        await message.reply_text(
            t(lang, "clip.unknown_sku", sku=html.escape(sku)), parse_mode=ParseMode.HTML
        )
        return
    if video.file_size and video.file_size > MAX_DOWNLOAD_BYTES:
        await message.reply_text(t(lang, "clip.too_large", limit_mb=MAX_DOWNLOAD_BYTES // 2**20))
        return
    suffix = ".gif" if video.mime_type == "image/gif" else ".mp4"
    path = merchants.clip_path(merchant.id, product.sku, suffix)
    try:
        data = bytes(await (await video.get_file()).download_as_bytearray())
    except TelegramError as exc:
        log.warning("could not download clip for %s: %s", product.sku, exc)
        await message.reply_text(t(lang, "clip.download_failed"))
        return
    await asyncio.to_thread(_write_file, path, data)
    clip = Clip(
        product_id=product.id,
        source=str(path),
        mime_type=video.mime_type or "video/mp4",
        duration=video.duration if isinstance(video.duration, int) else None,
        width=video.width,
        height=video.height,
        file_id=video.file_id,
    )
    product = await merchants.attach_clip(merchant.id, product.sku, clip)
    text = t(lang, "clip.attached", title=_title(product), sku=html.escape(product.sku))
    if product.moderation is ModerationState.PENDING:
        text += "\n" + t(lang, "clip.pending")
        await _notify_admins_pending(context, merchant, 1)
    await message.reply_text(text, parse_mode=ParseMode.HTML)


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


# -- /products -----------------------------------------------------------------------------


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
            [InlineKeyboardButton(label, callback_data=f"mer:p:{product.id}:{listing.page}")]
        )
    if listing.pages > 1:
        nav = []
        if listing.page > 0:
            nav.append(InlineKeyboardButton("◀️", callback_data=f"mer:pl:{listing.page - 1}"))
        nav.append(
            InlineKeyboardButton(f"{listing.page + 1}/{listing.pages}", callback_data="mer:noop")
        )
        if listing.page + 1 < listing.pages:
            nav.append(InlineKeyboardButton("▶️", callback_data=f"mer:pl:{listing.page + 1}"))
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
            t(lang, "products.btn_resume"), callback_data=f"mer:resume:{pid}:{page}"
        )
        if product.status is ProductStatus.PAUSED
        else InlineKeyboardButton(
            t(lang, "products.btn_pause"), callback_data=f"mer:pause:{pid}:{page}"
        )
    )
    markup = InlineKeyboardMarkup(
        [
            [
                toggle,
                InlineKeyboardButton(t(lang, "products.btn_view"), callback_data=f"mer:view:{pid}"),
            ],
            [
                InlineKeyboardButton(
                    t(lang, "products.btn_price"), callback_data=f"mer:price:{pid}"
                ),
                InlineKeyboardButton(
                    t(lang, "products.btn_stock"), callback_data=f"mer:stock:{pid}"
                ),
            ],
            [
                InlineKeyboardButton(
                    t(lang, "products.btn_delete"), callback_data=f"mer:del:{pid}:{page}"
                ),
                InlineKeyboardButton(t(lang, "products.btn_back"), callback_data=f"mer:pl:{page}"),
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
    match = _DATA.match(query.data or "")
    if match is None:
        await query.answer(t(lang, "feed.stale"))
        return
    merchant = await merchant_or_refuse(update, context, user)
    if merchant is None:
        return
    action, first, second = match[1], match[2], match[3]
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
            await _edit_stats(context, message, merchant, first, lang)
        else:
            await _send_product_stats(context, user.id, merchant, first, lang)
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
            _kick_restock_alerts(context)
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
                        callback_data=f"mer:delok:{product.id}:{page}",
                    ),
                    InlineKeyboardButton(
                        t(lang, "products.btn_cancel"), callback_data=f"mer:p:{product.id}:{page}"
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


async def send_preview(
    context: ReelcartContext, chat_id: int, product: Product, lang: Language
) -> Message:
    """The product's card as shoppers see it (its buttons only answer "preview")."""
    clip = await context.shop.clip(product.id)
    card = FeedCard(0, product, clip, Pick(product.id, ReasonKind.REQUESTED))
    shopper_markup = render.card_keyboard(card, lang)
    rows = [
        [
            button
            if button.callback_data is None
            else InlineKeyboardButton(button.text, callback_data="mer:pv")
            for button in row
        ]
        for row in shopper_markup.inline_keyboard
    ]
    caption = t(lang, "products.preview") + "\n\n" + render.caption(product, lang)
    markup = InlineKeyboardMarkup(rows)
    if clip is not None:
        try:
            return await _send_clip(context, chat_id, clip, caption, markup)
        except BadRequest as exc:
            # A clip Telegram cannot fetch (a broken video_url): preview without it.
            log.warning("preview clip of product %s failed: %s", product.id, exc)
    image = await context.shop.placeholder_image(product)
    return await context.bot.send_photo(
        chat_id,
        InputFile(image, filename="card.png"),
        caption=caption,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
    )


async def _send_clip(
    context: ReelcartContext,
    chat_id: int,
    clip: Clip,
    caption: str,
    markup: InlineKeyboardMarkup,
) -> Message:
    media: str | InputFile
    if clip.file_id:
        media = clip.file_id
    elif clip.source.startswith(("http://", "https://")):
        media = clip.source
    else:
        data = await asyncio.to_thread(Path(clip.source).read_bytes)
        media = InputFile(data, filename=Path(clip.source).name)
    bot = context.bot
    if clip.is_animation:
        sent = await bot.send_animation(
            chat_id, media, caption=caption, parse_mode=ParseMode.HTML, reply_markup=markup
        )
    else:
        sent = await bot.send_video(
            chat_id,
            media,
            caption=caption,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            duration=clip.duration,
            width=clip.width,
            height=clip.height,
            supports_streaming=True,
        )
    uploaded = sent.video or sent.animation
    if not clip.file_id and uploaded is not None:
        await context.shop.feed.clip_uploaded(clip, uploaded.file_id)
    return sent


# -- /stats --------------------------------------------------------------------------------


def _money(revenue: dict[str, int], lang: Language) -> str:
    if not revenue:
        return format_price(Money(0, "EUR"), lang)
    return " + ".join(
        format_price(Money(minor, cur), lang) for cur, minor in sorted(revenue.items())
    )


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _seconds_text(ms: int | None) -> str:
    return "—" if ms is None else f"{ms / 1000:.1f} s"


def period_label(lang: Language, period: str) -> str:
    return (
        t(lang, "stats.period_all")
        if period == "all"
        else t(lang, "stats.period_days", days=period)
    )


def metrics_lines(lang: Language, metrics: Metrics) -> list[str]:
    """The numbers of a period, for /stats and the admin panel."""
    return [
        t(
            lang,
            "stats.line_reach",
            impressions=metrics.impressions,
            likes=metrics.likes,
            dwell=_seconds_text(metrics.avg_dwell_ms),
        ),
        t(
            lang,
            "stats.line_sales",
            clicks=metrics.shop_clicks,
            purchases=metrics.purchases,
            revenue=_money(metrics.revenue, lang),
            conversion=_percent(metrics.conversion),
        ),
    ]


def stats_caption(lang: Language, name: str, period: str, report: StatsReport) -> str:
    lines = [
        t(lang, "stats.title", name=html.escape(name), period=period_label(lang, period)),
        *metrics_lines(lang, report.overall),
    ]
    if report.creators:
        top = ", ".join(
            f"{html.escape(c.name)} {c.clicks}/{c.purchases}" for c in report.creators[:3]
        )
        lines.append(
            t(
                lang,
                "stats.creators",
                clicks=report.overall.referral_clicks,
                purchases=report.overall.referred_purchases,
                top=top,
            )
        )
    if report.products:
        lines.append(t(lang, "stats.top"))
        for number, item in enumerate(report.products[:3], start=1):
            title = item.title if len(item.title) <= 32 else item.title[:31] + "…"
            lines.append(
                t(
                    lang,
                    "stats.top_line",
                    number=number,
                    title=html.escape(title),
                    impressions=item.metrics.impressions,
                    likes=item.metrics.likes,
                    purchases=item.metrics.purchases,
                )
            )
    else:
        lines.append(t(lang, "stats.nothing_yet"))
    return "\n".join(lines)[:1024]


def _period_keyboard(lang: Language, current: str, prefix: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            ("• " if period == current else "") + period_label(lang, period),
            callback_data=f"{prefix}:st:{period}",
        )
        for period in PERIODS
    ]
    rows = [buttons]
    if prefix == "mer":
        rows.append(
            [InlineKeyboardButton(t(lang, "stats.btn_products"), callback_data=f"mer:sp:{current}")]
        )
    return InlineKeyboardMarkup(rows)


def chart_labels(lang: Language, title: str) -> ChartLabels:
    return ChartLabels(
        title=title,
        impressions=t(lang, "stats.chart_impressions"),
        likes=t(lang, "stats.chart_likes"),
        purchases=t(lang, "stats.chart_purchases"),
        day=t(lang, "stats.chart_day"),
    )


async def stats_command(update: Update, context: ReelcartContext) -> None:
    """The merchant's statistics over a period, with the trend chart."""
    user = await shopper(update, context)
    assert update.message is not None and update.effective_chat is not None
    lang = user.language
    merchant = await merchant_or_refuse(update, context, user)
    if merchant is None:
        return
    period = DEFAULT_PERIOD
    if context.args:
        try:
            if len(context.args) > 2:
                raise InvalidInput("stats.usage")
            period = parse_period(" ".join(context.args))
        except InvalidInput:
            await update.message.reply_text(t(lang, "stats.usage"), parse_mode=ParseMode.HTML)
            return
    await context.bot.send_chat_action(update.effective_chat.id, "upload_photo")
    report = await context.shop.stats.report(merchant.id, period)
    title = f"{merchant.name} · {period_label(lang, period)}"
    chart = await context.shop.stats.chart(report, chart_labels(lang, title))
    await update.message.reply_photo(
        InputFile(chart, filename="stats.png"),
        caption=stats_caption(lang, merchant.name, period, report),
        parse_mode=ParseMode.HTML,
        reply_markup=_period_keyboard(lang, period, "mer"),
    )


async def _edit_stats(
    context: ReelcartContext, message: Message, merchant: Merchant, period: str, lang: Language
) -> None:
    report = await context.shop.stats.report(merchant.id, period)
    title = f"{merchant.name} · {period_label(lang, period)}"
    chart = await context.shop.stats.chart(report, chart_labels(lang, title))
    try:
        await message.edit_media(
            InputMediaPhoto(
                InputFile(chart, filename="stats.png", attach=True),
                caption=stats_caption(lang, merchant.name, period, report),
                parse_mode=ParseMode.HTML,
            ),
            reply_markup=_period_keyboard(lang, period, "mer"),
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.info("could not update the stats chart: %s", exc)


async def _send_product_stats(
    context: ReelcartContext, chat_id: int, merchant: Merchant, period: str, lang: Language
) -> None:
    report = await context.shop.stats.report(merchant.id, period)
    lines = [
        t(
            lang,
            "stats.products_title",
            name=html.escape(merchant.name),
            period=period_label(lang, period),
        )
    ]
    for item in report.products:
        m = item.metrics
        line = t(
            lang,
            "stats.product_line",
            title=html.escape(item.title),
            impressions=m.impressions,
            likes=m.likes,
            dwell=_seconds_text(m.avg_dwell_ms),
            clicks=m.shop_clicks,
            purchases=m.purchases,
            revenue=_money(m.revenue, lang),
            conversion=_percent(m.conversion),
        )
        if m.referral_clicks or m.referred_purchases:
            line += " · " + t(
                lang,
                "stats.product_referrals",
                clicks=m.referral_clicks,
                purchases=m.referred_purchases,
            )
        if sum(len(x) + 1 for x in lines) + len(line) > 3900:
            lines.append(
                t(lang, "stats.more_products", count=len(report.products) - len(lines) + 1)
            )
            break
        lines.append(line)
    if not report.products:
        lines.append(t(lang, "stats.nothing_yet"))
    await context.bot.send_message(chat_id, "\n".join(lines), parse_mode=ParseMode.HTML)


# -- restock alerts ------------------------------------------------------------------------


def _kick_restock_alerts(context: ReelcartContext) -> None:
    """Deliver restock alerts soon (the periodic job would, a few seconds later)."""
    application = cast(ReelcartApplication, context.application)
    if application.job_queue is not None:
        # A loaded event loop may start it late: late is fine, skipped is not.
        application.job_queue.run_once(
            deliver_restock_alerts,
            0.2,
            name="restock-now",
            job_kwargs={"misfire_grace_time": None},
        )


async def settle_restock_alerts(context: ReelcartContext) -> None:
    """Job, at start-up: alerts a previous run was sending are not sent again; then the
    due ones go (``RestockAlerts``)."""
    await outbox(context).restock.settle()
    await deliver_restock_alerts(context)


async def deliver_restock_alerts(context: ReelcartContext) -> None:
    """Job: tell shoppers, once, that a product they like is back in stock."""
    if context.bot_data.shop is None:
        return
    application = context.application
    # A stop ends the run (what is left goes at the next start); a run made outside a
    # running application (a test, a script) goes to the end.
    outside = not application.running
    await outbox(context).restock.deliver(lambda: outside or application.running)


# -- registration --------------------------------------------------------------------------


def register(application: ReelcartApplication) -> None:
    private = filters.ChatType.PRIVATE
    # Group -3: any command drops an open question; -2: typed answers to merchant questions.
    application.add_handler(MessageHandler(filters.COMMAND & private, drop_prompt), group=-3)
    application.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & ~filters.REPLY & private, typed_answer),
        group=-2,
    )
    application.add_handler(CommandHandler("merchant", merchant_command))
    application.add_handler(CommandHandler("upload", upload_command))
    application.add_handler(CommandHandler("products", products_command))
    application.add_handler(CommandHandler("stats", stats_command))
    application.add_handler(CommandHandler("cancel", cancel_command))
    application.add_handler(MessageHandler(filters.Document.ALL & private, document_received))
    application.add_handler(MessageHandler(filters.VIDEO & private, video_received))
    application.add_handler(CallbackQueryHandler(merchant_button, pattern=r"^mer:"))
    if application.job_queue is not None:
        # Scheduled before the shop opens (slow): however late the job queue starts, run it.
        application.job_queue.run_once(
            settle_restock_alerts,
            1.0,
            name="restock-settle",
            job_kwargs={"misfire_grace_time": None},
        )
        application.job_queue.run_repeating(
            deliver_restock_alerts,
            interval=RESTOCK_EVERY,
            first=RESTOCK_EVERY,
            name="restock-alerts",
        )
