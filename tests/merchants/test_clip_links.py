"""Moderation asks a clip's link whether it leads to a video: a dead link is flagged."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web

from reelcart.config import Settings
from reelcart.embeddings.encoder import HashingEncoder
from reelcart.services.shop import Shop
from tests.merchants.conftest import ADMIN, DIM, HEADER, Back


class ClipHost:
    """A small web server on 127.0.0.1 standing in for a merchant's video host."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        self.arrived.set()
        name = request.path.rsplit("/", 1)[-1]
        if name == "slow.mp4":
            await self.release.wait()
        if name in ("ok.mp4", "slow.mp4"):
            return web.Response(body=b"\x00\x00\x00\x18ftypisom", content_type="video/mp4")
        if name == "page.mp4":
            return web.Response(text="<html>Not here</html>", content_type="text/html")
        if name == "no-head.mp4":
            if request.method == "HEAD":
                return web.Response(status=405)
            return web.Response(body=b"\x00\x00\x00\x18ftypisom", content_type="video/mp4")
        return web.Response(status=404, text="gone")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{name}", self.handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest_asyncio.fixture
async def host() -> AsyncIterator[ClipHost]:
    server = ClipHost()
    await server.start()
    yield server
    await server.stop()


def open_shop(db_path: Path, allow_private: bool) -> Back:
    settings = Settings(db_path=db_path, admin_ids=frozenset({ADMIN}), discovery_rate=0.0)
    if allow_private:  # REELCART_ALLOW_PRIVATE_URLS=1: the video host is on this machine
        settings = dataclasses.replace(settings, allow_private_urls=True)
    return Back(Shop.open(settings, encoder=HashingEncoder(DIM), seed=5))


@pytest_asyncio.fixture
async def back(tmp_path: Path) -> AsyncIterator[Back]:
    opened = await asyncio.to_thread(open_shop, tmp_path / "shop.db", True)
    try:
        yield opened
    finally:
        await asyncio.to_thread(opened.shop.close)


def catalog(host: ClipHost, *names: str) -> str:
    return HEADER + "".join(
        f"V{i},Tea {name},Plain tea,12.00,EUR,3,#tea,tea,physical,{host.url}/{name},\n"
        for i, name in enumerate(names)
    )


async def flags_by_clip(back: Back, merchant_id: int, count: int) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for offset in range(count):
        item, _, flags = await back.shop.admin.queue_item(offset, merchant_id)
        assert item is not None and item.clip is not None
        found[item.clip.source.rsplit("/", 1)[-1]] = {flag.kind for flag in flags}
    return found


async def test_a_dead_or_wrong_video_link_is_flagged_a_live_one_is_not(
    back: Back, host: ClipHost
) -> None:
    merchant = back.merchant(201, "Links")
    names = ("ok.mp4", "gone.mp4", "page.mp4", "no-head.mp4")
    back.upload(merchant, catalog(host, *names))

    assert await flags_by_clip(back, merchant.id, len(names)) == {
        "ok.mp4": set(),
        "gone.mp4": {"broken_clip"},  # 404
        "page.mp4": {"broken_clip"},  # a web page, not a video
        "no-head.mp4": set(),  # HEAD refused, a GET of the first bytes says video/mp4
    }


async def test_an_unreachable_host_is_flagged(back: Back) -> None:
    merchant = back.merchant(202, "Nowhere")
    back.upload(merchant, HEADER + "N1,Tea,Plain tea,12.00,EUR,3,#tea,tea,physical,"
                "https://cdn.invalid/n1.mp4,\n")  # fmt: skip
    item, _, flags = await back.shop.admin.queue_item(0, merchant.id)
    assert item is not None
    assert {flag.kind for flag in flags} == {"broken_clip"}


async def test_the_check_waits_on_the_link_without_holding_the_event_loop(
    back: Back, host: ClipHost
) -> None:
    merchant = back.merchant(203, "Slow")
    back.upload(merchant, catalog(host, "slow.mp4"))
    looking = asyncio.create_task(back.shop.admin.queue_item(0, merchant.id))
    # The host has the request and holds its answer: the loop still runs this test...
    async with asyncio.timeout(10):
        await host.arrived.wait()
    assert not looking.done()
    host.release.set()  # ...which lets the answer go
    item, _, flags = await asyncio.wait_for(looking, 10)
    assert item is not None and flags == []


async def test_without_allow_private_urls_a_loopback_link_is_not_fetched(
    tmp_path: Path, host: ClipHost
) -> None:
    back = await asyncio.to_thread(open_shop, tmp_path / "shop.db", False)
    try:
        merchant = back.merchant(204, "Local")
        back.upload(merchant, catalog(host, "ok.mp4"))
        item, _, flags = await back.shop.admin.queue_item(0, merchant.id)
        assert item is not None
        assert {flag.kind for flag in flags} == {"broken_clip"}
        assert host.requests == []
    finally:
        await asyncio.to_thread(back.shop.close)


def test_allow_private_urls_is_read_from_the_environment() -> None:
    assert Settings.from_env({}).allow_private_urls is False
    assert Settings.from_env({"REELCART_ALLOW_PRIVATE_URLS": "1"}).allow_private_urls is True
    assert Settings.from_env({"REELCART_ALLOW_PRIVATE_URLS": "0"}).allow_private_urls is False
    with pytest.raises(ValueError, match="REELCART_ALLOW_PRIVATE_URLS"):
        Settings.from_env({"REELCART_ALLOW_PRIVATE_URLS": "maybe"})
