"""A faulty network between the bot and the sandbox, for the handler tests under Bot API faults.

``FaultyNetwork`` is an HTTP hop on 127.0.0.1 that relays every Bot API call to the sandbox
and breaks the ones it is told to, the way the real network does:

- ``"bad_gateway"``: Telegram's front answers 502 and the call goes nowhere;
- ``"lost_reply"``: the call reaches Telegram and takes effect, then the connection drops
  before the reply (the bot cannot tell whether it worked);
- ``"flood"``: a 429 with ``retry_after`` of one second, as Telegram's flood control sends.

It also records every exchange, so a test can count the answers to one callback query and
the requests Telegram refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web

from reelcart.bot import build_application
from reelcart.config import Settings
from reelcart.handlers.kit.context import ReelcartApplication
from reelcart.sandbox import SandboxServer, SimulatedUser
from reelcart.services.shop import Shop
from tests.handlers.conftest import _pump, open_test_shop

Fault = Literal["bad_gateway", "lost_reply", "flood"]


@dataclass(frozen=True)
class Exchange:
    """One Bot API call as it crossed the network: ``status`` None if the bot got no reply."""

    method: str
    params: dict[str, str]
    status: int | None
    description: str = ""

    @property
    def refused(self) -> bool:
        """Telegram received the call and refused it (a 4xx that is not a flood wait)."""
        return self.status is not None and 400 <= self.status < 500 and self.status != 429


class FaultyNetwork:
    """Relays the bot's calls to ``upstream`` (the sandbox), breaking the ones queued."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.exchanges: list[Exchange] = []
        self._next: defaultdict[str, deque[Fault]] = defaultdict(deque)
        self._always: dict[str, Fault] = {}
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.root_url = ""

    def break_next(self, method: str, *faults: Fault) -> None:
        """The next calls of ``method`` meet ``faults``, one each, in order."""
        self._next[method].extend(faults)

    def break_every(self, method: str, fault: Fault) -> None:
        """Every call of ``method`` meets ``fault`` until ``heal``."""
        self._always[method] = fault

    def heal(self) -> None:
        self._next.clear()
        self._always.clear()

    def calls(self, method: str) -> list[Exchange]:
        return [e for e in self.exchanges if e.method == method]

    def answers_to(self, query_id: str) -> list[Exchange]:
        """Every answerCallbackQuery the bot sent for this query (whatever became of it)."""
        return [
            e
            for e in self.calls("answerCallbackQuery")
            if e.params.get("callback_query_id") == query_id
        ]

    def refused(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.refused]

    async def __aenter__(self) -> FaultyNetwork:
        self._session = aiohttp.ClientSession()
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_route("*", "/{tail:.*}", self._relay)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.root_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def _fault_for(self, method: str) -> Fault | None:
        queued = self._next.get(method)
        if queued:
            return queued.popleft()
        return self._always.get(method)

    async def _relay(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        tail = request.match_info["tail"]
        method = tail.rsplit("/", 1)[-1]
        body = await request.read()
        params = _form_fields(request.content_type, body)
        fault = self._fault_for(method)
        if fault == "bad_gateway":
            self.exchanges.append(Exchange(method, params, 502, "Bad Gateway"))
            return web.json_response(
                {"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502
            )
        if fault == "flood":
            description = "Too Many Requests: retry after 1"
            self.exchanges.append(Exchange(method, params, 429, description))
            reply = {
                "ok": False,
                "error_code": 429,
                "description": description,
                "parameters": {"retry_after": 1},
            }
            return web.json_response(reply, status=429)
        headers = {}
        if "Content-Type" in request.headers:
            headers["Content-Type"] = request.headers["Content-Type"]
        async with self._session.request(
            request.method,
            f"{self.upstream}/{tail}",
            params=request.query,
            data=body,
            headers=headers,
        ) as upstream:
            status, payload = upstream.status, await upstream.read()
            content_type = upstream.content_type
        description = _description(payload) if status >= 300 else ""
        if fault == "lost_reply":
            self.exchanges.append(Exchange(method, params, None, description))
            assert request.transport is not None
            request.transport.close()  # the reply never reaches the bot
            return web.Response()
        self.exchanges.append(Exchange(method, params, status, description))
        return web.Response(status=status, body=payload, content_type=content_type)


def _form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The call's parameters when they came as a plain form (uploads are not needed here)."""
    if content_type != "application/x-www-form-urlencoded":
        return {}
    return {k: v[0] for k, v in parse_qs(body.decode()).items()}


def _description(payload: bytes) -> str:
    with contextlib.suppress(ValueError):
        return str(json.loads(payload).get("description", ""))
    return ""


@dataclass
class FaultyHarness:
    """The real Application on a real shop, talking to the sandbox through ``network``."""

    server: SandboxServer
    network: FaultyNetwork
    application: ReelcartApplication
    shop: Shop
    users: dict[int, SimulatedUser] = field(default_factory=dict)

    def user(self, user_id: int = 1001, language_code: str = "en") -> SimulatedUser:
        if user_id not in self.users:
            self.users[user_id] = SimulatedUser(
                self.server, user_id, "Ana", language_code=language_code
            )
        return self.users[user_id]


@contextlib.asynccontextmanager
async def faulty_harness(tmp_path: Path) -> AsyncIterator[FaultyHarness]:
    """Sandbox, faulty network, shop and Application, updates fed by ``process_update``.

    Updates are handed over one at a time, each handled to the end before the next: an
    update's reply is therefore a fence for everything the updates before it did.
    """
    async with SandboxServer(limits=None) as server, FaultyNetwork(server.root_url) as network:
        shop = await asyncio.to_thread(open_test_shop, tmp_path / "shop.db")
        settings = Settings(
            bot_token=server.token, api_root=network.root_url, db_path=tmp_path / "shop.db"
        )
        application = build_application(settings)
        application.bot_data.shop = shop
        async with application:
            pump = asyncio.create_task(_pump(application, server))
            try:
                yield FaultyHarness(server, network, application, shop)
            finally:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
        await asyncio.to_thread(shop.close)
