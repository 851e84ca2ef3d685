"""People in the admin panel: bans (the Users screens, and the ban gate in front of every
update) and the bot-blocked tracking broadcasts rely on."""

from __future__ import annotations

import html
import logging

from telegram import ChatMember, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from reelcart.domain import Language, User, UserSummary
from reelcart.handlers.admin.press import Press, Stale, back_button
from reelcart.handlers.kit.callbacks import ADMIN
from reelcart.handlers.kit.context import ReelcartContext, language_of
from reelcart.handlers.kit.prompts import Prompt, ask
from reelcart.i18n import t
from reelcart.services.admin import CannotBanAdmin

log = logging.getLogger(__name__)


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
    text = t(language_of(stored), "admin.you_are_banned")
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


def _user_label(user: UserSummary) -> str:
    name = user.first_name or "—"
    return f"{name} (@{user.username})" if user.username else name


async def screen_users(press: Press) -> None:
    """``adm:users``: the banned users; any id or @username typed now is looked up."""
    lang = press.lang
    banned = await press.shop.admin.banned_users()
    ask(press.context, Prompt("admin", "user"))
    await press.answer()
    rows = [
        [
            InlineKeyboardButton(
                f"🚫 {_user_label(u)} · {u.id}"[:60], callback_data=ADMIN.data("u", u.id)
            )
        ]
        for u in banned
    ]
    rows.append([back_button(lang)])
    key = "admin.users_title" if banned else "admin.users_title_none"
    await press.show(t(lang, key, count=len(banned)), InlineKeyboardMarkup(rows))


async def user_view(
    context: ReelcartContext, lang: Language, user_id: int
) -> tuple[str, InlineKeyboardMarkup]:
    """One user as the admins see them, with Ban or Unban."""
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
        InlineKeyboardButton(t(lang, "admin.btn_unban"), callback_data=ADMIN.data("ub", user_id, 0))
        if summary.banned
        else InlineKeyboardButton(
            t(lang, "admin.btn_ban"), callback_data=ADMIN.data("ub", user_id, 1)
        )
    )
    return text, InlineKeyboardMarkup([[button], [back_button(lang, ADMIN.data("users"))]])


async def screen_user(press: Press) -> None:
    """``adm:u:<user>``: one user."""
    view = await user_view(press.context, press.lang, press.number(0))
    await press.answer()
    await press.show(*view)


async def screen_ban(press: Press) -> None:
    """``adm:ub:<user>:<1|0>``: ban a user, or lift the ban (never an admin)."""
    user_id, value = press.number(0), press.args[1]
    if value not in ("0", "1"):
        raise Stale(value)
    try:
        changed = await press.shop.admin.set_banned(user_id, value == "1", press.admin_id)
    except CannotBanAdmin:
        await press.answer("admin.cannot_ban_admin", alert=True)
        return
    key = ("admin.now_banned" if value == "1" else "admin.now_unbanned") if changed else None
    await press.answer(key, user_id=user_id)
    await press.show(*await user_view(press.context, press.lang, user_id))


async def typed_user(
    message: Message, context: ReelcartContext, user: User, prompt: Prompt, text: str
) -> None:
    """A user id or @username typed on the Users screens: that user's screen, and the
    question stays open for the next one (until the admin leaves those screens)."""
    lang = user.language
    user_id = await context.shop.admin.find_user(text)
    if user_id is None:
        await message.reply_text(
            t(lang, "admin.user_not_found", handle=html.escape(text[:64])),
            parse_mode=ParseMode.HTML,
        )
        ask(context, prompt)
        return
    view = await user_view(context, lang, user_id)
    await message.reply_text(view[0], parse_mode=ParseMode.HTML, reply_markup=view[1])
    ask(context, Prompt("admin", "user"))  # the next id too, until they leave
