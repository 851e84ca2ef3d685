"""Fixtures for the sandbox tests: a running sandbox, a real PTB Bot, raw HTTP, users."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from telegram import Bot, Update

from reelcart.sandbox import SandboxServer, SimulatedUser

ALICE = 1001
BOB = 1002


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    """A sandbox without flood control, so only the flood tests meet 429s."""
    async with SandboxServer(limits=None) as sandbox:
        yield sandbox


@pytest.fixture
async def bot(server: SandboxServer) -> AsyncIterator[Bot]:
    """python-telegram-bot's Bot, configured exactly as the real bot process does it."""
    async with Bot(
        server.token, base_url=server.base_url, base_file_url=server.base_file_url
    ) as telegram_bot:
        yield telegram_bot


@pytest.fixture
async def alice(server: SandboxServer) -> SimulatedUser:
    """A shopper who has opened the chat with /start."""
    user = SimulatedUser(server, ALICE, "Alice", username="alice_shops")
    await user.send_command("start")
    return user


class RawApi:
    """Plain aiohttp calls to the sandbox, to check wire-level behaviour."""

    def __init__(self, server: SandboxServer, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.session = session

    def url(self, method: str, token: str | None = None) -> str:
        return f"{self.server.root_url}/bot{token or self.server.token}/{method}"

    async def post_json(
        self, method: str, body: Any, token: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        async with self.session.post(self.url(method, token), json=body) as response:
            return response.status, await response.json()

    async def post_form(self, method: str, data: Any) -> tuple[int, dict[str, Any]]:
        async with self.session.post(self.url(method), data=data) as response:
            return response.status, await response.json()

    async def get(self, method: str, **query: str) -> tuple[int, dict[str, Any]]:
        async with self.session.get(self.url(method), params=query) as response:
            return response.status, await response.json()


@pytest.fixture
async def raw(server: SandboxServer) -> AsyncIterator[RawApi]:
    async with aiohttp.ClientSession() as session:
        yield RawApi(server, session)


UpdateHandler = Callable[[Update], Awaitable[None]]


@contextlib.asynccontextmanager
async def answering(bot: Bot, handler: UpdateHandler) -> AsyncIterator[list[Update]]:
    """Run a minimal polling loop that hands every update to ``handler``.

    Yields the list of updates seen, in order (duplicates included).
    """
    seen: list[Update] = []

    async def loop() -> None:
        offset: int | None = None
        while True:
            updates = await bot.get_updates(offset=offset, timeout=1)
            for update in updates:
                seen.append(update)
                offset = update.update_id + 1
                await handler(update)

    task = asyncio.create_task(loop())
    try:
        yield seen
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A valid tiny PNG image."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def mp4_bytes(width: int = 720, height: int = 1280, seconds: int = 7) -> bytes:
    """A minimal MP4 container (ftyp + moov/mvhd + trak/tkhd) with the given geometry."""

    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", 8 + len(payload)) + kind + payload

    mvhd = bytes(4) + bytes(8) + struct.pack(">II", 1000, seconds * 1000) + bytes(80)
    tkhd = bytes(4) + bytes(72) + struct.pack(">II", width << 16, height << 16)
    moov = box(b"moov", box(b"mvhd", mvhd) + box(b"trak", box(b"tkhd", tkhd)))
    return box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + moov + box(b"mdat", b"\0" * 64)
