"""The whole shop's statistics in the admin panel, with the trend chart."""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, InputMediaPhoto
from telegram.constants import ParseMode
from telegram.error import BadRequest

from reelcart.handlers.admin.press import Press, Stale
from reelcart.handlers.kit.callbacks import ADMIN
from reelcart.handlers.merchant.stats import chart_labels, metrics_lines, period_label
from reelcart.i18n import t
from reelcart.services.stats import DEFAULT_PERIOD, PERIODS

log = logging.getLogger(__name__)


async def _stats_photo(press: Press, period: str) -> tuple[bytes, str, InlineKeyboardMarkup]:
    lang = press.lang
    report = await press.shop.stats.report(None, period)
    title = t(lang, "admin.stats_title", period=period_label(lang, period))
    chart = await press.shop.stats.chart(report, chart_labels(lang, title))
    shop = report.shop
    assert shop is not None
    caption = "\n".join(
        [
            f"<b>{html.escape(title)}</b>",
            t(
                lang,
                "admin.stats_people",
                users=shop.users,
                new=shop.new_users,
                active=shop.active_users,
            ),
            t(
                lang,
                "admin.stats_shop",
                merchants=shop.merchants,
                applications=shop.applications,
                pending=shop.pending_products,
                orders=shop.orders,
            ),
            *metrics_lines(lang, report.overall),
        ]
    )
    buttons = [
        InlineKeyboardButton(
            ("• " if p == period else "") + period_label(lang, p), callback_data=ADMIN.data("st", p)
        )
        for p in PERIODS
    ]
    return chart, caption[:1024], InlineKeyboardMarkup([buttons])


async def screen_stats(press: Press) -> None:
    """``adm:stats``: the shop's statistics and chart, as a new message."""
    await press.answer()
    chart, caption, markup = await _stats_photo(press, DEFAULT_PERIOD)
    await press.context.bot.send_photo(
        press.admin_id,
        InputFile(chart, filename="stats.png"),
        caption=caption,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
    )


async def screen_stats_period(press: Press) -> None:
    """``adm:st:<period>``: the same, over another period, in place."""
    period = press.args[0]
    if period not in PERIODS or press.message is None:
        raise Stale(period)
    await press.answer()
    chart, caption, markup = await _stats_photo(press, period)
    try:
        await press.message.edit_media(
            InputMediaPhoto(
                InputFile(chart, filename="stats.png", attach=True),
                caption=caption,
                parse_mode=ParseMode.HTML,
            ),
            reply_markup=markup,
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.info("could not update the stats chart: %s", exc)
