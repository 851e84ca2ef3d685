"""The one Telegram adapter of the services' port: each Telegram error maps to one outcome
(``outcome_of``), and ``TelegramMessenger`` meets the sandbox's answers and faults as a real
bot would (a real python-telegram-bot ``Bot`` on reelcart's transport, no rate limiter)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any, cast

import aiohttp
import pytest
import pytest_asyncio
from telegram import Chat, Message
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from reelcart.handlers.feed import render
from reelcart.handlers.kit.context import ReelcartBot
from reelcart.handlers.kit.messenger import TelegramMessenger, markup_of, outcome_of
from reelcart.handlers.telegram_api.transport import AiohttpRequest
from reelcart.sandbox import FaultKind, FaultPlan, SandboxServer, SimulatedUser
from reelcart.services.messenger import Button, Media, MediaKind, Outcome, Status
from reelcart.services.restock import open_product_data

# -- the map, one Telegram error at a time -----------------------------------------------------


def _caused(error: TelegramError, cause: BaseException) -> TelegramError:
    try:
        raise error from cause
    except TelegramError as raised:
        return raised


def _refused_connection() -> aiohttp.ClientConnectorError:
    from aiohttp.client_reqrep import ConnectionKey

    key = ConnectionKey("127.0.0.1", 1, False, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (RetryAfter(3), Status.RETRY_LATER),  # flood control: not delivered, send again
        (NetworkError("Bad Gateway"), Status.RETRY_LATER),  # Telegram answered 5xx
        (_caused(NetworkError("refused"), _refused_connection()), Status.RETRY_LATER),
        (TimedOut("every connection is busy; the request was not sent"), Status.RETRY_LATER),
        (Forbidden("Forbidden: bot was blocked by the user"), Status.BLOCKED),
        (BadRequest("Bad Request: chat not found"), Status.FAILED),
        (InvalidToken(), Status.FAILED),  # not a network fault: nothing to retry
        # Sent, then no answer: it may have arrived, so it is never sent again.
        (_caused(TimedOut(), TimeoutError()), Status.UNKNOWN),
        (_caused(NetworkError("dropped"), aiohttp.ServerDisconnectedError()), Status.UNKNOWN),
    ],
)
def test_each_telegram_failure_maps_to_one_outcome(error: TelegramError, status: Status) -> None:
    assert outcome_of(error).status is status


def test_a_429_says_how_long_to_wait_and_a_refusal_says_why() -> None:
    assert outcome_of(RetryAfter(7)).retry_after == 7.0
    assert outcome_of(RetryAfter(dt.timedelta(seconds=2))).retry_after == 2.0
    assert outcome_of(BadRequest("Bad Request: chat not found")).detail == "Chat not found"


def test_buttons_become_telegrams_inline_keyboard() -> None:
    markup = markup_of(
        [[Button("❤️ Like", "c:like:1"), Button("🔗 Shop", url="https://shop.example/")], []]
    )
    assert markup is not None
    [row] = markup.inline_keyboard
    assert [(b.text, b.callback_data, b.url) for b in row] == [
        ("❤️ Like", "c:like:1", None),
        ("🔗 Shop", None, "https://shop.example/"),
    ]
    assert markup_of([]) is None
    with pytest.raises(ValueError):
        Button("both", "x", url="https://shop.example/")


def test_the_restock_button_opens_the_product_in_the_feed() -> None:
    # The service builds it, the feed's handler parses it: one format.
    assert render.parse_product_data(open_product_data(42)) == 42


# -- refunds, on a bot that answers what the test says --------------------------------------


class RefundingBot:
    """Just enough of a Bot: ``refund_star_payment`` raises ``error`` (or succeeds)."""

    def __init__(self, error: TelegramError | None = None) -> None:
        self.error = error

    async def refund_star_payment(self, user_id: int, charge_id: str) -> bool:
        if self.error is not None:
            raise self.error
        return True

    async def send_video(self, chat_id: int, video: Any, **options: Any) -> Message:
        return Message(77, dt.datetime.now(dt.UTC), Chat(chat_id, "private"), caption="v")


def messenger_on(bot: RefundingBot) -> TelegramMessenger:
    return TelegramMessenger(cast(ReelcartBot, bot))


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (None, Status.SENT),
        (BadRequest("CHARGE_ALREADY_REFUNDED"), Status.SENT),  # the money is back already
        (BadRequest("CHARGE_NOT_FOUND"), Status.FAILED),
        (_caused(TimedOut(), TimeoutError()), Status.UNKNOWN),  # retried: then "already"
        (RetryAfter(2), Status.RETRY_LATER),
    ],
)
async def test_a_refund_ends_in_one_outcome(error: TelegramError | None, status: Status) -> None:
    outcome = await messenger_on(RefundingBot(error)).refund_stars(5, "charge-1")
    assert outcome.status is status
    if status is Status.FAILED:
        assert outcome.detail == "CHARGE_NOT_FOUND"  # what an admin is shown


async def test_media_goes_as_its_kind_and_reports_the_message_id() -> None:
    outcome = await messenger_on(RefundingBot()).send_media(
        5, Media(MediaKind.VIDEO, "file-id-1"), caption="#12"
    )
    assert outcome == Outcome.sent(77)


# -- the real wire: the sandbox's answers and faults ----------------------------------------


@pytest_asyncio.fixture
async def sandbox() -> AsyncIterator[tuple[SandboxServer, TelegramMessenger]]:
    async with SandboxServer(limits=None) as server:
        bot = ReelcartBot(
            server.token,
            base_url=f"{server.root_url}/bot",
            base_file_url=f"{server.root_url}/file/bot",
            request=AiohttpRequest(connections=4, read_timeout=0.5),
        )
        async with bot:
            yield server, TelegramMessenger(bot)


async def started(server: SandboxServer, user_id: int) -> SimulatedUser:
    user = SimulatedUser(server, user_id, "Ana")
    await user.send_command("/start")
    return user


async def test_a_message_arrives_with_its_buttons_and_its_id(
    sandbox: tuple[SandboxServer, TelegramMessenger],
) -> None:
    server, messenger = sandbox
    ana = await started(server, 3101)
    outcome = await messenger.send_text(
        ana.id, "<b>Back</b> in stock", buttons=[[Button("Open", "p:1")]]
    )
    assert outcome.ok and outcome.message_id is not None
    [message] = ana.messages
    assert message.message_id == outcome.message_id and message.text == "Back in stock"
    assert [b["callback_data"] for b in message.buttons] == ["p:1"]
    # Editing it to what it already shows is done, not an error.
    again = await messenger.edit_text(ana.id, outcome.message_id, "<b>Back</b> in stock")
    assert again == Outcome.sent(outcome.message_id)


async def test_a_blocked_person_and_an_unknown_chat_are_final(
    sandbox: tuple[SandboxServer, TelegramMessenger],
) -> None:
    server, messenger = sandbox
    ana = await started(server, 3102)
    await ana.block_bot()
    assert (await messenger.send_text(ana.id, "hello")).status is Status.BLOCKED
    stranger = await messenger.send_text(3199, "hello")  # never wrote to the bot
    assert stranger == Outcome.failed("Chat not found")


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (FaultKind.RETRY_AFTER, Status.RETRY_LATER),
        (FaultKind.SERVER_ERROR, Status.RETRY_LATER),
        (FaultKind.BAD_GATEWAY, Status.RETRY_LATER),
        (FaultKind.SLOW, Status.UNKNOWN),  # it arrived; the answer did not
        (FaultKind.DROP_BEFORE, Status.UNKNOWN),  # looks just like a drop after
        (FaultKind.DROP_AFTER, Status.UNKNOWN),
    ],
)
async def test_each_fault_on_the_wire_maps_to_one_outcome(
    sandbox: tuple[SandboxServer, TelegramMessenger], kind: FaultKind, status: Status
) -> None:
    server, messenger = sandbox
    ana = await started(server, 3103)
    server.faults.plan = FaultPlan(
        rate=1.0, kinds=frozenset({kind}), retry_after=3, slow_seconds=1.0
    )
    outcome = await messenger.send_text(ana.id, "hello")
    server.faults.enabled = False
    assert outcome.status is status, outcome
    if kind is FaultKind.RETRY_AFTER:
        assert outcome.retry_after == 3.0
    arrived = [m.text for m in ana.messages]
    assert arrived == (["hello"] if kind.carried_out else [])
