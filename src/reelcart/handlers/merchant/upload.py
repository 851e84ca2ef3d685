"""Catalog files and clips: /upload explains, a document sent is imported (one status
message edited as it goes), a video captioned with a SKU becomes that product's clip."""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
from pathlib import Path

from telegram import InputFile, Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from reelcart.catalog.decoding import MAX_FILE_BYTES
from reelcart.catalog.importer import STAGES, ImportReport
from reelcart.domain import (
    CatalogFileError,
    Clip,
    Language,
    Merchant,
    ModerationState,
    ProductNotFound,
)
from reelcart.handlers.kit.context import ReelcartContext, shopper
from reelcart.handlers.kit.status import StatusMessage
from reelcart.handlers.merchant.notices import notify_admins_pending
from reelcart.handlers.merchant.onboarding import merchant_or_refuse
from reelcart.handlers.merchant.restock import kick_restock_alerts
from reelcart.i18n import t
from reelcart.i18n.catalog_report import (
    failed_rows_csv,
    file_reason,
    report_counts,
    row_place,
    row_reason,
)
from reelcart.services.merchants import MAX_DOWNLOAD_BYTES, InvalidInput

log = logging.getLogger(__name__)

_CSV_NAME = re.compile(r"[^A-Za-z0-9._-]+")


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
        await notify_admins_pending(context, merchant, pending)
    kick_restock_alerts(context)


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
    text = t(lang, "clip.attached", title=html.escape(product.title), sku=html.escape(product.sku))
    if product.moderation is ModerationState.PENDING:
        text += "\n" + t(lang, "clip.pending")
        await notify_admins_pending(context, merchant, 1)
    await message.reply_text(text, parse_mode=ParseMode.HTML)


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
