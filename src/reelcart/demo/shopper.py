"""The demo's feed scene: a scripted shopper whose taste the feed has to find."""

from __future__ import annotations

import asyncio
import random

from reelcart.demo.catalog import DemoCatalog
from reelcart.demo.transcript import Transcript, buttons_of, edit_of, plain, title_of
from reelcart.sandbox import SandboxServer, SimulatedUser

FAVOURITES = ("coffee", "plants", "books")


DISLIKED = "skincare"


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
        title = plain(title_of(card))
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
        card = await shopper.wait_for(edit_of(card.message_id))
        if not card.buttons:
            say("🤖 " + plain(card.text))
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
    say("🤖 " + plain(likes.text))
    for button in likes.buttons[:3]:
        say(f"   • {button['text']}")

    say("👤 Camille: /lang → Français")
    await shopper.send_command("/lang")
    prompt = await shopper.wait_for(lambda m: bool(m.buttons))
    await shopper.press(prompt, "l:fr")
    confirmed = await shopper.wait_for(lambda m: m.message_id == prompt.message_id)
    say("🤖 " + plain(confirmed.text))
    await shopper.send_command("/feed")
    french = await shopper.wait_for(lambda m: m.media_kind is not None)
    say(f"🎬 {plain(title_of(french))}   [{buttons_of(french)}]")
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
