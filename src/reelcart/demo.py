"""``reelcart demo``: the whole product on embedded defaults, with no token and no network.

It imports the demo catalog (one merchant per shop host, each product with its clip),
starts the sandbox Bot API, starts the real ``reelcart run`` process against it, and plays
a scripted shopper whose taste the feed has to discover. The transcript it prints ends with
numbers that show the feed adapting.
"""

from __future__ import annotations

import asyncio
import csv
import html
import io
import random
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from reelcart import demo_data
from reelcart.config import Settings
from reelcart.domain import Clip
from reelcart.launch import BotProcess
from reelcart.sandbox import SandboxServer, SimulatedUser
from reelcart.sandbox.views import BotMessage
from reelcart.services.shop import Shop

FAVOURITES = ("coffee", "plants", "books")
DEMO_ADMIN_ID = 900001
# Shaped like a test token from @BotFather's Payments menu, as the sandbox requires.
DEMO_PROVIDER_TOKEN = "284685063:TEST:reelcart-demo"
DISLIKED = "skincare"
_TAG = re.compile(r"<[^>]+>")

Printer = Callable[[str], None]


@dataclass
class DemoCatalog:
    """What the scripted shopper knows about the demo products: title -> category."""

    categories: dict[str, str] = field(default_factory=dict)
    in_stock: set[str] = field(default_factory=set)
    merchants: int = 0
    clips: int = 0

    @property
    def products(self) -> int:
        return len(self.categories)


def load_demo_catalog(settings: Settings, shop: Shop | None = None) -> DemoCatalog:
    """Import the demo catalog into ``settings.db_path`` (blocking; loads the model).

    Products are grouped into one merchant per shop host, as real shops would upload them.
    """
    text = demo_data.catalog_path().read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    by_host: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        host = urlsplit(row["shop_url"]).hostname or "reelcart-demo"
        by_host[host.removesuffix(".example")].append(row)
    own_shop = shop is None
    shop = shop or Shop.open(settings)
    catalog = DemoCatalog(merchants=len(by_host))
    try:
        for merchant, merchant_rows in sorted(by_host.items()):
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(merchant_rows)
            report = shop.import_bytes(out.getvalue().encode(), "catalog.csv", merchant)
            skus = {row["sku"]: row for row in merchant_rows}
            for sku, product_id in _ids(shop, report.merchant.id, list(skus)).items():
                path = demo_data.clip_path(sku)
                info = demo_data.clip_info(sku) or {}
                if path is not None:
                    shop.attach_clip(
                        Clip(
                            product_id=product_id,
                            source=str(path),
                            mime_type=str(info.get("mime_type", "video/mp4")),
                            duration=info.get("duration"),
                            width=info.get("width"),
                            height=info.get("height"),
                        )
                    )
                    catalog.clips += 1
                catalog.categories[skus[sku]["title"]] = skus[sku]["category"]
                if int(skus[sku]["stock"] or 0) > 0:
                    catalog.in_stock.add(skus[sku]["title"])
    finally:
        if own_shop:
            shop.close()
    return catalog


def _ids(shop: Shop, merchant_id: int, skus: list[str]) -> dict[str, int]:
    from reelcart.storage.store import Store

    return shop.db.call(Store.product_ids_by_sku, merchant_id, skus)


def _edit_of(message_id: int) -> Callable[[BotMessage], bool]:
    return lambda message: message.message_id == message_id and message.edited


def _plain(text: str) -> str:
    return html.unescape(_TAG.sub("", text))


def _title(message: BotMessage) -> str:
    return message.text.split("\n", 1)[0].strip()


def _buttons(message: BotMessage) -> str:
    return " | ".join(str(button["text"]) for button in message.buttons)


@dataclass
class DemoContext:
    """What a demo scene needs: the running sandbox and bot, the catalog, the transcript."""

    server: SandboxServer
    bot: BotProcess
    catalog: DemoCatalog
    transcript: Transcript
    db_path: Path
    admin_id: int = DEMO_ADMIN_ID


Scene = Callable[[DemoContext], Awaitable[None]]


def extra_scenes() -> list[Scene]:
    """Scenes played after the shopper's swipes, in order (commerce, merchants, admins)."""
    from reelcart.demo_commerce import commerce_scene  # they build on this module
    from reelcart.demo_merchants import merchant_scene

    return [commerce_scene, merchant_scene]


class Transcript:
    """Prints the conversation readably, and keeps it for the tests."""

    def __init__(self, printer: Printer = print) -> None:
        self.lines: list[str] = []
        self._print = printer

    def say(self, line: str = "") -> None:
        self.lines.append(line)
        self._print(line)

    def bot(self, message: BotMessage, limit: int = 3) -> None:
        lines = [line for line in _plain(message.text).splitlines() if line.strip()]
        for index, line in enumerate(lines[:limit]):
            self.say(("🤖 " if index == 0 else "   ") + line)
        if message.buttons:
            self.say(f"   [{_buttons(message)}]")


async def play_shopper(
    server: SandboxServer,
    catalog: DemoCatalog,
    transcript: Transcript,
    swipes: int = 40,
    seed: int = 7,
) -> list[str]:
    """The scripted shopper: returns the category of every card they swiped, in order."""
    rng = random.Random(seed)
    say = transcript.say
    shopper = SimulatedUser(server, 424242, "Camille", language_code="en")

    say("👤 Camille: /start")
    await shopper.send_command("/start")
    welcome = await shopper.wait_for(lambda m: bool(m.buttons))
    transcript.bot(welcome, limit=2)
    say("👤 Camille taps “Surprise me” (no interests: the feed has to learn her taste)")
    await shopper.press(welcome, "i:!done")
    card = await shopper.wait_for(lambda m: m.media_kind is not None)

    say("")
    say(f"Camille loves {', '.join(FAVOURITES)}; {DISLIKED} is not for her; the rest she skips.")
    say("")
    seen: list[str] = []
    # From card 12 on, she asks why until a card names what she liked (a discovery pick
    # or a popular one says so instead).
    explained = False
    for number in range(1, swipes + 1):
        title = _plain(_title(card))
        category = catalog.categories.get(title, "?")
        seen.append(category)
        if number >= 12 and not explained:
            answer = await shopper.press(card, "💡")
            say(f"      💡 why this? → {answer.text}")
            explained = "“" in (answer.text or "")
        await asyncio.sleep(rng.uniform(0.02, 0.08))  # she watches the clip for a moment
        if category in FAVOURITES:
            action, label = "❤️", "❤️ like"
        elif category == DISLIKED:
            action, label = "👎", "👎 not for me"
        else:
            action, label = "⏭", "⏭ next"
        say(f"🎬 {number:2d}. {title[:44]:<44} {category:<12} → {label}")
        await shopper.press(card, action)
        card = await shopper.wait_for(_edit_of(card.message_id))
        if not card.buttons:
            say("🤖 " + _plain(card.text))
            break

    say("")
    say("👤 Camille: /search something to brew in the morning")
    await shopper.send_command("/search", "something to brew in the morning")
    results = await shopper.wait_for()
    transcript.bot(results, limit=1)
    for button in results.buttons[:4]:
        say(f"   • {button['text']}")

    say("👤 Camille: /likes")
    await shopper.send_command("/likes")
    likes = await shopper.wait_for()
    say("🤖 " + _plain(likes.text))
    for button in likes.buttons[:3]:
        say(f"   • {button['text']}")

    say("👤 Camille: /lang → Français")
    await shopper.send_command("/lang")
    prompt = await shopper.wait_for(lambda m: bool(m.buttons))
    await shopper.press(prompt, "l:fr")
    confirmed = await shopper.wait_for(lambda m: m.message_id == prompt.message_id)
    say("🤖 " + _plain(confirmed.text))
    await shopper.send_command("/feed")
    french = await shopper.wait_for(lambda m: m.media_kind is not None)
    say(f"🎬 {_plain(_title(french))}   [{_buttons(french)}]")
    return seen


def adaptation_summary(seen: list[str], catalog: DemoCatalog) -> list[str]:
    """How fast the feed found the shopper's taste, against a random order of the catalog."""
    in_stock = catalog.in_stock
    favourites = sum(1 for title, c in catalog.categories.items() if c in FAVOURITES
                     and title in in_stock)  # fmt: skip
    lines = ["", "How the feed adapted (cards from Camille's favourite categories):"]
    for start in range(0, len(seen), 10):
        block = seen[start : start + 10]
        hits = sum(1 for category in block if category in FAVOURITES)
        lines.append(f"  swipes {start + 1:2d}-{start + len(block):2d}: {hits:2d}/{len(block)}")
    positions = [i for i, category in enumerate(seen) if category in FAVOURITES]
    if not positions:
        return [*lines, "  the feed never found her taste"]
    first_like = positions[0] + 1
    shown = len(positions)
    span = positions[-1] + 1
    expected = span * favourites / max(1, len(in_stock))
    lines.append(f"  first favourite (and first ❤️) at card {first_like}")
    lines.append(
        f"  {shown} of the {favourites} favourite products in stock were shown within "
        f"{span} swipes; a random order of the catalog shows {expected:.0f} in {span} swipes"
    )
    if shown == favourites and span < len(seen):
        lines.append(
            f"  with every favourite shown, swipes {span + 1}-{len(seen)} explore the rest "
            "of the catalog"
        )
    return lines


async def run_demo(swipes: int = 40, workdir: Path | None = None, printer: Printer = print) -> int:
    """Run the whole demo; returns the process exit code. Raises ValueError if ``swipes``
    is not 1 or more."""
    if swipes < 1:
        raise ValueError(f"the shopper swipes at least one card, not {swipes}")
    transcript = Transcript(printer)
    with tempfile.TemporaryDirectory(prefix="reelcart-demo-") as scratch:
        folder = workdir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        db_path = folder / "demo.db"
        for stale in folder.glob("demo.db*"):
            stale.unlink()
        settings = Settings(db_path=db_path)
        started = time.monotonic()
        transcript.say("reelcart demo: no token, no network")
        catalog = await asyncio.to_thread(load_demo_catalog, settings)
        transcript.say(
            f"📦 imported {catalog.products} products from {catalog.merchants} merchants, "
            f"{catalog.clips} clips ({time.monotonic() - started:.1f} s, real model)"
        )
        async with SandboxServer() as server:
            bot = BotProcess(
                server.root_url,
                server.token,
                db_path,
                extra_env={
                    "REELCART_ADMIN_IDS": str(DEMO_ADMIN_ID),
                    "REELCART_PAYMENT_PROVIDER_TOKEN": DEMO_PROVIDER_TOKEN,
                },
            )
            # Tracked shop links need a public URL: the bot's own HTTP server stands in.
            bot.extra_env["REELCART_PUBLIC_URL"] = bot.base_url
            transcript.say(f"🧪 sandbox Bot API at {server.root_url}; starting `reelcart run`…")
            await bot.start()
            transcript.say(f"🤖 bot @{server.bot_username} is running ({bot.base_url}/healthz ok)")
            transcript.say("")
            context = DemoContext(server, bot, catalog, transcript, db_path)
            try:
                seen = await play_shopper(server, catalog, transcript, swipes)
                for line in adaptation_summary(seen, catalog):
                    transcript.say(line)
                for scene in extra_scenes():
                    transcript.say("")
                    await scene(context)
            except Exception:
                transcript.say("the demo failed; the bot's last log lines:\n" + bot.tail())
                raise
            finally:
                code = await bot.stop()
            transcript.say(f"\nbot stopped gracefully (exit code {code})")
    return 0 if code == 0 else 1
