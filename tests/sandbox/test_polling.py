"""getUpdates: offsets, long polling, limits, allowed_updates and conflicts."""

from __future__ import annotations

import asyncio
import time

import pytest
from telegram import Bot
from telegram.error import Conflict

from reelcart.sandbox import SandboxServer, SimulatedUser

from .conftest import RawApi


async def test_offset_confirms_updates(bot: Bot, alice: SimulatedUser) -> None:
    await alice.send_text("one")
    await alice.send_text("two")
    first = await bot.get_updates()
    assert [u.message.text for u in first if u.message] == ["/start", "one", "two"]
    again = await bot.get_updates()
    assert [u.update_id for u in again] == [u.update_id for u in first]  # not confirmed yet
    rest = await bot.get_updates(offset=first[1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["two"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1) == ()


async def test_limit_and_negative_offset(bot: Bot, alice: SimulatedUser) -> None:
    for word in ("a", "b", "c"):
        await alice.send_text(word)
    assert len(await bot.get_updates(limit=2)) == 2
    last = await bot.get_updates(offset=-1)
    assert [u.message.text for u in last if u.message] == ["c"]
    assert len(await bot.get_updates()) == 1  # everything before the last was forgotten


async def test_long_poll_waits_and_wakes_on_new_update(bot: Bot, alice: SimulatedUser) -> None:
    start = await bot.get_updates()
    offset = start[-1].update_id + 1
    began = time.monotonic()
    assert await bot.get_updates(offset=offset, timeout=1) == ()
    assert time.monotonic() - began >= 0.9  # the timeout is honoured, not busy-returned

    async def write_later() -> None:
        await asyncio.sleep(0.2)
        await alice.send_text("late")

    writer = asyncio.create_task(write_later())
    began = time.monotonic()
    updates = await bot.get_updates(offset=offset, timeout=10)
    await writer
    assert [u.message.text for u in updates if u.message] == ["late"]
    assert time.monotonic() - began < 2


async def test_allowed_updates_filter_new_updates(bot: Bot, alice: SimulatedUser) -> None:
    first = await bot.get_updates(allowed_updates=["callback_query"])
    offset = first[-1].update_id + 1
    await alice.send_text("ignored")
    assert await bot.get_updates(offset=offset) == ()
    await bot.get_updates(offset=offset, allowed_updates=[])  # back to the default set
    await alice.send_text("seen")
    updates = await bot.get_updates(offset=offset)
    assert [u.message.text for u in updates if u.message] == ["seen"]


async def test_overlapping_polls_conflict(
    server: SandboxServer, bot: Bot, alice: SimulatedUser
) -> None:
    offset = (await bot.get_updates())[-1].update_id + 1
    first = asyncio.create_task(bot.get_updates(offset=offset, timeout=5))
    await asyncio.sleep(0.2)
    # A second bot process with the same token, the classic cause of this error.
    async with Bot(server.token, base_url=server.base_url) as twin:
        second = asyncio.create_task(twin.get_updates(offset=offset, timeout=1))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await first
        assert await second == ()


async def test_get_updates_refused_while_webhook_is_set(bot: Bot, raw: RawApi) -> None:
    assert await bot.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    status, body = await raw.post_json("getUpdates", {})
    assert (status, body["error_code"]) == (409, 409)
    assert await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_duplicate_delivery_repeats_the_same_update(bot: Bot, alice: SimulatedUser) -> None:
    first = await bot.get_updates()
    start_id = first[-1].update_id
    offset = start_id + 1
    alice.redeliver(start_id)
    again = await bot.get_updates(offset=offset)
    assert [u.update_id for u in again] == [start_id]
    assert again[0].message is not None and again[0].message.text == "/start"
    assert await bot.get_updates(offset=offset) == ()
