"""Stopping and restarting the bot loses no reaction and doubles none."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from reelcart.launch import BotProcess
from reelcart.sandbox import SandboxServer, SimulatedUser
from tests.e2e.conftest import Template

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio]


def likes_in_db(db_path: Path, user_id: int) -> int:
    with sqlite3.connect(db_path) as db:
        return int(
            db.execute(
                "SELECT count(*) FROM events WHERE user_id = ? AND kind = 'like'", [user_id]
            ).fetchone()[0]
        )


async def test_a_swipe_in_flight_during_shutdown_is_recorded_exactly_once(
    template: Template, tmp_path: Path
) -> None:
    db_path = template.copy_to(tmp_path)
    async with SandboxServer() as server:
        first = BotProcess(server.root_url, server.token, db_path)
        await first.start()
        user = SimulatedUser(server, 777, "Noor")
        await user.send_command("/feed")
        card = await user.wait_for(lambda m: m.media_kind == "video")
        await user.press(card, "❤️")
        card = await user.wait_for(lambda m: m.message_id == card.message_id and m.edited)

        # The second like is pressed while the bot is being stopped.
        pressing = asyncio.create_task(user.press(card, "❤️", timeout=60))
        await asyncio.sleep(0.01)
        assert await first.stop() == 0, first.tail()

        second = BotProcess(server.root_url, server.token, db_path)
        await second.start()
        try:
            answer = await pressing  # answered by whichever process handled it
            assert answer.text == "❤️ Saved to your likes"
            await user.wait_for(lambda m: m.message_id == card.message_id and m.edited)
            assert likes_in_db(db_path, user.id) == 2
            await user.send_command("/likes")
            likes = await user.wait_for(lambda m: "likes" in m.text)
            assert likes.text.startswith("❤️ Your likes (2)")
            # The card on screen was made before the restart and still works.
            on_screen = next(m for m in reversed(user.messages) if m.media_kind)
            assert (await user.press(on_screen, "⏭")).text == "⏭"
        finally:
            assert await second.stop() == 0, second.tail()
