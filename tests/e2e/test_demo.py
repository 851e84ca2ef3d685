"""`reelcart demo` end to end: the transcript shows the feed finding the shopper's taste."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reelcart.demo import run_demo

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio]


async def test_the_demo_transcript_shows_the_feed_adapting(tmp_path: Path) -> None:
    lines: list[str] = []
    code = await run_demo(swipes=24, workdir=tmp_path, printer=lines.append)
    text = "\n".join(lines)
    assert code == 0, text
    assert "📦 imported 72 products from 8 merchants, 72 clips" in text
    # The shopper asks why until a card names a product she liked.
    assert re.search(
        r"💡 why this\? → 💡 (Because you liked “.+”\.|People who liked “.+” also liked this\.)",
        text,
    ), text
    blocks = [int(m) for m in re.findall(r"swipes +\d+-\d+: +(\d+)/10", text)]
    assert len(blocks) == 2
    # Swipes 11-20: the feed has found her taste (a random order gives about 4 in 10;
    # 10% of the cards are discovery picks, so not all 10 can be expected).
    assert blocks[1] >= 6, text
    first = int(re.search(r"first favourite \(and first ❤️\) at card (\d+)", text)[1])  # type: ignore[index]
    assert first <= 10, text
    assert "Langue choisie : français" in text
    # The shopping scene: a card payment and a Stars payment with receipts, the merchant's
    # notification, and a tracked shop link whose click is counted.
    assert "🤖 🧾 Receipt: order #1 · roastandpour" in text, text
    assert "Total paid: €24.40" in text and "Total paid: ⭐ 150" in text, text
    assert "🤖 → Marco: 🛍 New order #1 from Camille" in text, text
    assert re.search(r"🌐 302 → https://greenhall\.example/\S+utm_source=telegram", text), text
    assert "📈 shop clicks counted for “Monstera Deliciosa in 17 cm Pot”: 1" in text, text
    # The merchants scene: applying, approval, an upload with bad rows and its failed-rows
    # file, a clip by video, moderation, a broadcast, an inline share, /stats with a chart.
    assert "🤖 🎉 Your shop Leaf & Kettle is approved!" in text, text
    assert "6 created · 0 updated · 0 unchanged · 4 failed" in text, text
    assert "📎 catalog_with_errors-failed-rows.csv: 4 rows" in text, text
    assert "🤖 🎬 Clip attached to “First Flush Darjeeling Loose Leaf Tea” (TEA-001)." in text
    assert "is approved and now in the feed" in text, text
    assert re.search(r"✅ Broadcast #1 done: (\d+) sent, 0 blocked the bot, 0 failed", text), text
    assert "👤 Camille gets: 🍵 New on reelcart" in text, text
    assert re.search(r"start=p_\d+_r_[a-z0-9]{8}", text), text
    assert "🤖 [chart: daily impressions, likes, purchases" in text, text
    assert "🤝 Creators' links: 1 visits" in text, text
    assert "bot stopped gracefully (exit code 0)" in text
