"""End-to-end swipes per second over loopback: reelcart against a bare PTB echo bot.

    .venv/bin/python benchmarks/swipes.py                  # 20 users, 20 s per bot
    .venv/bin/python benchmarks/swipes.py --users 40 --seconds 30

Both bots run as real processes against the sandbox Bot API (``SandboxServer(limits=None)``:
no flood control, so the bots are what is measured; reelcart runs with
``REELCART_SEND_RATE=0``, its own 30 messages/s cap lifted) with long polling. N simulated users
swipe concurrently: each taps a button on their card, waits for the bot's answer and for
the edited card, and taps again. reelcart is the real ``reelcart run`` on the demo catalog
(its database built with the real model, as ``tests/e2e`` builds it); the yardstick is
``benchmarks/echo_bot.py``, which answers every tap and edits the message, with nothing
behind it. Rounds alternate (echo, reelcart, ...) so a noisy neighbour hits both; the
medians and their ratio are printed. Everything stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from reelcart.config import Settings
from reelcart.demo import load_demo_catalog
from reelcart.launch import BotProcess
from reelcart.sandbox import SandboxServer
from reelcart.sandbox.client import BotMessage, SimulatedUser

ECHO = Path(__file__).with_name("echo_bot.py")


async def _swipe_loop(
    user: SimulatedUser,
    first: BotMessage,
    buttons: list[str],
    until: float,
    counted: list[int],
) -> None:
    """Tap, wait for the edited card, repeat until ``until``; count completed swipes."""
    card = first
    rng = random.Random(user.id)
    while time.monotonic() < until:
        await user.press(card, rng.choice(buttons), timeout=30)
        card = await user.wait_for(
            lambda m, mid=card.message_id: m.message_id == mid and bool(m.buttons), timeout=30
        )
        counted[0] += 1


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a process has used so far, from /proc (0 if unknown)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """One measured run: swipes per second, and CPU time per swipe of the bot process and
    of this one (the sandbox Bot API and the simulated users), in ms."""

    rate: float
    cpu_ms: float
    sandbox_ms: float


async def _measure(
    server: SandboxServer,
    users: int,
    seconds: float,
    open_card: Callable[[SimulatedUser], Awaitable[BotMessage]],
    buttons: list[str],
    first_id: int,
    pid: int | None,
) -> Run:
    """Swipes per second of ``users`` concurrent shoppers over ``seconds``."""
    shoppers = [SimulatedUser(server, first_id + n, f"User{n}") for n in range(users)]
    cards = await asyncio.gather(*(open_card(s) for s in shoppers))
    counted = [0]
    cpu, ours = _cpu_seconds(pid), time.process_time()
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(
        *(_swipe_loop(s, c, buttons, until, counted) for s, c in zip(shoppers, cards, strict=True))
    )
    swipes = max(counted[0], 1)
    return Run(
        swipes / (time.monotonic() - started),
        1000 * (_cpu_seconds(pid) - cpu) / swipes,
        1000 * (time.process_time() - ours) / swipes,
    )


async def _reelcart_card(user: SimulatedUser) -> BotMessage:
    await user.send_command("/start")
    welcome = await user.wait_for(lambda m: bool(m.buttons), timeout=60)
    await user.press(welcome, "i:!done", timeout=60)
    return await user.wait_for(lambda m: m.media_kind is not None, timeout=60)


async def _echo_card(user: SimulatedUser) -> BotMessage:
    await user.send_command("/start")
    return await user.wait_for(lambda m: bool(m.buttons), timeout=60)


async def run_echo(users: int, seconds: float, first_id: int) -> Run:
    async with SandboxServer(limits=None) as server:
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(ECHO), server.root_url, server.token,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            return await _measure(
                server, users, seconds, _echo_card, ["❤️", "⏭"], first_id, process.pid
            )
        finally:
            process.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 20)
            if process.returncode is None:
                process.kill()
                await process.wait()


async def run_reelcart(db_path: Path, users: int, seconds: float, first_id: int) -> Run:
    async with SandboxServer(limits=None) as server:
        # No flood control on either side: the sandbox runs without limits, and reelcart
        # lifts its own 30 msg/s cap (REELCART_SEND_RATE=0) as the bare echo bot has none.
        bot = BotProcess(
            server.root_url, server.token, db_path, extra_env={"REELCART_SEND_RATE": "0"}
        )
        await bot.start()
        try:
            return await _measure(
                server, users, seconds, _reelcart_card, ["❤️", "⏭"], first_id, bot.pid
            )
        finally:
            code = await bot.stop()
            if code != 0:
                print(bot.tail(), file=sys.stderr)


async def main_async(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "shop.db"
        started = time.perf_counter()
        await asyncio.to_thread(load_demo_catalog, Settings(db_path=db_path))
        print(f"demo catalog imported with the real model in {time.perf_counter() - started:.0f} s")
        echo: list[Run] = []
        ours: list[Run] = []
        for round_no in range(args.rounds):
            first = 10_000 + 1_000 * round_no
            echo.append(await run_echo(args.users, args.seconds, first))
            ours.append(await run_reelcart(db_path, args.users, args.seconds, first + 500))
            print(
                f"round {round_no + 1}: echo bot {echo[-1].rate:.1f} swipes/s "
                f"({echo[-1].cpu_ms:.1f} ms CPU each, sandbox {echo[-1].sandbox_ms:.1f}), "
                f"reelcart {ours[-1].rate:.1f} swipes/s ({ours[-1].cpu_ms:.1f} ms CPU each, "
                f"sandbox {ours[-1].sandbox_ms:.1f})",
                flush=True,
            )
    echo_rate = statistics.median(run.rate for run in echo)
    our_rate = statistics.median(run.rate for run in ours)
    ratio = our_rate / echo_rate
    print()
    print(f"{args.users} concurrent users, {args.seconds:.0f} s per run, {args.rounds} rounds")
    print(
        f"  bare PTB echo bot: {echo_rate:7.1f} swipes/s (median), "
        f"{statistics.median(run.cpu_ms for run in echo):.1f} ms of its CPU per swipe"
    )
    print(
        f"  reelcart run:      {our_rate:7.1f} swipes/s (median), "
        f"{statistics.median(run.cpu_ms for run in ours):.1f} ms of its CPU per swipe"
    )
    print(f"  ratio {ratio:.2f} (target >= 0.8): {'met' if ratio >= 0.8 else 'MISSED'}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
