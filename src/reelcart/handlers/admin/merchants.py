"""Merchants in the admin panel: applications to approve or reject, trust and suspension."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from reelcart.domain import MerchantSummary
from reelcart.handlers.admin.notices import tell_user
from reelcart.handlers.admin.press import Press, Stale, back_button
from reelcart.handlers.kit.callbacks import ADMIN
from reelcart.handlers.kit.menus import menu_extras, set_chat_menu
from reelcart.handlers.merchant.notices import application_buttons, application_text
from reelcart.i18n import t


async def screen_applications(press: Press) -> None:
    """``adm:apps:<offset>``: one merchant application waiting, with Approve / Reject."""
    lang = press.lang
    offset = press.number_or(0, 0)
    found, total = await press.shop.admin.applications(offset)
    if not found and total:
        offset = 0
        found, total = await press.shop.admin.applications(0)
    await press.answer()
    if not found:
        await press.show(
            t(lang, "admin.applications_empty"), InlineKeyboardMarkup([[back_button(lang)]])
        )
        return
    application = found[0]
    applicant = application.first_name + (
        f" (@{application.username})" if application.username else ""
    )
    text = t(lang, "admin.applications_title", position=offset + 1, total=total) + "\n"
    text += application_text(
        lang, application.merchant, applicant, application.merchant.owner_user_id or 0
    )
    decide = application_buttons(lang, application.merchant.id)
    rows = [[InlineKeyboardButton(b.label, callback_data=b.callback_data) for b in decide]]
    if total > 1:
        rows.append(
            [
                InlineKeyboardButton(
                    t(lang, "admin.btn_next"), callback_data=ADMIN.data("apps", offset + 1)
                )
            ]
        )
    rows.append([back_button(lang)])
    await press.show(text, InlineKeyboardMarkup(rows))


async def screen_decide_application(press: Press) -> None:
    """``adm:app:<merchant>:<1|0>``: approve or reject an application, and tell the applicant."""
    merchant_id, approve = press.number(0), press.args[1] == "1"
    if press.args[1] not in ("0", "1"):
        raise Stale(press.args[1])
    lang = press.lang
    merchant = await press.shop.admin.decide_application(merchant_id, approve, press.admin_id)
    if merchant is None:
        await press.answer("admin.already_decided")
        current = await press.shop.merchants.merchant(merchant_id)
        if current is not None and press.message is not None:
            await press.show(
                t(
                    lang,
                    "admin.application_state",
                    name=html.escape(current.name),
                    state=t(lang, f"admin.state_{current.state.value}"),
                ),
                None,
            )
        return
    await press.answer("admin.approved" if approve else "admin.rejected")
    owner = merchant.owner_user_id
    if approve:
        if owner is not None:  # the menu first: it is there when they read the news
            await set_chat_menu(
                press.context.bot, owner, menu_extras(True, press.shop.admin.is_admin(owner))
            )
        await tell_user(press.context, owner, "merchant.approved", name=html.escape(merchant.name))
    else:
        await tell_user(press.context, owner, "merchant.rejected", name=html.escape(merchant.name))
    await press.show(
        t(
            lang,
            "admin.application_state",
            name=html.escape(merchant.name),
            state=t(lang, f"admin.state_{merchant.state.value}"),
        ),
        InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t(lang, "admin.btn_more_applications"), callback_data=ADMIN.data("apps", 0)
                    ),
                    back_button(lang),
                ]
            ]
        ),
    )


def _merchant_label(summary: MerchantSummary) -> str:
    merchant = summary.merchant
    icon = "⛔" if merchant.suspended else ("⭐" if merchant.trusted else "🏪")
    label = f"{icon} {merchant.name} · {summary.products}"
    return label if len(label) <= 60 else label[:59] + "…"


async def screen_merchants(press: Press) -> None:
    """``adm:ms:<page>``: a page of merchants."""
    lang = press.lang
    found, page, pages = await press.shop.admin.merchants(press.number_or(0, 0))
    await press.answer()
    rows = [
        [InlineKeyboardButton(_merchant_label(s), callback_data=ADMIN.data("m", s.merchant.id))]
        for s in found
    ]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton("◀️", callback_data=ADMIN.data("ms", page - 1)))
    if page + 1 < pages:
        nav.append(InlineKeyboardButton("▶️", callback_data=ADMIN.data("ms", page + 1)))
    if nav:
        rows.append(nav)
    rows.append([back_button(lang)])
    key = "admin.merchants_title" if found else "admin.merchants_empty"
    await press.show(t(lang, key, page=page + 1, pages=pages), InlineKeyboardMarkup(rows))


async def _merchant_view(press: Press, merchant_id: int) -> tuple[str, InlineKeyboardMarkup]:
    lang = press.lang
    summary = await press.shop.admin.merchant(merchant_id)
    if summary is None:
        raise Stale(merchant_id)
    merchant = summary.merchant
    text = t(
        lang,
        "admin.merchant_detail",
        name=html.escape(merchant.name),
        url=html.escape(merchant.shop_url or "—"),
        owner=merchant.owner_user_id or "—",
        products=summary.products,
        pending=summary.pending,
        trust=t(lang, "admin.trusted_long" if merchant.trusted else "admin.untrusted_long"),
        state=t(lang, "admin.suspended_long" if merchant.suspended else "admin.active_long"),
    )
    mid = merchant.id
    trust = (
        InlineKeyboardButton(t(lang, "admin.btn_untrust"), callback_data=ADMIN.data("mt", mid, 0))
        if merchant.trusted
        else InlineKeyboardButton(
            t(lang, "admin.btn_trust"), callback_data=ADMIN.data("mt", mid, 1)
        )
    )
    suspend = (
        InlineKeyboardButton(t(lang, "admin.btn_reinstate"), callback_data=ADMIN.data("mx", mid, 0))
        if merchant.suspended
        else InlineKeyboardButton(
            t(lang, "admin.btn_suspend"), callback_data=ADMIN.data("mx", mid, 1)
        )
    )
    return text, InlineKeyboardMarkup([[trust, suspend], [back_button(lang, ADMIN.data("ms", 0))]])


async def screen_merchant(press: Press) -> None:
    """``adm:m:<merchant>``: one merchant, with trust and suspend."""
    view = await _merchant_view(press, press.number(0))
    await press.answer()
    await press.show(*view)


async def _merchant_flag(press: Press, flag: str) -> None:
    merchant_id, value = press.number(0), press.args[1]
    if value not in ("0", "1"):
        raise Stale(value)
    on = value == "1"
    admin = press.shop.admin
    if flag == "trusted":
        merchant = await admin.set_trusted(merchant_id, on, press.admin_id)
    else:
        merchant = await admin.set_suspended(merchant_id, on, press.admin_id)
    if merchant is None:
        raise Stale(merchant_id)
    key = {
        ("trusted", True): "admin.now_trusted",
        ("trusted", False): "admin.now_untrusted",
        ("suspended", True): "admin.now_suspended",
        ("suspended", False): "admin.now_reinstated",
    }[(flag, on)]
    await press.answer(key, name=merchant.name)
    owner = merchant.owner_user_id
    if flag == "suspended" and owner is not None:
        notice = "merchant.suspended_notice" if on else "merchant.reinstated_notice"
        await set_chat_menu(press.context.bot, owner, menu_extras(not on, admin.is_admin(owner)))
        await tell_user(press.context, owner, notice, name=html.escape(merchant.name))
    await press.show(*await _merchant_view(press, merchant_id))


async def screen_trust(press: Press) -> None:
    """``adm:mt:<merchant>:<1|0>``: trust a merchant (no moderation) or stop trusting them."""
    await _merchant_flag(press, "trusted")


async def screen_suspend(press: Press) -> None:
    """``adm:mx:<merchant>:<1|0>``: suspend a merchant or reinstate them."""
    await _merchant_flag(press, "suspended")
