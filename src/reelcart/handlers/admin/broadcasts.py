"""Broadcasts from the admin panel: the text typed, a preview with ✅ Send, delivery with
one progress message edited as it goes, ⏹ Stop, and resuming after a restart."""

from __future__ import annotations

import html
import logging
from typing import cast

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode

from reelcart.domain import Broadcast, BroadcastStatus, Delivery, Language, User
from reelcart.handlers.admin.press import Press, Stale, back_button
from reelcart.handlers.kit.callbacks import ADMIN
from reelcart.handlers.kit.context import ReelcartApplication, ReelcartContext
from reelcart.handlers.kit.errors import error_text
from reelcart.handlers.kit.messenger import outbox
from reelcart.handlers.kit.prompts import Prompt, ask
from reelcart.handlers.kit.status import StatusMessage
from reelcart.i18n import t
from reelcart.services.broadcast import BroadcastTooLong, EmptyBroadcast

log = logging.getLogger(__name__)


async def screen_broadcast(press: Press) -> None:
    """``adm:bc``: ask for the broadcast's text (the next message the admin types)."""
    audience = await press.shop.broadcasts.audience()
    ask(press.context, Prompt("admin", "broadcast"))
    await press.answer()
    await press.show(
        t(press.lang, "admin.broadcast_ask", count=audience),
        InlineKeyboardMarkup([[back_button(press.lang)]]),
    )


def _progress_text(lang: Language, broadcast: Broadcast) -> str:
    counts = broadcast.counts
    done = broadcast.status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED)
    key = {
        BroadcastStatus.DONE: "admin.broadcast_done",
        BroadcastStatus.CANCELLED: "admin.broadcast_stopped",
    }.get(broadcast.status, "admin.broadcast_progress")
    text = t(
        lang,
        key,
        id=broadcast.id,
        done=broadcast.done,
        total=broadcast.total,
        sent=counts[Delivery.SENT],
        blocked=counts[Delivery.BLOCKED],
        failed=counts[Delivery.FAILED],
    )
    if counts[Delivery.UNKNOWN]:
        text += "\n" + t(lang, "admin.broadcast_unknown", count=counts[Delivery.UNKNOWN])
    if not done:
        text += "\n\n" + html.escape(broadcast.text[:200])
    return text


def _stop_button(lang: Language, broadcast_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "admin.btn_stop"), callback_data=ADMIN.data("bcstop", broadcast_id)
                )
            ]
        ]
    )


async def run_broadcast(application: ReelcartApplication, broadcast_id: int) -> None:
    """Deliver a running broadcast, editing its progress message; stops with the bot."""
    shop = application.bot_data.shop
    assert shop is not None
    broadcast = await shop.broadcasts.get(broadcast_id)
    if broadcast is None or broadcast.chat_id is None or broadcast.message_id is None:
        return
    lang = Language(broadcast.language) if broadcast.language in ("en", "fr") else Language.EN
    status = StatusMessage(application.bot, broadcast.chat_id, broadcast.message_id)

    async def progress(current: Broadcast) -> None:
        final = current.status is not BroadcastStatus.RUNNING
        markup = None if final else _stop_button(lang, current.id)
        await status.show(_progress_text(lang, current), final=final, markup=markup)

    try:
        await outbox(application).broadcast(broadcast_id, progress, lambda: application.running)
    except Exception:
        log.exception(
            "broadcast %s stopped by an error; it resumes at the next start", broadcast_id
        )


async def resume_broadcasts(context: ReelcartContext) -> None:
    """At start-up: carry on with broadcasts a previous run did not finish."""
    for broadcast_id in await context.shop.broadcasts.interrupted():
        log.info("resuming broadcast %s", broadcast_id)
        application = cast(ReelcartApplication, context.application)
        application.create_task(
            run_broadcast(application, broadcast_id), name=f"broadcast-{broadcast_id}"
        )


async def screen_broadcast_go(press: Press) -> None:
    """``adm:bcgo:<broadcast>``: ✅ Send a draft (delivery starts whatever the answer meets)."""
    broadcast_id = press.number(0)
    if press.message is None:
        raise Stale(broadcast_id)
    count = await press.shop.broadcasts.start(
        broadcast_id, press.message.chat.id, press.message.message_id, press.admin_id
    )
    if count is None:
        await press.answer("admin.broadcast_not_draft")
        return
    app = cast(ReelcartApplication, press.context.application)
    try:
        await press.answer("admin.broadcast_started", count=count)
        current = await press.shop.broadcasts.get(broadcast_id)
        if current is not None:
            await press.show(
                _progress_text(press.lang, current), _stop_button(press.lang, broadcast_id)
            )
    finally:
        # Delivery starts even if the answer or the progress edit met a fault: a started
        # broadcast must not wait for the next restart.
        app.create_task(run_broadcast(app, broadcast_id), name=f"broadcast-{broadcast_id}")


async def screen_broadcast_cancel(press: Press) -> None:
    """``adm:bcno|bcstop:<broadcast>``: drop a draft, or stop a broadcast under way."""
    broadcast_id = press.number(0)
    stopped = await press.shop.broadcasts.cancel(broadcast_id, press.admin_id)
    await press.answer("admin.broadcast_cancelled" if stopped else "admin.broadcast_not_draft")
    current = await press.shop.broadcasts.get(broadcast_id)
    if current is not None and stopped:
        if current.total:
            await press.show(_progress_text(press.lang, current), None)
        else:
            await press.show(t(press.lang, "admin.broadcast_cancelled"), None)


async def typed_broadcast(
    update: Update, context: ReelcartContext, user: User, prompt: Prompt, text: str
) -> None:
    """The broadcast's text, typed: a draft, previewed with ✅ Send and Cancel."""
    assert update.message is not None
    lang = user.language
    broadcasts = context.shop.broadcasts
    try:
        broadcast_id = await broadcasts.draft(user.id, text, lang.value)
    except (EmptyBroadcast, BroadcastTooLong) as exc:
        await update.message.reply_text(error_text(lang, exc))
        ask(context, prompt)
        return
    audience = await broadcasts.audience()
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "admin.btn_send_to", count=audience),
                    callback_data=ADMIN.data("bcgo", broadcast_id),
                ),
                InlineKeyboardButton(
                    t(lang, "admin.btn_cancel"), callback_data=ADMIN.data("bcno", broadcast_id)
                ),
            ]
        ]
    )
    await update.message.reply_text(
        t(lang, "admin.broadcast_preview", count=audience) + "\n\n" + html.escape(text.strip()),
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
    )
