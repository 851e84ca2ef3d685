"""The demo's merchants-and-admins scene.

Played by ``reelcart demo`` after the shopping scene: Noor applies to sell with /merchant,
Ada (the admin) approves her shop, Noor uploads a catalog with a few bad rows and gets the
report and its failed-rows file, attaches a clip by sending a video captioned with a SKU;
Ada approves a product from the moderation queue and broadcasts to every shopper; Camille
shares that product by inline search into a chat with a friend, who opens it; Noor reads
/stats with its chart.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable

from reelcart import demo_data
from reelcart.demo.transcript import DemoContext, Transcript, plain
from reelcart.sandbox import SimulatedUser
from reelcart.sandbox.views import BotMessage

MERCHANT_ID = 900003
SHOPPER_ID = 424242  # Camille, from the feed scene
FRIEND_ID = 900004
SHOP_NAME = "Leaf & Kettle"
CATALOG = "catalog_with_errors.csv"
CLIP_SKU = "TEA-001"


def _has(*parts: str) -> Callable[[BotMessage], bool]:
    return lambda message: all(part in message.text for part in parts)


def _bot(transcript: Transcript, message: BotMessage, limit: int = 2, who: str = "🤖 ") -> None:
    lines = [line for line in plain(message.text).splitlines() if line.strip()]
    for index, line in enumerate(lines[:limit]):
        transcript.say((who if index == 0 else "   ") + line)
    if message.buttons:
        labels = " | ".join(str(button["text"]) for button in message.buttons[:4])
        transcript.say(f"   [{labels}]")


async def merchant_scene(ctx: DemoContext) -> None:
    """A shop joins, uploads, is moderated; an admin broadcasts; a product is shared."""
    say = ctx.transcript.say
    server = ctx.server
    say("🏪 Selling on reelcart: a merchant joins, an admin moderates")
    admin = SimulatedUser(server, ctx.admin_id, "Ada", language_code="en")
    server.state.open_chat(admin.account)  # Ada has talked to the bot before
    noor = SimulatedUser(server, MERCHANT_ID, "Noor", username="leafandkettle")

    say("👤 Noor: /merchant")
    await noor.send_command("/merchant")
    _bot(ctx.transcript, await noor.wait_for(), 1)
    say(f"👤 Noor: {SHOP_NAME}")
    await noor.send_text(SHOP_NAME)
    await noor.wait_for()
    say("👤 Noor: https://leafandkettle.example")
    await noor.send_text("https://leafandkettle.example")
    _bot(ctx.transcript, await noor.wait_for(), 1)
    note = await admin.wait_for(_has(f"New shop: {SHOP_NAME}"))
    _bot(ctx.transcript, note, 1, "🛡 Ada gets: ")
    say("🛡 Ada taps ✅ Approve")
    await admin.press(note, "✅")
    _bot(ctx.transcript, await noor.wait_for(_has("approved")), 1)

    say(f"👤 Noor sends {CATALOG} (10 teas, 4 of them with mistakes)")
    await noor.send_document(CATALOG, demo_data.catalog_path().with_name(CATALOG).read_bytes())
    report = await noor.wait_for(lambda m: m.edited and m.text[:1] in ("✅", "❌"), timeout=60)
    history = server.state.chats[noor.id].messages[report.message_id].history
    shown = [line for line in plain(str(history[-1].get("text", ""))).splitlines() if line]
    say("🤖 " + " · ".join(shown) + " …   (one message, edited as the import goes)")
    _bot(ctx.transcript, report, 5)
    failed = await noor.wait_for(lambda m: m.media_kind == "document")
    record = server.state.files.get(failed.file_id or "")
    rows = list(csv.reader(io.StringIO(record.data.decode("utf-8-sig")))) if record else []
    say(f"📎 {failed.data['document']['file_name']}: {len(rows) - 1} rows, e.g.")
    for row in rows[1:3]:
        say("   " + ",".join(row))

    clip = demo_data.clip_path("PLT-003")
    assert clip is not None
    say(f"👤 Noor sends a video with the caption {CLIP_SKU}")
    await noor.send_video("darjeeling.mp4", clip.read_bytes(), caption=CLIP_SKU, duration=6,
                          width=360, height=640)  # fmt: skip
    _bot(ctx.transcript, await noor.wait_for(_has("Clip attached")), 2)

    say("🛡 Ada: /admin → 🛡 Moderation")
    await admin.send_command("/admin")
    panel = await admin.wait_for(_has("Admin panel"))
    await admin.press(panel, "adm:qm:0")
    item = await admin.wait_for(lambda m: m.message_id == panel.message_id and m.edited)
    for _ in range(10):  # to the product with the clip
        if "First Flush" in item.text:
            break
        await admin.press(item, "⏭")
        item = await admin.wait_for(lambda m: m.message_id == panel.message_id and m.edited)
    lines = [line for line in plain(item.text).splitlines() if line.strip()]
    say("🤖 " + lines[0])
    say("   " + lines[1])
    say("   " + next(line for line in lines if "flag" in line.lower()))
    say("🛡 Ada taps ✅ Approve")
    await admin.press(item, "✅")
    _bot(ctx.transcript, await noor.wait_for(_has("is approved and now in the feed")), 1)

    say("🛡 Ada: 📣 Broadcast → “🍵 New on reelcart: Leaf & Kettle's teas!”")
    await admin.press_data(item, "adm:bc")
    await admin.wait_for(_has("Send me the message"))
    await admin.send_text("🍵 New on reelcart: Leaf & Kettle's teas!")
    preview = await admin.wait_for(_has("Preview"))
    _bot(ctx.transcript, preview, 1)
    await admin.press(preview, "✅ Send")
    done = await admin.wait_for(_has("done"), timeout=30)
    _bot(ctx.transcript, done, 1)
    camille = SimulatedUser(server, SHOPPER_ID, "Camille")
    _bot(ctx.transcript, await camille.wait_for(_has("New on reelcart")), 1, "👤 Camille gets: ")

    say("👤 Camille, in a chat with Bruno, types: @reelcart_sandbox_bot darjeeling")
    answer = await camille.inline_query("darjeeling", chat_type="private")
    top = answer.results[0]
    kind = "its clip" if top["type"] == "video" else "a card"
    say(f"🤖 {len(answer.results)} result(s); she sends “{top['title']}” ({kind})")
    await camille.choose_inline_result(str(top["id"]), "darjeeling")
    link = top["reply_markup"]["inline_keyboard"][0][0]["url"]
    say(f"   [🎬 Watch in reelcart → {link.removeprefix('https://')}]")
    bruno = SimulatedUser(server, FRIEND_ID, "Bruno")
    say("👤 Bruno taps it: /start " + link.split("start=")[1])
    await bruno.send_command("/start", link.split("start=")[1])
    card = await bruno.wait_for(lambda m: m.media_kind is not None)
    say(f"🎬 {plain(card.text).splitlines()[0]}   (a visit from Camille's link)")
    await asyncio.sleep(1.5)  # he watches the clip
    say("👤 Bruno taps ❤️")
    await bruno.press(card, "❤️")

    say("👤 Noor: /stats")
    await noor.send_command("/stats")
    stats = await noor.wait_for(lambda m: m.media_kind == "photo")
    record = server.state.files.get(stats.file_id or "")
    size = f"{len(record.data) // 1024} KB PNG" if record else "PNG"
    say(f"🤖 [chart: daily impressions, likes, purchases · {size}]")
    _bot(ctx.transcript, stats, 7)
