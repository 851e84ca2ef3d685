"""Pre-checkout latency: how fast the real bot answers Telegram's pre_checkout_query.

Telegram gives a bot 10 s; reelcart holds p99 under 200 ms. This runs the real
``reelcart run`` process against the sandbox (demo catalog, real model), has simulated
shoppers pay invoices, and reports the latency the sandbox measured for each
pre-checkout: from the moment the query is queued for the bot until its
``answerPreCheckoutQuery`` arrives (long-poll delivery, the bot's checks, the answer).

    .venv/bin/python benchmarks/precheckout.py [--payments 200] [--concurrency 16]

Phases: sequential Stars payments, sequential card payments (with the shipping query),
then ``--concurrency`` shoppers paying at once. It prints percentiles, never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from reelcart.config import Settings
from reelcart.demo import load_demo_catalog
from reelcart.launch import BotProcess
from reelcart.sandbox import SandboxServer, SimulatedUser
from reelcart.sandbox.views import BotMessage

PROVIDER = "284685063:TEST:reelcart-bench"
_ids = itertools.count(5_000_000)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def report(name: str, latencies: list[float]) -> str:
    ms = [value * 1000 for value in latencies]
    return (
        f"{name:<34} n={len(ms):4d}  p50 {statistics.median(ms):6.1f} ms  "
        f"p90 {percentile(ms, 0.90):6.1f} ms  p99 {percentile(ms, 0.99):6.1f} ms  "
        f"max {max(ms):6.1f} ms"
    )


async def invoice(user: SimulatedUser, product_id: int) -> BotMessage:
    await user.send_command("/start", f"p_{product_id}")
    card = await user.wait_for(lambda m: m.media_kind is not None, timeout=30)
    await user.press(card, "🛒", timeout=30)
    return await user.wait_for(lambda m: m.invoice is not None, timeout=30)


async def pay_once(server: SandboxServer, product_id: int, card: bool) -> float:
    user = SimulatedUser(server, next(_ids), "Bench")
    bill = await invoice(user, product_id)
    result = await user.pay(bill, shipping_option_id="standard" if card else None, timeout=10)
    if not result.ok or result.pre_checkout_latency is None:
        raise RuntimeError(f"payment failed: {result}")
    return result.pre_checkout_latency


async def run(payments: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="reelcart-bench-") as scratch:
        db_path = Path(scratch) / "bench.db"
        started = time.monotonic()
        await asyncio.to_thread(load_demo_catalog, Settings(db_path=db_path))
        with sqlite3.connect(db_path) as db:
            db.execute("UPDATE products SET stock = 1000000 WHERE sku IN ('BOK-001', 'COF-001')")
            ids = dict(db.execute("SELECT sku, id FROM products WHERE sku IN "
                                  "('BOK-001', 'COF-001')").fetchall())  # fmt: skip
        print(f"demo catalog ready in {time.monotonic() - started:.1f} s")
        async with SandboxServer(limits=None) as server:
            bot = BotProcess(
                server.root_url,
                server.token,
                db_path,
                extra_env={"REELCART_PAYMENT_PROVIDER_TOKEN": PROVIDER},
            )
            await bot.start()
            try:
                for _ in range(5):  # warm up connections and caches
                    await pay_once(server, ids["BOK-001"], card=False)
                stars = [await pay_once(server, ids["BOK-001"], False) for _ in range(payments)]
                print(report("Stars, one shopper at a time", stars))
                cards = [await pay_once(server, ids["COF-001"], True) for _ in range(payments)]
                print(report("card + shipping, one at a time", cards))
                together: list[float] = []
                for start in range(0, payments, concurrency):
                    wave = min(concurrency, payments - start)
                    together += await asyncio.gather(
                        *(
                            pay_once(server, ids["COF-001" if i % 2 else "BOK-001"], i % 2 == 1)
                            for i in range(wave)
                        )
                    )
                print(report(f"{concurrency} shoppers paying at once", together))
                everything = stars + cards + together
                print(report("all", everything))
                met = percentile(everything, 0.99) < 0.2
                print(f"target p99 < 200 ms: {'met' if met else 'NOT met'}")
            finally:
                await bot.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=200, help="payments per phase")
    parser.add_argument("--concurrency", type=int, default=16, help="shoppers at once")
    args = parser.parse_args(argv)
    asyncio.run(run(args.payments, args.concurrency))
    return 0


if __name__ == "__main__":
    sys.exit(main())
