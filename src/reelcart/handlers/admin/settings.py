"""The shop's settings in the admin panel: the discovery rate and the merchant run."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from reelcart.domain import Language
from reelcart.handlers.admin.press import Press, Stale, back_button
from reelcart.handlers.kit.callbacks import ADMIN
from reelcart.i18n import t
from reelcart.services.admin import DISCOVERY_CHOICES, MERCHANT_RUN_CHOICES, ShopSettings


def _settings_view(lang: Language, settings: ShopSettings) -> tuple[str, InlineKeyboardMarkup]:
    run = settings.max_merchant_run
    text = t(
        lang,
        "admin.settings",
        rate=round(settings.discovery_rate * 100),
        run=t(lang, "admin.run_none") if run == 0 else t(lang, "admin.run_cards", count=run),
    )
    current_rate = round(settings.discovery_rate * 100)
    rates = [
        InlineKeyboardButton(
            ("• " if p == current_rate else "") + f"{p}%", callback_data=ADMIN.data("sd", p)
        )
        for p in DISCOVERY_CHOICES
    ]
    runs = [
        InlineKeyboardButton(
            ("• " if n == run else "") + ("∞" if n == 0 else str(n)),
            callback_data=ADMIN.data("sm", n),
        )
        for n in MERCHANT_RUN_CHOICES
    ]
    return text, InlineKeyboardMarkup([rates, runs, [back_button(lang)]])


async def screen_settings(press: Press) -> None:
    """``adm:set``: the settings, with their choices."""
    await press.answer()
    await press.show(*_settings_view(press.lang, await press.shop.admin.settings()))


async def screen_set_discovery(press: Press) -> None:
    """``adm:sd:<percent>``: the share of discovery picks in the feed."""
    try:
        settings = await press.shop.admin.set_discovery_percent(press.number(0), press.admin_id)
    except ValueError:
        raise Stale(press.args[0]) from None
    await press.answer("admin.setting_saved")
    await press.show(*_settings_view(press.lang, settings))


async def screen_set_run(press: Press) -> None:
    """``adm:sm:<cards>``: the most cards of one merchant in a row (0: no limit)."""
    try:
        settings = await press.shop.admin.set_merchant_run(press.number(0), press.admin_id)
    except ValueError:
        raise Stale(press.args[0]) from None
    await press.answer("admin.setting_saved")
    await press.show(*_settings_view(press.lang, settings))
