"""Flood control: 429 with retry_after, recovery, and switching it off."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from telegram import Bot
from telegram.error import RetryAfter

from reelcart.sandbox import SandboxLimits, SandboxServer, SimulatedUser

from .conftest import ALICE, BOB, RawApi


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inside PTB's RetryAfter
async def test_per_chat_burst_then_retry_after() -> None:
    limits = SandboxLimits(
        messages_per_second=100, burst=100, per_chat_per_second=2, per_chat_burst=3
    )
    async with SandboxServer(limits=limits) as server:
        alice = SimulatedUser(server, ALICE, "Alice")
        bob = SimulatedUser(server, BOB, "Bob")
        await alice.send_command("start")
        await bob.send_command("start")
        async with Bot(server.token, base_url=server.base_url) as bot:
            for n in range(3):
                await bot.send_message(ALICE, f"burst {n}")
            with pytest.raises(RetryAfter, match="Retry in 1 second"):
                await bot.send_message(ALICE, "one too many")
            # Other chats have their own bucket ...
            assert (await bot.send_message(BOB, "hello Bob")).text == "hello Bob"
            # ... and waiting as told lets the next message through.
            await asyncio.sleep(0.55)
            assert (await bot.send_message(ALICE, "after waiting")).text == "after waiting"
        assert [m.text for m in alice.messages][-1] == "after waiting"


async def test_global_limit_and_wire_format() -> None:
    limits = SandboxLimits(
        messages_per_second=1, burst=2, per_chat_per_second=10, per_chat_burst=10
    )
    async with SandboxServer(limits=limits) as server:
        await SimulatedUser(server, ALICE, "Alice").send_command("start")
        async with aiohttp.ClientSession() as session:
            api = RawApi(server, session)
            for _ in range(2):
                status, _body = await api.post_json("sendMessage", {"chat_id": ALICE, "text": "x"})
                assert status == 200
            status, body = await api.post_json("sendMessage", {"chat_id": ALICE, "text": "x"})
    assert status == 429
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }


async def test_flood_control_can_be_switched_off(bot: Bot, alice: SimulatedUser) -> None:
    # The default fixture runs with limits=None, as throughput benchmarks do.
    results = await asyncio.gather(*(bot.send_message(ALICE, str(n)) for n in range(60)))
    assert len(results) == 60
