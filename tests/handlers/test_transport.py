"""The aiohttp request backend behaves as python-telegram-bot's own: what reaches the
server, what comes back, and how timeouts and dead servers surface."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import Bot, InputFile
from telegram.error import BadRequest, NetworkError, TimedOut

from reelcart.handlers.telegram_api.transport import AiohttpRequest

TOKEN = "123:abc"


class _Api:
    """A tiny Bot API stand-in recording what each call carried."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, object]]] = []
        self.delay = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        fields: dict[str, object] = {}
        if request.content_type == "multipart/form-data":
            async for part in await request.multipart():
                assert hasattr(part, "read")
                data = await part.read()  # type: ignore[union-attr]
                fields[part.name or ""] = (part.filename, bytes(data))  # type: ignore[union-attr]
        else:
            fields = dict(await request.post())
        self.seen.append((method, fields))
        if self.delay:
            await asyncio.sleep(self.delay)
        if method == "getMe":
            me = {"id": 123, "is_bot": True, "first_name": "reelcart", "username": "reelcart_bot"}
            return web.json_response({"ok": True, "result": me})
        if method == "sendVideo":
            message = {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"}}
            return web.json_response({"ok": True, "result": message})
        if method == "sendMessage":
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
                status=400,
            )
        return web.json_response({"ok": True, "result": True})


@pytest.fixture
async def api() -> AsyncIterator[tuple[_Api, str]]:
    fake = _Api()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield fake, f"http://127.0.0.1:{port}/bot"
    await runner.cleanup()


async def test_calls_go_as_forms_and_bot_api_errors_come_back(api: tuple[_Api, str]) -> None:
    fake, base = api
    bot = Bot(TOKEN, base_url=base, request=AiohttpRequest(), get_updates_request=AiohttpRequest())
    async with bot:
        assert bot.username == "reelcart_bot"
        assert await bot.answer_callback_query("42", text="Liked ❤️") is True
        with pytest.raises(BadRequest, match=r"[Cc]hat not found"):
            await bot.send_message(7, "hi")
    method, fields = fake.seen[1]
    assert method == "answerCallbackQuery"
    assert fields == {"callback_query_id": "42", "text": "Liked ❤️"}


async def test_files_go_as_multipart(api: tuple[_Api, str]) -> None:
    fake, base = api
    bot = Bot(TOKEN, base_url=base, request=AiohttpRequest(), get_updates_request=AiohttpRequest())
    async with bot:
        clip = InputFile(b"\x00\x01clip-bytes", filename="clip.mp4")
        sent = await bot.send_video(7, clip, caption="Aero Knit Running Sneaker")
    assert sent.message_id == 1
    method, fields = fake.seen[-1]
    assert method == "sendVideo"
    assert fields["chat_id"] == (None, b"7")
    assert fields["caption"] == (None, b"Aero Knit Running Sneaker")
    assert fields["video"] == ("clip.mp4", b"\x00\x01clip-bytes")


async def test_a_slow_answer_times_out(api: tuple[_Api, str]) -> None:
    fake, base = api
    fake.delay = 1.0
    async with AiohttpRequest(read_timeout=0.2) as request:
        with pytest.raises(TimedOut):
            await request.do_request(f"{base}{TOKEN}/getMe", "POST")


async def test_with_every_connection_busy_a_call_times_out_unsent(api: tuple[_Api, str]) -> None:
    fake, base = api
    fake.delay = 0.5
    async with AiohttpRequest(connections=1) as request:
        first = asyncio.create_task(request.do_request(f"{base}{TOKEN}/first", "POST"))
        await asyncio.sleep(0.1)
        with pytest.raises(TimedOut, match="not sent"):
            await request.do_request(f"{base}{TOKEN}/second", "POST", pool_timeout=0.1)
        assert (await first)[0] == 200
    assert [method for method, _ in fake.seen] == ["first"]


async def test_a_dead_server_is_a_network_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError):
            await request.do_request(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe", "POST")


async def test_it_must_be_initialized_first() -> None:
    with pytest.raises(RuntimeError, match="not initialized"):
        await AiohttpRequest().do_request("http://127.0.0.1:1/botx/getMe", "POST")
    with pytest.raises(ValueError):
        AiohttpRequest(connections=0)
