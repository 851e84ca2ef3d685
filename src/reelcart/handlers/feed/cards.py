"""The feed: /feed sends a card; ❤️ 👎 ⏭ swap the next clip into the same message."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaAnimation,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter, TelegramError

from reelcart.domain import (
    AlreadyAnswered,
    Clip,
    FeedCard,
    Language,
    ProductNotFound,
    ProductUnavailable,
    ReasonKind,
    StaleCard,
)
from reelcart.handlers.checkout.invoices import buy_product
from reelcart.handlers.feed import render
from reelcart.handlers.kit.context import (
    ReelcartContext,
    answer_query,
    is_not_modified,
    is_transient,
    retry_after_seconds,
    shopper,
)
from reelcart.handlers.kit.errors import error_text
from reelcart.i18n import t
from reelcart.services.feed import SWIPES

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Tries at an edit that meets network faults (a 5xx, a timeout, a dropped connection, a
#: flood wait beyond the rate limiter's own retries) before the card is left pending; the
#: next tap on the message brings it then (see ``card_button``).
EDIT_ATTEMPTS = 3
#: Seconds before the second try, doubled before each one after it.
RETRY_PAUSE = 0.25
#: The longest flood wait (Retry-After) sat out before trying again; a longer one gives up.
MAX_RETRY_AFTER = 5.0

_ANSWERS = {"like": "feed.liked", "dislike": "feed.disliked", "next": "feed.skipped"}


async def feed_command(update: Update, context: ReelcartContext) -> None:
    """Send the next card of the user's feed as a new message."""
    user = await shopper(update, context)
    assert update.effective_chat is not None
    card = await context.shop.feed.next_card(user.id)
    if card is None:
        await update.effective_chat.send_message(t(user.language, "feed.empty"))
        return
    await show_card(context, update.effective_chat.id, card, user.language)


async def card_button(update: Update, context: ReelcartContext) -> None:
    """A card button: a swipe (like, not for me, next), why-this, or buy."""
    query = update.callback_query
    assert query is not None
    user = await shopper(update, context)
    lang = user.language
    button = render.parse_card_data(query.data)
    if button is None:
        await answer_query(context, query, t(lang, "feed.stale"))
        return
    feed = context.shop.feed
    message = query.message if isinstance(query.message, Message) else None
    try:
        if button.action in SWIPES:
            chat_id = update.effective_chat.id if update.effective_chat else user.id
            on_screen = (chat_id, message.message_id) if message is not None else None
            result = await feed.swipe(user.id, button.card_id, button.action, on_screen=on_screen)
            answer = answer_query(context, query, t(lang, _ANSWERS[button.action]))
            if result.next_card is None:
                await answer
                if message is not None:
                    await _retire(message, t(lang, "feed.empty"))
                else:
                    await context.bot.send_message(chat_id, t(lang, "feed.empty"))
                return
            # The toast and the next clip travel together: the swipe is already recorded.
            await asyncio.gather(
                answer, _swap_in(context, chat_id, result.next_card, lang, replace=message)
            )
        elif button.action == "why":
            text = await why_text(context, user.id, button.card_id, lang)
            await answer_query(context, query, text, show_alert=True)
        else:  # buy
            product = await feed.card_product(user.id, button.card_id)
            await buy_product(update, context, user, product)
    except AlreadyAnswered:
        # The swipe was recorded; if its next card never reached the screen, this tap
        # brings it (a tap on the card that is there is just a double tap).
        if message is None or not await _bring_pending_card(
            context, message, user.id, button.card_id, lang, query
        ):
            await answer_query(context, query, t(lang, "feed.already"))
    except StaleCard:
        await answer_query(context, query, t(lang, "feed.stale"))
    except ProductNotFound:
        await answer_query(context, query, t(lang, "feed.card_unavailable"))


async def _swap_in(
    context: ReelcartContext,
    chat_id: int,
    card: FeedCard,
    lang: Language,
    replace: Message | None,
    *,
    restart_clock: bool = False,
) -> None:
    """Show the card that follows a swipe; if network faults outlast the retries, leave it
    pending (recorded, not on screen): the next tap on the message brings it."""
    try:
        await show_card(context, chat_id, card, lang, replace=replace, restart_clock=restart_clock)
    except TelegramError as exc:
        if not is_transient(exc):
            raise
        log.warning("card %s left pending after network faults: %s", card.card_id, exc)


async def _bring_pending_card(
    context: ReelcartContext,
    message: Message,
    user_id: int,
    card_id: int,
    lang: Language,
    query: CallbackQuery,
) -> bool:
    """Swap in the card picked after ``card_id`` if the message still shows ``card_id``
    (the swap that should have replaced it failed); False if there is none to bring."""
    if _card_shown_in(message) != card_id:
        return False  # the message shows another card: the tap was a double tap
    pending = await context.shop.feed.pending_card(
        user_id, card_id, (message.chat.id, message.message_id)
    )
    if pending is None:
        return False
    log.info("bringing pending card %s into message %s", pending.card_id, message.message_id)
    await asyncio.gather(
        answer_query(context, query),
        # Its clock starts now: the time it spent pending was not spent watching it.
        _swap_in(context, message.chat.id, pending, lang, message, restart_clock=True),
    )
    return True


def _card_shown_in(message: Message) -> int | None:
    """The id of the card whose buttons the message shows (None: no card buttons)."""
    markup = message.reply_markup
    for row in markup.inline_keyboard if markup is not None else ():
        for button in row:
            data = button.callback_data if isinstance(button.callback_data, str) else None
            parsed = render.parse_card_data(data)
            if parsed is not None:
                return parsed.card_id
    return None


async def why_text(context: ReelcartContext, user_id: int, card_id: int, lang: Language) -> str:
    """The why-this answer, in words a shopper understands."""
    why = await context.shop.feed.explain(user_id, card_id)
    if why.reason in (ReasonKind.SIMILAR_TO_LIKED, ReasonKind.OTHERS_LIKED):
        return t(lang, f"why.{why.reason.value}", title=why.because_title)
    if why.reason is ReasonKind.INTEREST:
        return t(lang, "why.interest", interest=why.because_interest or "")
    return t(lang, f"why.{why.reason.value}")


async def product_button(update: Update, context: ReelcartContext) -> None:
    """A product in a list (/likes, /search) was tapped: open its card."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    user = await shopper(update, context)
    product_id = render.parse_product_data(query.data)
    if product_id is None:
        await answer_query(context, query, t(user.language, "feed.stale"))
        return
    try:
        card = await context.shop.feed.open_product(user.id, product_id)
    except (ProductNotFound, ProductUnavailable) as exc:
        await answer_query(context, query, error_text(user.language, exc))
        return
    await answer_query(context, query)
    await show_card(context, update.effective_chat.id, card, user.language)


async def show_card(
    context: ReelcartContext,
    chat_id: int,
    card: FeedCard,
    lang: Language,
    replace: Message | None = None,
    *,
    restart_clock: bool = False,
) -> Message:
    """Show ``card``: swap it into ``replace`` if given, else send it as a new message.

    The clip goes by its cached Telegram file_id when there is one; otherwise it is
    uploaded (or passed by URL) once and the file_id Telegram returns is cached. An edit
    is tried again after network faults (``EDIT_ATTEMPTS``); the last fault is raised.
    ``restart_clock``: dwell counts from now even if the card was stored with ``replace``.
    """
    caption = render.caption(card.product, lang)
    # A clip a shopper agreed to share (their order being packed) stands in every other time.
    social = context.shop.orders.social_clip(card.product.id, chat_id, card.card_id)
    if social is not None:
        clip = Clip(
            card.product.id,
            # Uploaded again from the product's own clip if Telegram forgot the file_id.
            card.clip.source if card.clip else social.file_id,
            duration=social.duration,
            width=social.width,
            height=social.height,
            file_id=social.file_id,
        )
        card = dataclasses.replace(card, clip=clip)
        caption = f"{t(lang, 'commerce.social_line')}\n{caption}"
    shop_url = context.shop.links.url_for(card.product, chat_id)
    keyboard = render.card_keyboard(card, lang, shop_url=shop_url)
    message = None
    uploaded = True
    if replace is not None:
        message, uploaded = await _edit_card(context, replace, card, caption, keyboard)
    if message is None:
        try:
            message, uploaded = await _send_card(context, chat_id, card, caption, keyboard)
        except BadRequest as exc:
            if card.clip is None or not _is_file_error(exc):
                raise
            # The clip cannot be fetched (e.g. a broken video_url): the card goes without it.
            log.warning("clip of product %s failed: %s", card.product.id, exc)
            card = dataclasses.replace(card, clip=None)
            message, uploaded = await _send_card(context, chat_id, card, caption, keyboard)
    if uploaded:
        # A first upload, or Telegram forgot the cached file_id: cache the one it gave now.
        await _cache_file_id(context, card.clip, message)
    if restart_clock or uploaded or card.message_id != message.message_id:
        # Sent anew, or an upload took time: dwell counts from now (see FeedService.card_shown).
        await context.shop.feed.card_shown(card.card_id, message.chat.id, message.message_id)
    return message


async def _send_card(
    context: ReelcartContext,
    chat_id: int,
    card: FeedCard,
    caption: str,
    keyboard: InlineKeyboardMarkup,
) -> tuple[Message, bool]:
    """Send the card as a new message: (the message, whether the clip was uploaded)."""
    clip = card.clip
    html = ParseMode.HTML
    for attempt in (0, 1):
        media = await _media_source(context, card, use_cache=attempt == 0)
        uploaded = _is_upload(media, clip)
        try:
            if clip is None:
                photo = await context.bot.send_photo(
                    chat_id, media, caption=caption, parse_mode=html, reply_markup=keyboard
                )
                return photo, uploaded
            if clip.is_animation:
                animation = await context.bot.send_animation(
                    chat_id, media, caption=caption, parse_mode=html, reply_markup=keyboard
                )
                return animation, uploaded
            video = await context.bot.send_video(
                chat_id,
                media,
                caption=caption,
                parse_mode=html,
                reply_markup=keyboard,
                duration=clip.duration,
                width=clip.width,
                height=clip.height,
                supports_streaming=True,
            )
            return video, uploaded
        except BadRequest as exc:
            # A cached file_id Telegram no longer knows: upload from the source once more.
            if attempt == 0 and _is_file_error(exc) and clip is not None and clip.file_id:
                log.warning("cached file_id for product %s rejected: %s", clip.product_id, exc)
                continue
            raise
    raise AssertionError("unreachable")


async def _edit_card(
    context: ReelcartContext,
    message: Message,
    card: FeedCard,
    caption: str,
    keyboard: InlineKeyboardMarkup,
) -> tuple[Message | None, bool]:
    """Swap the card into ``message``: (the edited message, or None if Telegram will not
    edit it and the caller must send anew; whether the clip had to be uploaded).

    An edit Telegram calls "not modified" is done (an earlier try took effect but its reply
    was lost): ``message`` is returned as it was, and no file_id is learnt from it.
    """
    clip = card.clip
    for attempt in (0, 1):
        media = await _media_source(context, card, use_cache=attempt == 0)
        uploaded = _is_upload(media, clip)
        item: InputMediaVideo | InputMediaAnimation | InputMediaPhoto
        if clip is None:
            item = InputMediaPhoto(media, caption=caption, parse_mode=ParseMode.HTML)
        elif clip.is_animation:
            item = InputMediaAnimation(media, caption=caption, parse_mode=ParseMode.HTML)
        else:
            item = InputMediaVideo(
                media,
                caption=caption,
                parse_mode=ParseMode.HTML,
                duration=clip.duration,
                width=clip.width,
                height=clip.height,
                supports_streaming=True,
            )
        try:
            edited = await _retrying(
                functools.partial(message.edit_media, item, reply_markup=keyboard),
                # The feed lives in a private chat: the chat's id is the shopper's.
                still_wanted=functools.partial(
                    context.shop.feed.still_waiting, message.chat.id, card.card_id
                ),
            )
        except Superseded:
            # The shopper moved on while this swap was being retried (a timed-out edit may
            # well have landed): showing this card now would put an old one back.
            log.info("card %s was answered before its swap could be retried", card.card_id)
            return message, False
        except BadRequest as exc:
            if is_not_modified(exc):
                return message, False
            if attempt == 0 and _is_file_error(exc) and clip is not None and clip.file_id:
                continue
            # The message is gone or too old to edit: the caller sends a fresh card.
            log.info("could not edit card message %s: %s", message.message_id, exc)
            return None, True
        return (edited if isinstance(edited, Message) else None), uploaded
    return None, True


async def _retire(message: Message, text: str) -> None:
    """The feed ran out: say so on the card itself and take its buttons away."""
    try:
        await _retrying(lambda: message.edit_caption(text, reply_markup=None))
    except BadRequest as exc:
        if not is_not_modified(exc):
            log.info("could not retire card message %s: %s", message.message_id, exc)


class Superseded(Exception):
    """A retry given up because what it would show is no longer wanted."""


async def _retrying(
    call: Callable[[], Awaitable[T]],
    still_wanted: Callable[[], Awaitable[bool]] | None = None,
) -> T:
    """``call()``, tried up to ``EDIT_ATTEMPTS`` times while it meets network faults.

    Only for calls that may safely land twice (an edit: a second one is "not modified" or
    shows the same card again). A flood wait is sat out if it is short; the last fault, or
    any other error, is raised. Before each retry ``still_wanted`` (if given) is asked, and
    Superseded raised if the answer is no.
    """
    pause = RETRY_PAUSE
    for attempt in range(1, EDIT_ATTEMPTS + 1):
        if attempt > 1 and still_wanted is not None and not await still_wanted():
            raise Superseded()
        try:
            return await call()
        except TelegramError as exc:
            if attempt == EDIT_ATTEMPTS or not is_transient(exc):
                raise
            wait = pause
            if isinstance(exc, RetryAfter):
                wait = retry_after_seconds(exc)
                if wait > MAX_RETRY_AFTER:
                    raise
            else:
                pause *= 2
            log.info("Bot API fault (try %d of %d): %s", attempt, EDIT_ATTEMPTS, exc)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


async def _media_source(
    context: ReelcartContext, card: FeedCard, use_cache: bool
) -> str | InputFile:
    clip = card.clip
    if clip is None:
        image = await context.shop.placeholder_image(card.product)
        return InputFile(image, filename="card.png", attach=True)
    if use_cache and clip.file_id:
        return clip.file_id
    if clip.source.startswith(("http://", "https://")):
        return clip.source
    data = await asyncio.to_thread(Path(clip.source).read_bytes)
    # attach=True: the same file object may travel inside an InputMedia (editMessageMedia).
    return InputFile(data, filename=Path(clip.source).name, attach=True)


def _is_upload(media: str | InputFile, clip: Clip | None) -> bool:
    """Whether sending ``media`` makes Telegram take a file in (bytes or a URL it fetches)
    rather than reuse one by its file_id."""
    return clip is None or clip.file_id is None or media != clip.file_id


async def _cache_file_id(context: ReelcartContext, clip: Clip | None, message: Message) -> None:
    media = message.video or message.animation
    if clip is not None and media is not None and media.file_id != clip.file_id:
        await context.shop.feed.clip_uploaded(clip, media.file_id)


def _is_file_error(exc: BadRequest) -> bool:
    text = str(exc).lower()
    return "file" in text or "http url" in text
