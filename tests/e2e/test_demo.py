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
    assert re.search(r"💡 why this\? → 💡 Because you liked “.+”\.", text), text
    blocks = [int(m) for m in re.findall(r"swipes +\d+-\d+: +(\d+)/10", text)]
    assert len(blocks) == 2
    # Swipes 11-20: the feed has found her taste (a random order gives about 4 in 10;
    # 10% of the cards are discovery picks, so not all 10 can be expected).
    assert blocks[1] >= 6, text
    first = int(re.search(r"first favourite \(and first ❤️\) at card (\d+)", text)[1])  # type: ignore[index]
    assert first <= 10, text
    assert "Langue choisie : français" in text
    assert "bot stopped gracefully (exit code 0)" in text
