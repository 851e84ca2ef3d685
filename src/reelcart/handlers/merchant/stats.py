"""/stats: a merchant's numbers over a period, with the trend chart and a per-product list."""

from __future__ import annotations

import html
import logging

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from reelcart.domain import Language, Merchant, Metrics, Money, StatsReport
from reelcart.handlers.kit.callbacks import MERCHANT
from reelcart.handlers.kit.context import ReelcartContext, shopper
from reelcart.handlers.merchant.onboarding import merchant_or_refuse
from reelcart.i18n import format_price, t
from reelcart.services.merchants import InvalidInput
from reelcart.services.stats import DEFAULT_PERIOD, PERIODS, ChartLabels, parse_period

log = logging.getLogger(__name__)


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
    """A period (``PERIODS``) in words: the last N days, or all time."""
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
    """The /stats chart's caption: the numbers, the creators, the top products."""
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


def _period_keyboard(lang: Language, current: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            ("• " if period == current else "") + period_label(lang, period),
            callback_data=MERCHANT.data("st", period),
        )
        for period in PERIODS
    ]
    products = InlineKeyboardButton(
        t(lang, "stats.btn_products"), callback_data=MERCHANT.data("sp", current)
    )
    return InlineKeyboardMarkup([buttons, [products]])


def chart_labels(lang: Language, title: str) -> ChartLabels:
    """The chart's title and legend in ``lang``."""
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
        reply_markup=_period_keyboard(lang, period),
    )


async def edit_stats(
    context: ReelcartContext, message: Message, merchant: Merchant, period: str, lang: Language
) -> None:
    """Redraw the /stats chart in ``message`` for another period."""
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
            reply_markup=_period_keyboard(lang, period),
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.info("could not update the stats chart: %s", exc)


async def send_product_stats(
    context: ReelcartContext, chat_id: int, merchant: Merchant, period: str, lang: Language
) -> None:
    """Send the numbers of every product of the period, as one message."""
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
