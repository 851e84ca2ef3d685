"""The audit log in the admin panel: who decided what, when, newest first."""

from __future__ import annotations

import datetime as dt
import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from reelcart.domain import AuditEntry, Language
from reelcart.handlers.admin.press import Press, back_button
from reelcart.handlers.kit.callbacks import ADMIN
from reelcart.i18n import t


def _audit_line(lang: Language, entry: AuditEntry) -> str:
    when = dt.datetime.fromtimestamp(entry.at, dt.UTC).strftime("%Y-%m-%d %H:%M")
    action = entry.action.replace(".", "_")
    label = t(lang, f"audit.{action}") if f"audit.{action}" in _AUDIT_KEYS else entry.action
    target = f"{entry.target_kind} #{entry.target_id}" if entry.target_id else entry.target_kind
    detail = _audit_detail(lang, entry)
    detail = f" · {html.escape(detail[:80])}" if detail else ""
    return f"<code>{when}</code> · {entry.admin_id} · {label} · {target}{detail}"


def _audit_detail(lang: Language, entry: AuditEntry) -> str:
    """A setting's change reads ``0.3 → 0.1``, or ``set to 0.3`` the first time (older
    rows wrote that as ``None -> 0.3``)."""
    if not entry.action.startswith("settings.") or not entry.detail:
        return entry.detail
    old, arrow, new = entry.detail.partition(" -> ")
    if not arrow:
        return t(lang, "audit.set_to", value=entry.detail)
    if old == "None":
        return t(lang, "audit.set_to", value=new)
    return f"{old} → {new}"


_AUDIT_KEYS = {
    f"audit.{name}"
    for name in (
        "product_approve",
        "product_reject",
        "merchant_approve",
        "merchant_reject",
        "merchant_trust",
        "merchant_untrust",
        "merchant_suspend",
        "merchant_reinstate",
        "user_ban",
        "user_unban",
        "settings_discovery_rate",
        "settings_max_merchant_run",
        "broadcast_start",
        "broadcast_stop",
        "order_refund",
    )
}


async def screen_audit(press: Press) -> None:
    """``adm:log:<page>``: a page of the audit log, newest first."""
    lang = press.lang
    entries, page, pages = await press.shop.admin.audit(press.number_or(0, 0))
    await press.answer()
    lines = [t(lang, "admin.audit_title", page=page + 1, pages=pages)]
    lines += [_audit_line(lang, entry) for entry in entries] or [t(lang, "admin.audit_empty")]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton("◀️", callback_data=ADMIN.data("log", page - 1)))
    if page + 1 < pages:
        nav.append(InlineKeyboardButton("▶️", callback_data=ADMIN.data("log", page + 1)))
    rows = [nav] if nav else []
    rows.append([back_button(lang)])
    await press.show("\n".join(lines), InlineKeyboardMarkup(rows))
