"""Fault injection: each kind as a plain HTTP client meets it, seeded, switchable, counted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import Bot
from telegram.error import NetworkError, RetryAfter, TimedOut

from reelcart.sandbox import FaultInjector, FaultKind, FaultPlan, SandboxServer, SimulatedUser
from reelcart.sandbox.faults import InjectedFault, call_text

from .conftest import ALICE, BOB


def only(kind: FaultKind, **options: Any) -> FaultPlan:
    """Every eligible call fails with ``kind``."""
    return FaultPlan(rate=1.0, kinds=frozenset({kind}), **options)


class Wire:
    """A plain aiohttp client: what a bot's HTTP layer receives, exceptions included."""

    def __init__(self, server: SandboxServer, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.session = session

    async def post(
        self, method: str, body: dict[str, Any], timeout: float = 5.0
    ) -> tuple[int, str, bytes]:
        url = f"{self.server.root_url}/bot{self.server.token}/{method}"
        async with self.session.post(
            url, json=body, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            return response.status, response.content_type, await response.read()


@pytest.fixture
async def wire(server: SandboxServer) -> AsyncIterator[Wire]:
    async with aiohttp.ClientSession() as session:
        yield Wire(server, session)


async def next_callback_query(server: SandboxServer) -> str:
    """Long-poll as the bot until a callback query comes; its id."""
    offset = None
    while True:
        for update in await server.call("getUpdates", offset=offset, timeout=5):
            offset = update["update_id"] + 1
            if "callback_query" in update:
                return str(update["callback_query"]["id"])


def texts(user: SimulatedUser) -> list[str]:
    return [message.text for message in user.messages]


# -- each kind, as the client sees it, and whether the call was carried out --------------------


async def test_a_429_has_telegrams_shape_and_sends_nothing(
    server: SandboxServer, wire: Wire, alice: SimulatedUser
) -> None:
    server.faults.plan = only(FaultKind.RETRY_AFTER, retry_after=3)
    status, content_type, body = await wire.post("sendMessage", {"chat_id": ALICE, "text": "hi"})
    assert (status, content_type) == (429, "application/json")
    assert body == (
        b'{"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 3", '
        b'"parameters": {"retry_after": 3}}'
    )
    assert texts(alice) == []
    assert server.faults.injected == [
        InjectedFault(FaultKind.RETRY_AFTER, "sendMessage", ALICE, 0, "hi")
    ]


async def test_a_500_is_telegrams_json_and_sends_nothing(
    server: SandboxServer, wire: Wire, alice: SimulatedUser
) -> None:
    server.faults.plan = only(FaultKind.SERVER_ERROR)
    status, _, body = await wire.post("sendMessage", {"chat_id": ALICE, "text": "hi"})
    assert status == 500
    assert body == b'{"ok": false, "error_code": 500, "description": "Internal Server Error"}'
    assert texts(alice) == []


async def test_a_502_is_the_html_page_of_the_front_and_sends_nothing(
    server: SandboxServer, wire: Wire, alice: SimulatedUser
) -> None:
    server.faults.plan = only(FaultKind.BAD_GATEWAY)
    status, content_type, body = await wire.post("sendMessage", {"chat_id": ALICE, "text": "hi"})
    assert (status, content_type) == (502, "text/html")
    assert b"<title>502 Bad Gateway</title>" in body
    assert texts(alice) == []


async def test_a_slow_answer_outlasts_the_clients_timeout_but_the_call_happened(
    server: SandboxServer, wire: Wire, alice: SimulatedUser
) -> None:
    server.faults.plan = only(FaultKind.SLOW, slow_seconds=5.0)
    sending = asyncio.create_task(
        wire.post("sendMessage", {"chat_id": ALICE, "text": "late"}, timeout=0.5)
    )
    # The message is in the chat while the client still waits for the answer...
    assert await alice.wait_until(lambda: texts(alice) == ["late"], timeout=5)
    assert not sending.done()
    with pytest.raises(TimeoutError):  # ...which never comes in time
        await sending


async def test_a_slow_answer_reaches_a_patient_client(
    server: SandboxServer, wire: Wire, alice: SimulatedUser
) -> None:
    server.faults.plan = only(FaultKind.SLOW, slow_seconds=0.2)
    status, _, body = await wire.post("sendMessage", {"chat_id": ALICE, "text": "late"})
    assert status == 200 and b'"ok": true' in body
    assert texts(alice) == ["late"]


async def test_a_drop_before_closes_the_connection_and_sends_nothing(
    server: SandboxServer, wire: Wire, alice: SimulatedUser
) -> None:
    server.faults.plan = only(FaultKind.DROP_BEFORE)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await wire.post("sendMessage", {"chat_id": ALICE, "text": "lost"})
    assert texts(alice) == []


async def test_a_drop_after_closes_the_connection_but_the_message_was_sent(
    server: SandboxServer, wire: Wire, alice: SimulatedUser
) -> None:
    server.faults.plan = only(FaultKind.DROP_AFTER)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await wire.post("sendMessage", {"chat_id": ALICE, "text": "sent, unheard"})
    assert texts(alice) == ["sent, unheard"]


async def test_a_drop_after_really_edits_and_really_answers_the_tap(
    server: SandboxServer, wire: Wire, alice: SimulatedUser
) -> None:
    keyboard = {"inline_keyboard": [[{"text": "⏭ next", "callback_data": "next"}]]}
    sent = await server.call("sendMessage", chat_id=ALICE, text="card 1", reply_markup=keyboard)
    server.faults.plan = only(FaultKind.DROP_AFTER)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await wire.post(
            "editMessageText",
            {"chat_id": ALICE, "message_id": sent["message_id"], "text": "card 2",
             "reply_markup": keyboard},
        )  # fmt: skip
    assert alice.on_screen(sent["message_id"]).text == "card 2"

    tap = alice.tap(sent["message_id"], "⏭")  # the query is on its way now
    query_id = await next_callback_query(server)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await wire.post("answerCallbackQuery", {"callback_query_id": query_id, "text": "⏭"})
    assert (await tap).text == "⏭"  # the user saw the answer the bot never heard of
    # The answer's fault is about the user who tapped.
    assert server.faults.faults_for(ALICE, "answerCallbackQuery") == [
        InjectedFault(FaultKind.DROP_AFTER, "answerCallbackQuery", ALICE, 0, "⏭")
    ]


def test_a_fault_records_the_text_or_caption_it_hit() -> None:
    assert call_text({"chat_id": 1, "text": "hello"}) == "hello"
    assert call_text({"caption": "a clip"}) == "a clip"
    assert call_text({"media": '{"type": "video", "media": "x", "caption": "card"}'}) == "card"
    assert call_text({"media": {"type": "photo", "caption": "card"}}) == "card"
    assert call_text({"media": "attach://file"}) is None
    assert call_text({"callback_query_id": "1"}) is None


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inside PTB's RetryAfter
async def test_python_telegram_bot_meets_each_kind_as_the_matching_error(
    server: SandboxServer, bot: Bot, alice: SimulatedUser
) -> None:
    expected: dict[FaultKind, type[Exception]] = {
        FaultKind.RETRY_AFTER: RetryAfter,
        FaultKind.SERVER_ERROR: NetworkError,
        FaultKind.BAD_GATEWAY: NetworkError,
        FaultKind.SLOW: TimedOut,
        FaultKind.DROP_BEFORE: NetworkError,
        FaultKind.DROP_AFTER: NetworkError,
    }
    for kind, error in expected.items():
        server.faults.plan = only(kind, slow_seconds=5.0)
        with pytest.raises(error) as raised:
            await bot.send_message(ALICE, kind.value, read_timeout=0.3)
        if kind is not FaultKind.SLOW:  # TimedOut is a NetworkError too
            assert not isinstance(raised.value, TimedOut), kind
    carried = [kind.value for kind in FaultKind if kind.carried_out]
    assert texts(alice) == carried == ["slow", "drop_after"]


# -- which calls: exemptions, in-process calls -------------------------------------------------


async def test_polling_and_getme_are_spared_unless_the_plan_says_otherwise(
    server: SandboxServer, wire: Wire, alice: SimulatedUser
) -> None:
    server.faults.plan = only(FaultKind.SERVER_ERROR)
    for method, body in (("getMe", {}), ("GETUPDATES", {"timeout": 0}), ("getWebhookInfo", {})):
        assert (await wire.post(method, body))[0] == 200, method
    assert server.faults.calls == 0 and not server.faults.injected
    # The sandbox's own in-process calls (the tests' tools) never fail.
    assert (await server.call("sendMessage", chat_id=ALICE, text="direct"))["text"] == "direct"

    server.faults.plan = only(FaultKind.SERVER_ERROR, exempt=frozenset({"sendMessage"}))
    assert (await wire.post("getMe", {}))[0] == 500
    assert (await wire.post("sendmessage", {"chat_id": ALICE, "text": "spared"}))[0] == 200
    assert texts(alice) == ["direct", "spared"]


async def test_bad_tokens_and_unknown_methods_are_answered_as_without_faults(
    server: SandboxServer, wire: Wire
) -> None:
    server.faults.plan = only(FaultKind.DROP_BEFORE)
    assert (await wire.post("noSuchMethod", {}))[0] == 404
    async with wire.session.post(f"{server.root_url}/bot123:{'x' * 35}/sendMessage") as response:
        assert response.status == 401
    assert server.faults.calls == 0


# -- switching, counting, determinism ----------------------------------------------------------


async def test_faults_switch_off_and_on_at_run_time_and_are_counted(
    server: SandboxServer, wire: Wire, alice: SimulatedUser
) -> None:
    server.faults.plan = only(FaultKind.RETRY_AFTER)
    server.faults.enabled = False
    assert (await wire.post("sendMessage", {"chat_id": ALICE, "text": "setup"}))[0] == 200
    server.faults.enabled = True
    assert (await wire.post("sendMessage", {"chat_id": ALICE, "text": "x"}))[0] == 429
    with server.faults.paused():
        assert (await wire.post("sendMessage", {"chat_id": ALICE, "text": "quiet"}))[0] == 200
    assert (await wire.post("sendMessage", {"chat_id": ALICE, "text": "y"}))[0] == 429
    assert server.faults.calls == 2
    assert server.faults.counts == {FaultKind.RETRY_AFTER: 2}
    assert [fault.ordinal for fault in server.faults.injected] == [0, 1]
    assert texts(alice) == ["setup", "quiet"]


async def test_a_server_starts_with_the_plan_it_was_given() -> None:
    plan = only(FaultKind.SERVER_ERROR)
    async with SandboxServer(limits=None, strict=False, faults=plan) as server:
        await SimulatedUser(server, ALICE, "Alice").send_command("start")
        async with aiohttp.ClientSession() as session:
            status, _, _ = await Wire(server, session).post(
                "sendMessage", {"chat_id": ALICE, "text": "x"}
            )
        assert status == 500 and server.faults.plan is plan
    assert SandboxServer(strict=False).faults.draw("sendMessage", ALICE) is None


def draws(injector: FaultInjector, calls: list[tuple[str, int | None]]) -> list[FaultKind | None]:
    return [injector.draw(method, target) for method, target in calls]


def test_the_same_seed_gives_the_same_faults_whatever_the_interleaving_of_chats() -> None:
    plan = FaultPlan(rate=0.3, seed=42)
    alice_calls = [("sendMessage", ALICE), ("editMessageMedia", ALICE)] * 50
    bob_calls = [("sendMessage", BOB), ("answerCallbackQuery", BOB)] * 50
    together = FaultInjector(plan)
    pairs = zip(alice_calls, bob_calls, strict=True)
    mixed = draws(together, [call for pair in pairs for call in pair])
    alone = FaultInjector(plan)
    first, second = draws(alone, alice_calls), draws(alone, bob_calls)
    assert mixed[0::2] == first and mixed[1::2] == second
    assert any(first) and any(second)

    other = FaultInjector(FaultPlan(rate=0.3, seed=43))
    assert draws(other, alice_calls) != first
    alone.reset()
    assert draws(alone, alice_calls) == first  # reset: the same calls meet the same faults


def test_the_rate_and_the_kinds_are_honoured() -> None:
    injector = FaultInjector(FaultPlan(rate=0.15, seed=1))
    drawn = draws(injector, [("sendMessage", chat) for chat in range(200) for _ in range(20)])
    share = sum(kind is not None for kind in drawn) / len(drawn)
    assert 0.13 < share < 0.17
    assert set(injector.counts) == set(FaultKind)
    assert injector.calls == 4000 and sum(injector.counts.values()) == len(injector.injected)

    two = FaultInjector(
        FaultPlan(rate=0.5, kinds=frozenset({FaultKind.SLOW, FaultKind.DROP_AFTER}))
    )
    draws(two, [("sendMessage", ALICE)] * 200)
    assert set(two.counts) == {FaultKind.SLOW, FaultKind.DROP_AFTER}
    assert not draws(FaultInjector(FaultPlan(rate=0.0)), [("sendMessage", ALICE)] * 100).count(
        FaultKind.SLOW
    )


@pytest.mark.parametrize(
    "options",
    [{"rate": 1.5}, {"rate": -0.1}, {"kinds": frozenset()}, {"retry_after": 0},
     {"slow_seconds": 0}],
)  # fmt: skip
def test_a_plan_that_makes_no_sense_is_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        FaultPlan(**options)
