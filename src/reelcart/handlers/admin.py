"""The /admin panel: moderation queue, merchant applications, trust and suspension, bans,
settings, global stats, broadcasts and the audit log; plus the ban gate in front of every
update and the bot-blocked tracking broadcasts rely on.

Only ids in ``REELCART_ADMIN_IDS`` get anywhere: anyone else sending /admin or pressing an
admin button is refused and nothing changes. Callback data (64 bytes at most):

``adm:menu``; ``adm:q:<offset>`` a product waiting for moderation, ``adm:qm:<merchant>``
the queue of one merchant's products (0: everyone's; kept while the moderator goes on),
``adm:qa|qr|qo:<product>:<offset>`` approve / pick a reason / type a reason,
``adm:qx:<product>:<reason>:<offset>`` reject, ``adm:qc:<product>`` see its card;
``adm:apps:<offset>``, ``adm:app:<merchant>:<1|0>`` applications;
``adm:ms:<page>``, ``adm:m:<merchant>``, ``adm:mt|mx:<merchant>:<1|0>`` trust, suspend;
``adm:users``, ``adm:u:<user>``, ``adm:ub:<user>:<1|0>`` bans;
``adm:set``, ``adm:sd:<percent>``, ``adm:sm:<cards>`` settings;
``adm:stats``, ``adm:st:<period>``; ``adm:bc``, ``adm:bcgo|bcno|bcstop:<broadcast>``;
``adm:log:<page>``. ``adm:refunds...`` belongs to ``admin_refunds`` and is never matched here.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from typing import cast

from telegram import (
    Bot,
    BotCommandScopeChat,
    ChatMember,
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
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from reelcart.domain import (
    AuditEntry,
    Broadcast,
    BroadcastStatus,
    Delivery,
    Language,
    MerchantSummary,
    ModerationItem,
    ProductNotFound,
    User,
    UserSummary,
)
from reelcart.handlers.kit.context import ReelcartApplication, ReelcartContext, shopper
from reelcart.handlers.kit.errors import error_text
from reelcart.handlers.kit.menus import menu_extras, set_chat_menu
from reelcart.handlers.kit.messenger import outbox
from reelcart.handlers.kit.prompts import Prompt, ask, take_prompt
from reelcart.handlers.kit.status import StatusMessage
from reelcart.handlers.merchant.notices import application_buttons, application_text
from reelcart.handlers.merchant.preview import send_preview
from reelcart.handlers.merchant.products import REASONS, reason_text
from reelcart.handlers.merchant.stats import chart_labels, metrics_lines, period_label
from reelcart.i18n import format_price, t
from reelcart.services.admin import (
    DISCOVERY_CHOICES,
    MERCHANT_RUN_CHOICES,
    CannotBanAdmin,
    Flag,
    ShopSettings,
)
from reelcart.services.broadcast import BroadcastTooLong, EmptyBroadcast
from reelcart.services.shop import Shop
from reelcart.services.stats import DEFAULT_PERIOD, PERIODS

log = logging.getLogger(__name__)

_ACTIONS = (
    "menu|q|qm|qa|qr|qx|qo|qc|apps|app|ms|m|mt|mx|users|u|ub|set|sd|sm|stats|st|bc|bcgo|bcno|bcstop"
    "|log"
)
PATTERN = rf"^adm:(?:{_ACTIONS})(?::|$)"
_DATA = re.compile(
    rf"^adm:({_ACTIONS})(?::([0-9a-z]{{1,18}}))?(?::([0-9a-z]{{1,18}}))?(?::([0-9]{{1,6}}))?$"
)
QUEUE_FILTER = "reelcart.queue_merchant"


def _lang(user: User | None) -> Language:
    return user.language if user else Language.EN


# -- the ban gate and bot-blocked tracking --------------------------------------------------


async def ban_gate(update: object, context: ReelcartContext) -> None:
    """Stop every update from a banned user (payments excepted: money already moved)."""
    if not isinstance(update, Update) or context.bot_data.shop is None:
        return
    user = update.effective_user
    admin = context.shop.admin
    if user is None or user.id not in admin.banned or admin.is_admin(user.id):
        return
    message = update.effective_message
    if update.pre_checkout_query is not None or (message and message.successful_payment):
        return
    stored = await context.shop.feed.user(user.id)
    text = t(_lang(stored), "admin.you_are_banned")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.inline_query is not None:
            await update.inline_query.answer([], cache_time=0, is_personal=True)
        elif (
            message is not None
            and message.chat.type == "private"
            and admin.banned_notice_due(user.id)
        ):
            await message.reply_text(text)
    except TelegramError as exc:
        log.info("could not tell banned user %s: %s", user.id, exc)
    raise ApplicationHandlerStop


async def bot_membership(update: Update, context: ReelcartContext) -> None:
    """A user blocked or unblocked the bot: broadcasts skip blocked users."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    status = change.new_chat_member.status
    blocked = status in (ChatMember.BANNED, ChatMember.LEFT)
    await context.shop.admin.set_blocked(change.from_user.id, blocked)
    log.info("user %s %s the bot", change.from_user.id, "blocked" if blocked else "unblocked")


# -- telling the admins ----------------------------------------------------------------------


async def tell_user(
    context: ReelcartContext, user_id: int | None, key: str, **params: object
) -> None:
    """A message to a merchant or shopper in their language (quietly skipped if blocked)."""
    if user_id is None:
        return
    await outbox(context).notices.tell(user_id, lambda lang: t(lang, key, **params))


# -- /admin and its screens ----------------------------------------------------------------


def _back(lang: Language, data: str = "adm:menu") -> InlineKeyboardButton:
    return InlineKeyboardButton(t(lang, "admin.btn_back"), callback_data=data)


async def _menu(context: ReelcartContext, lang: Language) -> tuple[str, InlineKeyboardMarkup]:
    counts = await context.shop.admin.counts()
    text = t(lang, "admin.menu", pending=counts.pending_products, applications=counts.applications)

    def button(key: str, data: str, **params: object) -> InlineKeyboardButton:
        return InlineKeyboardButton(t(lang, key, **params), callback_data=data)

    return text, InlineKeyboardMarkup(
        [
            [
                button("admin.btn_queue", "adm:qm:0", count=counts.pending_products),
                button("admin.btn_applications", "adm:apps:0", count=counts.applications),
            ],
            [button("admin.btn_merchants", "adm:ms:0"), button("admin.btn_users", "adm:users")],
            [button("admin.btn_refunds", "adm:refunds"), button("admin.btn_settings", "adm:set")],
            [button("admin.btn_stats", "adm:stats"), button("admin.btn_broadcast", "adm:bc")],
            [button("admin.btn_audit", "adm:log:0")],
        ]
    )


async def admin_command(update: Update, context: ReelcartContext) -> None:
    """Open the admin panel (admins only)."""
    user = await shopper(update, context)
    assert update.message is not None
    if not context.shop.admin.is_admin(user.id):
        await update.message.reply_text(t(user.language, "admin.not_admin"))
        return
    if context.args:
        await update.message.reply_text(t(user.language, "admin.usage"))
        return
    text, markup = await _menu(context, user.language)
    await update.message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)


async def _edit(message: Message | None, text: str, markup: InlineKeyboardMarkup | None) -> None:
    if message is None:
        return
    try:
        if message.text is None:  # a photo or a card: answer with a new message instead
            await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
            return
        await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.info("could not edit the admin panel: %s", exc)


async def admin_button(update: Update, context: ReelcartContext) -> None:
    """Every button of the admin panel, one at a time per person, in the order pressed.

    Updates are handled concurrently, so two quick taps could have their edits land out of
    order and leave the panel on the older screen. The person's lock is taken before the
    first ``await``, while the updates' tasks still run in the order they arrived.
    """
    assert update.effective_user is not None
    async with context.bot_data.turns[update.effective_user.id]:
        await _admin_button(update, context)


async def _admin_button(update: Update, context: ReelcartContext) -> None:
    """One press of the admin panel; a non-admin's press changes nothing."""
    query = update.callback_query
    assert query is not None
    user = await shopper(update, context)
    lang = user.language
    if not context.shop.admin.is_admin(user.id):
        log.warning("user %s pressed an admin button: %s", user.id, query.data)
        await query.answer(t(lang, "admin.not_admin"), show_alert=True)
        return
    match = _DATA.match(query.data or "")
    if match is None:
        await query.answer(t(lang, "feed.stale"))
        return
    action, first, second, third = match[1], match[2], match[3], match[4]
    if action not in _USER_SCREENS:
        _stop_taking_user_ids(context)
    message = query.message if isinstance(query.message, Message) else None
    handler = _SCREENS.get(action)
    if handler is None:
        await query.answer(t(lang, "feed.stale"))
        return
    try:
        await handler(_Press(update, context, user, lang, message, first, second, third))
    except _Stale:
        await query.answer(t(lang, "feed.stale"))


#: While the admin is on these screens, every text they type is a user id or @username.
_USER_SCREENS = frozenset({"users", "u", "ub"})


def _stop_taking_user_ids(context: ReelcartContext) -> None:
    """The admin left the Users screens: what they type is no longer a user to look up."""
    prompt = take_prompt(context, "admin")
    if prompt is not None and prompt.kind != "user":
        ask(context, prompt)  # another question of the panel's stays open


class _Stale(Exception):
    """A malformed or outdated button."""


class _Press:
    """One press of an admin button, with what every screen needs."""

    def __init__(
        self,
        update: Update,
        context: ReelcartContext,
        user: User,
        lang: Language,
        message: Message | None,
        first: str | None,
        second: str | None,
        third: str | None,
    ) -> None:
        assert update.callback_query is not None
        self.query = update.callback_query
        self.context = context
        self.shop = context.shop
        self.admin_id = user.id
        self.lang = lang
        self.message = message
        self.args = (first, second, third)

    def number(self, position: int) -> int:
        value = self.args[position]
        if value is None or not value.isdigit() or len(value) > 18:
            raise _Stale(value)
        return int(value)

    def number_or(self, position: int, default: int) -> int:
        return default if self.args[position] is None else self.number(position)

    async def answer(self, key: str | None = None, alert: bool = False, **params: object) -> None:
        await self.query.answer(t(self.lang, key, **params) if key else None, show_alert=alert)

    async def show(self, text: str, markup: InlineKeyboardMarkup | None) -> None:
        await _edit(self.message, text, markup)


# -- main menu -----------------------------------------------------------------------------


async def _screen_menu(press: _Press) -> None:
    await press.answer()
    await press.show(*await _menu(press.context, press.lang))


# -- moderation queue ----------------------------------------------------------------------


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


async def _queue_view(press: _Press, offset: int) -> tuple[str, InlineKeyboardMarkup]:
    lang = press.lang
    only = _queue_filter(press.context)
    item, total, flags = await press.shop.admin.queue_item(offset, only)
    if item is None and only is not None:
        # That merchant's products are all decided: on with everyone else's.
        if press.context.user_data is not None:
            press.context.user_data.pop(QUEUE_FILTER, None)
        item, total, flags = await press.shop.admin.queue_item(0)
    if item is None:
        return t(lang, "admin.queue_empty"), InlineKeyboardMarkup([[_back(lang)]])
    offset = offset % total if total else 0
    pid = item.product.id
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "admin.btn_approve"), callback_data=f"adm:qa:{pid}:{offset}"
                ),
                InlineKeyboardButton(
                    t(lang, "admin.btn_reject"), callback_data=f"adm:qr:{pid}:{offset}"
                ),
            ],
            [
                InlineKeyboardButton(t(lang, "admin.btn_card"), callback_data=f"adm:qc:{pid}"),
                InlineKeyboardButton(
                    t(lang, "admin.btn_next"), callback_data=f"adm:q:{offset + 1}"
                ),
            ],
            [_back(lang)],
        ]
    )
    return _item_text(lang, item, offset + 1, total, flags), markup


async def _screen_queue(press: _Press) -> None:
    offset = press.number_or(0, 0)
    await press.answer()
    await press.show(*await _queue_view(press, offset))


async def _screen_queue_of(press: _Press) -> None:
    """The queue from the start, with one merchant's products only (0: everyone's)."""
    merchant_id = press.number(0)
    if press.context.user_data is not None:
        if merchant_id:
            press.context.user_data[QUEUE_FILTER] = merchant_id
        else:
            press.context.user_data.pop(QUEUE_FILTER, None)
    await press.answer()
    await press.show(*await _queue_view(press, 0))


async def _decide(press: _Press, product_id: int, offset: int, approve: bool, note: str) -> None:
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
            owner_lang = _lang(await press.shop.feed.user(owner)) if owner else press.lang
            await tell_user(
                press.context,
                owner,
                "merchant.product_rejected",
                title=html.escape(product.title),
                reason=html.escape(reason_text(owner_lang, note)),
            )
    await press.show(*await _queue_view(press, offset))


async def _screen_approve(press: _Press) -> None:
    await _decide(press, press.number(0), press.number_or(1, 0), True, "")


async def _screen_reasons(press: _Press) -> None:
    pid, offset = press.number(0), press.number_or(1, 0)
    lang = press.lang
    try:
        product = await press.shop.feed.product(pid)
    except ProductNotFound:
        raise _Stale(pid) from None
    await press.answer()
    rows = [
        [
            InlineKeyboardButton(
                t(lang, f"reason.{code}"), callback_data=f"adm:qx:{pid}:{code}:{offset}"
            )
        ]
        for code in REASONS
    ]
    rows.append(
        [
            InlineKeyboardButton(
                t(lang, "admin.btn_other_reason"), callback_data=f"adm:qo:{pid}:{offset}"
            )
        ]
    )
    rows.append([_back(lang, f"adm:q:{offset}")])
    await press.show(
        t(lang, "admin.why_reject", title=html.escape(product.title)), InlineKeyboardMarkup(rows)
    )


async def _screen_reject(press: _Press) -> None:
    code = press.args[1]
    if code not in REASONS:
        raise _Stale(code)
    await _decide(press, press.number(0), press.number_or(2, 0), False, f"#{code}")


async def _screen_other_reason(press: _Press) -> None:
    pid, offset = press.number(0), press.number_or(1, 0)
    ask(press.context, Prompt("admin", "reason", target=pid, data=str(offset)))
    await press.answer()
    await press.context.bot.send_message(press.admin_id, t(press.lang, "admin.ask_reason"))


async def _screen_card(press: _Press) -> None:
    pid = press.number(0)
    try:
        product = await press.shop.feed.product(pid)
    except ProductNotFound:
        raise _Stale(pid) from None
    await press.answer()
    await send_preview(press.context, press.admin_id, product, press.lang)


# -- merchant applications -----------------------------------------------------------------


async def _screen_applications(press: _Press) -> None:
    lang = press.lang
    offset = press.number_or(0, 0)
    found, total = await press.shop.admin.applications(offset)
    if not found and total:
        offset = 0
        found, total = await press.shop.admin.applications(0)
    await press.answer()
    if not found:
        await press.show(t(lang, "admin.applications_empty"), InlineKeyboardMarkup([[_back(lang)]]))
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
                    t(lang, "admin.btn_next"), callback_data=f"adm:apps:{offset + 1}"
                )
            ]
        )
    rows.append([_back(lang)])
    await press.show(text, InlineKeyboardMarkup(rows))


async def _screen_decide_application(press: _Press) -> None:
    merchant_id, approve = press.number(0), press.args[1] == "1"
    if press.args[1] not in ("0", "1"):
        raise _Stale(press.args[1])
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
                        t(lang, "admin.btn_more_applications"), callback_data="adm:apps:0"
                    ),
                    _back(lang),
                ]
            ]
        ),
    )


# -- merchants: trust and suspension -------------------------------------------------------


def _merchant_label(summary: MerchantSummary) -> str:
    merchant = summary.merchant
    icon = "⛔" if merchant.suspended else ("⭐" if merchant.trusted else "🏪")
    label = f"{icon} {merchant.name} · {summary.products}"
    return label if len(label) <= 60 else label[:59] + "…"


async def _screen_merchants(press: _Press) -> None:
    lang = press.lang
    found, page, pages = await press.shop.admin.merchants(press.number_or(0, 0))
    await press.answer()
    rows = [
        [InlineKeyboardButton(_merchant_label(s), callback_data=f"adm:m:{s.merchant.id}")]
        for s in found
    ]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton("◀️", callback_data=f"adm:ms:{page - 1}"))
    if page + 1 < pages:
        nav.append(InlineKeyboardButton("▶️", callback_data=f"adm:ms:{page + 1}"))
    if nav:
        rows.append(nav)
    rows.append([_back(lang)])
    key = "admin.merchants_title" if found else "admin.merchants_empty"
    await press.show(t(lang, key, page=page + 1, pages=pages), InlineKeyboardMarkup(rows))


async def _merchant_view(press: _Press, merchant_id: int) -> tuple[str, InlineKeyboardMarkup]:
    lang = press.lang
    summary = await press.shop.admin.merchant(merchant_id)
    if summary is None:
        raise _Stale(merchant_id)
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
        InlineKeyboardButton(t(lang, "admin.btn_untrust"), callback_data=f"adm:mt:{mid}:0")
        if merchant.trusted
        else InlineKeyboardButton(t(lang, "admin.btn_trust"), callback_data=f"adm:mt:{mid}:1")
    )
    suspend = (
        InlineKeyboardButton(t(lang, "admin.btn_reinstate"), callback_data=f"adm:mx:{mid}:0")
        if merchant.suspended
        else InlineKeyboardButton(t(lang, "admin.btn_suspend"), callback_data=f"adm:mx:{mid}:1")
    )
    return text, InlineKeyboardMarkup([[trust, suspend], [_back(lang, "adm:ms:0")]])


async def _screen_merchant(press: _Press) -> None:
    view = await _merchant_view(press, press.number(0))
    await press.answer()
    await press.show(*view)


async def _screen_merchant_flag(press: _Press, flag: str) -> None:
    merchant_id, value = press.number(0), press.args[1]
    if value not in ("0", "1"):
        raise _Stale(value)
    on = value == "1"
    admin = press.shop.admin
    if flag == "trusted":
        merchant = await admin.set_trusted(merchant_id, on, press.admin_id)
    else:
        merchant = await admin.set_suspended(merchant_id, on, press.admin_id)
    if merchant is None:
        raise _Stale(merchant_id)
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


async def _screen_trust(press: _Press) -> None:
    await _screen_merchant_flag(press, "trusted")


async def _screen_suspend(press: _Press) -> None:
    await _screen_merchant_flag(press, "suspended")


# -- users: bans -----------------------------------------------------------------------------


def _user_label(user: UserSummary) -> str:
    name = user.first_name or "—"
    return f"{name} (@{user.username})" if user.username else name


async def _screen_users(press: _Press) -> None:
    lang = press.lang
    banned = await press.shop.admin.banned_users()
    ask(press.context, Prompt("admin", "user"))
    await press.answer()
    rows = [
        [InlineKeyboardButton(f"🚫 {_user_label(u)} · {u.id}"[:60], callback_data=f"adm:u:{u.id}")]
        for u in banned
    ]
    rows.append([_back(lang)])
    key = "admin.users_title" if banned else "admin.users_title_none"
    await press.show(t(lang, key, count=len(banned)), InlineKeyboardMarkup(rows))


async def _user_view(
    context: ReelcartContext, lang: Language, user_id: int
) -> tuple[str, InlineKeyboardMarkup]:
    summary = await context.shop.admin.user(user_id)
    text = t(
        lang,
        "admin.user_detail",
        user_id=summary.id,
        name=html.escape(_user_label(summary)),
        events=summary.events,
        state=t(lang, "admin.user_banned" if summary.banned else "admin.user_not_banned"),
    )
    if not summary.known:
        text += "\n" + t(lang, "admin.user_unknown")
    if summary.blocked:
        text += "\n" + t(lang, "admin.user_blocked")
    button = (
        InlineKeyboardButton(t(lang, "admin.btn_unban"), callback_data=f"adm:ub:{user_id}:0")
        if summary.banned
        else InlineKeyboardButton(t(lang, "admin.btn_ban"), callback_data=f"adm:ub:{user_id}:1")
    )
    return text, InlineKeyboardMarkup([[button], [_back(lang, "adm:users")]])


async def _screen_user(press: _Press) -> None:
    view = await _user_view(press.context, press.lang, press.number(0))
    await press.answer()
    await press.show(*view)


async def _screen_ban(press: _Press) -> None:
    user_id, value = press.number(0), press.args[1]
    if value not in ("0", "1"):
        raise _Stale(value)
    try:
        changed = await press.shop.admin.set_banned(user_id, value == "1", press.admin_id)
    except CannotBanAdmin:
        await press.answer("admin.cannot_ban_admin", alert=True)
        return
    key = ("admin.now_banned" if value == "1" else "admin.now_unbanned") if changed else None
    await press.answer(key, user_id=user_id)
    await press.show(*await _user_view(press.context, press.lang, user_id))


# -- settings --------------------------------------------------------------------------------


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
            ("• " if p == current_rate else "") + f"{p}%", callback_data=f"adm:sd:{p}"
        )
        for p in DISCOVERY_CHOICES
    ]
    runs = [
        InlineKeyboardButton(
            ("• " if n == run else "") + ("∞" if n == 0 else str(n)), callback_data=f"adm:sm:{n}"
        )
        for n in MERCHANT_RUN_CHOICES
    ]
    return text, InlineKeyboardMarkup([rates, runs, [_back(lang)]])


async def _screen_settings(press: _Press) -> None:
    await press.answer()
    await press.show(*_settings_view(press.lang, await press.shop.admin.settings()))


async def _screen_set_discovery(press: _Press) -> None:
    try:
        settings = await press.shop.admin.set_discovery_percent(press.number(0), press.admin_id)
    except ValueError:
        raise _Stale(press.args[0]) from None
    await press.answer("admin.setting_saved")
    await press.show(*_settings_view(press.lang, settings))


async def _screen_set_run(press: _Press) -> None:
    try:
        settings = await press.shop.admin.set_merchant_run(press.number(0), press.admin_id)
    except ValueError:
        raise _Stale(press.args[0]) from None
    await press.answer("admin.setting_saved")
    await press.show(*_settings_view(press.lang, settings))


# -- global stats ------------------------------------------------------------------------------


async def _stats_photo(press: _Press, period: str) -> tuple[bytes, str, InlineKeyboardMarkup]:
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
            ("• " if p == period else "") + period_label(lang, p), callback_data=f"adm:st:{p}"
        )
        for p in PERIODS
    ]
    return chart, caption[:1024], InlineKeyboardMarkup([buttons])


async def _screen_stats(press: _Press) -> None:
    await press.answer()
    chart, caption, markup = await _stats_photo(press, DEFAULT_PERIOD)
    await press.context.bot.send_photo(
        press.admin_id,
        InputFile(chart, filename="stats.png"),
        caption=caption,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
    )


async def _screen_stats_period(press: _Press) -> None:
    period = press.args[0]
    if period not in PERIODS or press.message is None:
        raise _Stale(period)
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


# -- broadcasts --------------------------------------------------------------------------------


async def _screen_broadcast(press: _Press) -> None:
    audience = await press.shop.broadcasts.audience()
    ask(press.context, Prompt("admin", "broadcast"))
    await press.answer()
    await press.show(
        t(press.lang, "admin.broadcast_ask", count=audience),
        InlineKeyboardMarkup([[_back(press.lang)]]),
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
                    t(lang, "admin.btn_stop"), callback_data=f"adm:bcstop:{broadcast_id}"
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


async def _screen_broadcast_go(press: _Press) -> None:
    broadcast_id = press.number(0)
    if press.message is None:
        raise _Stale(broadcast_id)
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


async def _screen_broadcast_cancel(press: _Press) -> None:
    broadcast_id = press.number(0)
    stopped = await press.shop.broadcasts.cancel(broadcast_id, press.admin_id)
    await press.answer("admin.broadcast_cancelled" if stopped else "admin.broadcast_not_draft")
    current = await press.shop.broadcasts.get(broadcast_id)
    if current is not None and stopped:
        if current.total:
            await press.show(_progress_text(press.lang, current), None)
        else:
            await press.show(t(press.lang, "admin.broadcast_cancelled"), None)


# -- audit log ---------------------------------------------------------------------------------


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


async def _screen_audit(press: _Press) -> None:
    lang = press.lang
    entries, page, pages = await press.shop.admin.audit(press.number_or(0, 0))
    await press.answer()
    lines = [t(lang, "admin.audit_title", page=page + 1, pages=pages)]
    lines += [_audit_line(lang, entry) for entry in entries] or [t(lang, "admin.audit_empty")]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton("◀️", callback_data=f"adm:log:{page - 1}"))
    if page + 1 < pages:
        nav.append(InlineKeyboardButton("▶️", callback_data=f"adm:log:{page + 1}"))
    rows = [nav] if nav else []
    rows.append([_back(lang)])
    await press.show("\n".join(lines), InlineKeyboardMarkup(rows))


_SCREENS = {
    "menu": _screen_menu,
    "q": _screen_queue,
    "qm": _screen_queue_of,
    "qa": _screen_approve,
    "qr": _screen_reasons,
    "qx": _screen_reject,
    "qo": _screen_other_reason,
    "qc": _screen_card,
    "apps": _screen_applications,
    "app": _screen_decide_application,
    "ms": _screen_merchants,
    "m": _screen_merchant,
    "mt": _screen_trust,
    "mx": _screen_suspend,
    "users": _screen_users,
    "u": _screen_user,
    "ub": _screen_ban,
    "set": _screen_settings,
    "sd": _screen_set_discovery,
    "sm": _screen_set_run,
    "stats": _screen_stats,
    "st": _screen_stats_period,
    "bc": _screen_broadcast,
    "bcgo": _screen_broadcast_go,
    "bcno": _screen_broadcast_cancel,
    "bcstop": _screen_broadcast_cancel,
    "log": _screen_audit,
}


# -- typed answers (a rejection reason, a user to ban, the broadcast text) ---------------------


async def typed_answer(update: Update, context: ReelcartContext) -> None:
    """Text that answers an admin question; anything else goes on to the next handlers."""
    prompt = take_prompt(context, "admin")
    if prompt is None:
        return
    message = update.message
    assert message is not None and message.text is not None
    user = await shopper(update, context)
    lang = user.language
    if not context.shop.admin.is_admin(user.id):
        return
    text = message.text.strip()
    if prompt.kind == "reason":
        await _typed_reason(update, context, user, prompt, text)
    elif prompt.kind == "user":
        user_id = await context.shop.admin.find_user(text)
        if user_id is None:
            await message.reply_text(
                t(lang, "admin.user_not_found", handle=html.escape(text[:64])),
                parse_mode=ParseMode.HTML,
            )
            ask(context, prompt)
        else:
            view = await _user_view(context, lang, user_id)
            await message.reply_text(view[0], parse_mode=ParseMode.HTML, reply_markup=view[1])
            ask(context, Prompt("admin", "user"))  # the next id too, until they leave
    elif prompt.kind == "broadcast":
        await _typed_broadcast(update, context, user, prompt, message.text)
    raise ApplicationHandlerStop


async def _typed_reason(
    update: Update, context: ReelcartContext, user: User, prompt: Prompt, text: str
) -> None:
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


async def _typed_broadcast(
    update: Update, context: ReelcartContext, user: User, prompt: Prompt, text: str
) -> None:
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
                    callback_data=f"adm:bcgo:{broadcast_id}",
                ),
                InlineKeyboardButton(
                    t(lang, "admin.btn_cancel"), callback_data=f"adm:bcno:{broadcast_id}"
                ),
            ]
        ]
    )
    await update.message.reply_text(
        t(lang, "admin.broadcast_preview", count=audience) + "\n\n" + html.escape(text.strip()),
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
    )


# -- start-up and registration -----------------------------------------------------------------


async def _show_admin_menu(bot: Bot, shop: Shop, admin_id: int) -> bool:
    """Give one admin's chat the /admin command (and merchant commands if they sell);
    False if it is not there after (Telegram has no chat with someone who never wrote)."""
    try:
        merchant = await shop.merchants.owned(admin_id)
    except Exception:  # the menu is a convenience: never block start-up on it
        log.exception("could not look up admin %s", admin_id)
        merchant = None
    selling = merchant is not None and merchant.active
    await set_chat_menu(bot, admin_id, menu_extras(selling, True))
    try:
        shown = await bot.get_my_commands(scope=BotCommandScopeChat(admin_id))
    except TelegramError:
        return False
    return any(command.command == "admin" for command in shown)


async def show_admin_menus(application: ReelcartApplication) -> None:
    """At start: every admin's chat gets its menu; an admin Telegram has no chat with yet
    gets it when they first write (``admin_menu_gate``)."""
    shop = application.bot_data.shop
    if shop is None:
        return
    for admin_id in sorted(shop.settings.admin_ids):
        if not await _show_admin_menu(application.bot, shop, admin_id):
            log.info("admin %s gets the /admin menu once they write to the bot", admin_id)
            shop.admin.menus_pending.add(admin_id)


async def admin_menu_gate(update: object, context: ReelcartContext) -> None:
    """An admin whose menu could not be set at start writes to the bot: set it now, once."""
    if not isinstance(update, Update) or context.bot_data.shop is None:
        return
    user, chat = update.effective_user, update.effective_chat
    pending = context.shop.admin.menus_pending
    if user is None or user.id not in pending or chat is None or chat.type != "private":
        return
    pending.discard(user.id)  # before any await: their next update does not set it twice
    if not await _show_admin_menu(context.bot, context.shop, user.id):
        pending.add(user.id)


def register(application: ReelcartApplication) -> None:
    # Before everything: banned users are stopped here.
    application.add_handler(TypeHandler(Update, ban_gate), group=-100)
    # Then, before the admin's first command is answered: their menu, if start-up could not.
    application.add_handler(TypeHandler(Update, admin_menu_gate), group=-99)
    private = filters.ChatType.PRIVATE
    application.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & ~filters.REPLY & private, typed_answer),
        group=-1,
    )
    application.add_handler(CommandHandler("admin", admin_command))
    application.add_handler(CallbackQueryHandler(admin_button, pattern=PATTERN))
    application.add_handler(ChatMemberHandler(bot_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    if application.job_queue is not None:
        # Scheduled before the shop opens (slow): however late the job queue starts, run it.
        application.job_queue.run_once(
            resume_broadcasts,
            1.0,
            name="resume-broadcasts",
            job_kwargs={"misfire_grace_time": None},
        )


__all__ = [
    "PATTERN",
    "admin_menu_gate",
    "register",
    "resume_broadcasts",
    "run_broadcast",
    "show_admin_menus",
]
