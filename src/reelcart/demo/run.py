"""``reelcart demo``: the whole product on embedded defaults, with no token and no network.

It imports the demo catalog (one merchant per shop host, each product with its clip),
starts the sandbox Bot API, starts the real ``reelcart run`` process against it, and plays
a scripted shopper whose taste the feed has to discover. The transcript it prints ends with
numbers that show the feed adapting.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from reelcart.config import Settings
from reelcart.demo.catalog import load_demo_catalog
from reelcart.demo.commerce import commerce_scene
from reelcart.demo.merchants import merchant_scene
from reelcart.demo.shopper import adaptation_summary, play_shopper
from reelcart.demo.transcript import DEMO_ADMIN_ID, DemoContext, Printer, Scene, Transcript
from reelcart.launch import BotProcess
from reelcart.sandbox import SandboxServer

# Shaped like a test token from @BotFather's Payments menu, as the sandbox requires.
DEMO_PROVIDER_TOKEN = "284685063:TEST:reelcart-demo"


def extra_scenes() -> list[Scene]:
    """Scenes played after the shopper's swipes, in order (commerce, merchants, admins)."""
    return [commerce_scene, merchant_scene]


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
