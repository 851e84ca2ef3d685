"""Webhook mode: setWebhook rules, delivery with the secret header, retries, info."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, Update
from telegram.error import BadRequest

from reelcart import web as reelcart_web
from reelcart.bot import build_application, webhook_sink
from reelcart.config import Settings
from reelcart.handlers.kit.context import ReelcartApplication
from reelcart.launch import free_port
from reelcart.sandbox import SandboxServer, SimulatedUser

from .conftest import ALICE, RawApi


class Receiver:
    """A tiny webhook endpoint on 127.0.0.1 that can be told to fail."""

    def __init__(self) -> None:
        self.received: list[tuple[str | None, dict[str, Any]]] = []
        self.failures_left = 0
        self.reply: dict[str, Any] | None = None
        self.arrived = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        if self.failures_left:
            self.failures_left -= 1
            return web.Response(status=500)
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        self.received.append((secret, await request.json()))
        self.arrived.set()
        if self.reply is not None:
            return web.json_response(self.reply)
        return web.Response(status=200)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, count: int, seconds: float = 5.0) -> None:
        async with asyncio.timeout(seconds):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    endpoint = Receiver()
    await endpoint.start()
    yield endpoint
    await endpoint.stop()


async def test_updates_are_posted_in_order_with_the_secret(
    bot: Bot,
    alice: SimulatedUser,
    receiver: Receiver,
) -> None:
    assert await bot.set_webhook(receiver.url, secret_token="s3cr3t_-token")
    for word in ("one", "two", "three"):
        await alice.send_text(word)
    await receiver.wait_for(4)
    assert {secret for secret, _ in receiver.received} == {"s3cr3t_-token"}
    texts = [update["message"]["text"] for _, update in receiver.received]
    assert texts == ["/start", "one", "two", "three"]
    ids = [update["update_id"] for _, update in receiver.received]
    assert ids == sorted(ids)
    info = await bot.get_webhook_info()
    assert info.url == receiver.url
    assert info.pending_update_count == 0


async def test_failed_delivery_is_retried_and_reported(
    bot: Bot,
    alice: SimulatedUser,
    receiver: Receiver,
) -> None:
    receiver.failures_left = 2
    await bot.set_webhook(receiver.url)
    await receiver.wait_for(1)
    assert receiver.received[0][1]["message"]["text"] == "/start"
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert info.last_error_date is not None


async def test_unreachable_webhook_keeps_updates_pending(bot: Bot, alice: SimulatedUser) -> None:
    await bot.set_webhook("http://127.0.0.1:9/nothing-listens-here")
    await asyncio.sleep(0.3)
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1
    assert info.last_error_message
    await bot.delete_webhook()
    updates = await bot.get_updates()
    assert [u.message.text for u in updates if u.message] == ["/start"]


async def test_webhook_reply_can_carry_a_method_call(
    bot: Bot,
    alice: SimulatedUser,
    receiver: Receiver,
) -> None:
    receiver.reply = {"method": "sendMessage", "chat_id": ALICE, "text": "from the reply"}
    await bot.set_webhook(receiver.url)
    reply = await alice.wait_for(lambda m: m.text == "from the reply", timeout=5)
    assert reply.data["from"]["is_bot"] is True


async def test_set_webhook_rules(bot: Bot, server: SandboxServer) -> None:
    with pytest.raises(BadRequest, match=r"(?i)An HTTPS URL must be provided for webhook"):
        await bot.set_webhook("http://shop.example/hook")
    with pytest.raises(BadRequest, match=r"(?i)ports 80, 88, 443 or 8443"):
        await bot.set_webhook("https://shop.example:8080/hook")
    with pytest.raises(BadRequest, match=r"(?i)secret token contains unallowed characters"):
        await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="no spaces!")
    with pytest.raises(BadRequest, match=r"(?i)secret token is too long"):
        await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="a" * 257)
    assert (await bot.get_webhook_info()).url == ""


async def test_webhook_calls_answer_with_descriptions(raw: RawApi) -> None:
    url = "http://127.0.0.1:9/hook"
    calls = [
        ("setWebhook", {"url": url}),
        ("setWebhook", {"url": url}),
        ("deleteWebhook", {}),
        ("deleteWebhook", {}),
    ]
    descriptions = []
    for method, body in calls:
        status, answer = await raw.post_json(method, body)
        assert (status, answer["ok"], answer["result"]) == (200, True, True)
        descriptions.append(answer["description"])
    assert descriptions == [
        "Webhook was set",
        "Webhook is already set",
        "Webhook was deleted",
        "Webhook is already deleted",
    ]


# -- reelcart's own webhook endpoint, fed by the sandbox --------------------------------

BOT_SECRET = "reelcart-webhook-secret"


class Endpoint:
    """reelcart's webhook route with the bot's real sink. The application is not started:
    the tests read what reaches its update queue."""

    def __init__(self, application: ReelcartApplication) -> None:
        self.application = application
        self.stopping = asyncio.Event()
        self.refusals = 0  # sink calls that raised RetryLater
        self.refused = asyncio.Event()
        self.url = ""
        self._sink = webhook_sink(application, self.stopping)

    async def sink(self, data: dict[str, Any]) -> None:
        try:
            await self._sink(data)
        except reelcart_web.RetryLater:
            self.refusals += 1
            self.refused.set()
            raise

    async def next_text(self) -> str | None:
        update = await asyncio.wait_for(self.application.update_queue.get(), 10)
        assert isinstance(update, Update)
        return update.message.text if update.message else None


@pytest.fixture
async def endpoint(server: SandboxServer) -> AsyncIterator[Endpoint]:
    settings = Settings(bot_token=server.token, api_root=server.root_url)
    served = Endpoint(build_application(settings))

    async def health() -> dict[str, Any]:
        return {}

    app = reelcart_web.make_app(health, served.sink, BOT_SECRET)
    port = free_port()
    runner = await reelcart_web.start_server(app, "127.0.0.1", port)
    served.url = f"http://127.0.0.1:{port}{reelcart_web.WEBHOOK_PATH}"
    try:
        yield served
    finally:
        await server.call("deleteWebhook")  # no more deliveries (and retries) to a closing app
        await runner.cleanup()


async def test_an_update_the_bot_cannot_read_is_dropped_not_redelivered_forever(
    bot: Bot,
    server: SandboxServer,
    alice: SimulatedUser,
    endpoint: Endpoint,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Valid JSON with an update_id, but python-telegram-bot cannot build an Update from it
    # (a message without its date and chat).
    bad_id = server.state.updates.push("message", {"message_id": 1, "text": "unreadable"})
    await alice.send_text("after the bad one")
    await bot.set_webhook(endpoint.url, secret_token=BOT_SECRET)

    assert await endpoint.next_text() == "/start"
    # The one behind it is not held up: the unreadable update was answered 200 and dropped.
    assert await endpoint.next_text() == "after the bad one"
    assert endpoint.application.update_queue.empty()
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 0
    assert not info.last_error_message
    assert f"update {bad_id} dropped" in caplog.text


async def test_while_the_bot_stops_an_update_is_refused_for_telegram_to_retry(
    bot: Bot, alice: SimulatedUser, endpoint: Endpoint
) -> None:
    endpoint.stopping.set()
    await bot.set_webhook(endpoint.url, secret_token=BOT_SECRET)
    # A second refusal is the sandbox's retry: the first failure is on record by then.
    async with asyncio.timeout(10):
        while endpoint.refusals < 2:
            endpoint.refused.clear()
            await endpoint.refused.wait()
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 503 Service Unavailable"
    assert info.pending_update_count == 1
    assert endpoint.application.update_queue.empty()

    endpoint.stopping.clear()  # a bot that runs again gets it
    assert await endpoint.next_text() == "/start"


async def test_a_body_that_is_no_update_is_dropped_with_200_but_a_wrong_secret_is_403(
    endpoint: Endpoint,
) -> None:
    good = {reelcart_web.SECRET_HEADER: BOT_SECRET, "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        for body in (b"{not json", b'{"message": {}}', b"[1, 2]"):
            async with session.post(endpoint.url, data=body, headers=good) as response:
                assert response.status == 200, body
        wrong = {**good, reelcart_web.SECRET_HEADER: "guess"}
        async with session.post(endpoint.url, data=b'{"update_id": 1}', headers=wrong) as response:
            assert response.status == 403
    assert endpoint.application.update_queue.empty()
