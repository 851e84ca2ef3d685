"""Uploads, file ids, URLs, getFile and downloads."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InputMediaVideo
from telegram.error import BadRequest

from reelcart.sandbox import SandboxServer, SimulatedUser

from .conftest import ALICE, RawApi, mp4_bytes, png_bytes


def _duration(user: SimulatedUser) -> int:
    """Duration of the newest clip as it went over the wire (PTB's type is changing)."""
    last = user.last_message
    assert last is not None
    return int(last.data["video"]["duration"])


async def test_video_upload_is_probed_and_reusable(bot: Bot, alice: SimulatedUser) -> None:
    clip = mp4_bytes(width=720, height=1280, seconds=7)
    sent = await bot.send_video(ALICE, clip, filename="sneaker.mp4", caption="Sneaker")
    video = sent.video
    assert video is not None
    assert (video.width, video.height) == (720, 1280)
    assert _duration(alice) == 7
    assert video.mime_type == "video/mp4" and video.file_size == len(clip)
    again = await bot.send_video(ALICE, video.file_id)
    assert again.video is not None
    assert (again.video.file_id, again.video.file_unique_id) == (
        video.file_id,
        video.file_unique_id,
    )
    with pytest.raises(BadRequest, match=r"(?i)type of file mismatch"):
        await bot.send_photo(ALICE, video.file_id)
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier/http url specified"):
        await bot.send_video(ALICE, "no-such-file-id")


async def test_get_file_and_download(bot: Bot, alice: SimulatedUser) -> None:
    clip = mp4_bytes()
    sent = await bot.send_video(ALICE, clip, filename="clip.mp4")
    assert sent.video is not None
    file = await bot.get_file(sent.video.file_id)
    assert file.file_path is not None and file.file_size == len(clip)
    assert bytes(await file.download_as_bytearray()) == clip


async def test_user_upload_is_downloadable_and_size_limited(bot: Bot, alice: SimulatedUser) -> None:
    catalog = b"sku,title,price\nA1,Sneaker,49\n"
    message = await alice.send_document("catalog.csv", catalog, caption="my catalog")
    document = message["document"]
    assert document["file_name"] == "catalog.csv"
    assert document["mime_type"] == "text/csv"
    file = await bot.get_file(document["file_id"])
    assert bytes(await file.download_as_bytearray()) == catalog
    huge = await alice.send_document("huge.bin", b"\0" * (20 * 1024 * 1024 + 1))
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await bot.get_file(huge["document"]["file_id"])


async def test_photo_needs_an_image_and_reports_its_size(bot: Bot, alice: SimulatedUser) -> None:
    sent = await bot.send_photo(ALICE, png_bytes(40, 30))
    assert (sent.photo[-1].width, sent.photo[-1].height) == (40, 30)
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(ALICE, b"definitely not an image")


async def test_non_video_sent_as_video_becomes_a_document(bot: Bot, alice: SimulatedUser) -> None:
    sent = await bot.send_video(ALICE, b"plain text", filename="notes.txt")
    assert sent.video is None
    assert sent.document is not None and sent.document.file_name == "notes.txt"


async def test_thumbnail_and_attach_uploads(bot: Bot, alice: SimulatedUser, raw: RawApi) -> None:
    sent = await bot.send_video(ALICE, mp4_bytes(seconds=3), thumbnail=png_bytes(32, 32))
    assert sent.video is not None and sent.video.thumbnail is not None
    assert sent.video.thumbnail.width == 32
    # aiogram uploads top-level files as attach://<part>; Telegram accepts that too.
    form = aiohttp.FormData()
    form.add_field("chat_id", str(ALICE))
    form.add_field("video", "attach://clip")
    form.add_field("clip", mp4_bytes(seconds=4), filename="clip.mp4")
    async with raw.session.post(raw.url("sendVideo"), data=form) as response:
        body = await response.json()
    assert body["ok"] is True and body["result"]["video"]["duration"] == 4


async def test_edit_message_media_swaps_the_clip(bot: Bot, alice: SimulatedUser) -> None:
    first = await bot.send_video(ALICE, mp4_bytes(seconds=5), caption="first")
    edited = await bot.edit_message_media(
        InputMediaVideo(mp4_bytes(seconds=9), caption="second"), ALICE, first.message_id
    )
    assert not isinstance(edited, bool)
    assert edited.video is not None and _duration(alice) == 9
    assert edited.caption == "second" and edited.edit_date is not None
    current = alice.messages[-1]
    assert current.message_id == first.message_id and current.text == "second"


@pytest.fixture
async def file_host() -> AsyncIterator[str]:
    async def clip(request: web.Request) -> web.Response:
        return web.Response(body=mp4_bytes(seconds=2), content_type="video/mp4")

    app = web.Application()
    app.router.add_get("/clip.mp4", clip)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_urls_are_fetched_only_from_loopback(
    bot: Bot, alice: SimulatedUser, file_host: str
) -> None:
    sent = await bot.send_video(ALICE, f"{file_host}/clip.mp4")
    assert sent.video is not None and _duration(alice) == 2
    with pytest.raises(BadRequest, match=r"(?i)failed to get http url content"):
        await bot.send_video(ALICE, f"{file_host}/missing.mp4")
    with pytest.raises(BadRequest, match=r"(?i)failed to get http url content"):
        await bot.send_video(ALICE, "https://cdn.example.com/clip.mp4")


async def test_merchant_clip_is_reusable_by_the_bot(bot: Bot, server: SandboxServer) -> None:
    merchant = SimulatedUser(server, 2001, "Mia")
    upload = await merchant.send_video("boots.mp4", mp4_bytes(seconds=6), caption="#boots")
    assert upload["caption_entities"] == [{"type": "hashtag", "offset": 0, "length": 6}]
    update = (await bot.get_updates())[-1]
    assert update.message is not None and update.message.video is not None
    resent = await bot.send_video(2001, update.message.video.file_id, caption="Boots")
    assert resent.video is not None
    assert resent.video.file_unique_id == update.message.video.file_unique_id


async def test_animation_messages_also_carry_a_document(bot: Bot, alice: SimulatedUser) -> None:
    gif = b"GIF89a" + bytes([16, 0, 9, 0]) + b"\0" * 32
    sent = await bot.send_animation(ALICE, gif, filename="spin.gif")
    assert sent.animation is not None and (sent.animation.width, sent.animation.height) == (16, 9)
    assert sent.document is not None
    assert sent.document.file_id == sent.animation.file_id
