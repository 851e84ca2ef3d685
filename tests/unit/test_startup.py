"""Start-up failures of ``reelcart run``: one clear line, exit 2, no traceback, no secret.

The real ``reelcart`` process is started against the sandbox (a wrong token) or against
a port nothing listens on (an unreachable Bot API); both fail before the model loads.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reelcart.launch import free_port
from reelcart.sandbox import SandboxServer

# Shaped like a real token, so the sandbox answers 401 Unauthorized as Telegram does.
WRONG_TOKEN = "987654321:AAWrongWrongWrongWrongWrongWrongWro"


async def reelcart(tmp_path: Path, api_root: str, *args: str) -> tuple[int, str]:
    """Run ``reelcart ARGS`` with a wrong token; its exit code and everything it printed."""
    env = {
        **os.environ,
        "REELCART_BOT_TOKEN": WRONG_TOKEN,
        "REELCART_API_BASE": api_root,
        "REELCART_DB": str(tmp_path / "shop.db"),
        "REELCART_HTTP_HOST": "127.0.0.1",
        "REELCART_HTTP_PORT": str(free_port()),
        "REELCART_WEBHOOK_SECRET": "webhook-secret-never-printed",
        "REELCART_PUBLIC_URL": "https://bot.example",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "reelcart.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


def problems(output: str) -> list[str]:
    """Lines before the last (the message) that look like trouble: warnings, errors,
    tracebacks, faiss's loader."""
    return [
        line
        for line in output.strip().splitlines()[:-1]
        if any(word in line for word in ("Traceback", "Error", "WARNING", "ERROR", "faiss"))
    ]


async def test_a_wrong_token_is_one_line_and_exit_2_without_the_token(tmp_path: Path) -> None:
    async with SandboxServer(limits=None) as server:
        code, output = await reelcart(tmp_path, server.root_url, "run")
    assert code == 2, output
    last = output.strip().splitlines()[-1]
    assert last.startswith("reelcart run: ") and "REELCART_BOT_TOKEN" in last, output
    assert problems(output) == [], output
    assert WRONG_TOKEN.split(":")[1] not in output


async def test_at_debug_no_secret_is_printed_either(tmp_path: Path) -> None:
    async with SandboxServer(limits=None) as server:
        code, output = await reelcart(tmp_path, server.root_url, "--verbose", "run", "--webhook")
    assert code == 2, output
    assert "DEBUG" in output  # it did log at DEBUG...
    assert WRONG_TOKEN.split(":")[1] not in output  # ...but never the token,
    assert "webhook-secret-never-printed" not in output  # nor the webhook secret
    assert "Traceback" not in output


async def test_an_unreachable_bot_api_is_one_line_and_exit_2(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    code, output = await reelcart(tmp_path, nowhere, "run")
    assert code == 2, output
    last = output.strip().splitlines()[-1]
    assert last.startswith("reelcart run: ") and nowhere in last, output
    assert problems(output) == [], output
    assert WRONG_TOKEN.split(":")[1] not in output


@pytest.mark.parametrize("verbose", [False, True])
def test_library_chatter_stays_below_warning(verbose: bool) -> None:
    """faiss logs at INFO each CPU variant it could not load ("ModuleNotFoundError"), and
    APScheduler two lines per job run: neither reaches a ``reelcart`` log, but for the
    scheduler with ``-v``."""
    code = (
        "import logging\n"
        "from reelcart.logging_config import configure_logging\n"
        f"configure_logging(verbose={verbose})\n"
        "import faiss\n"
        "logging.getLogger('faiss.loader').info('ModuleNotFoundError: a test line')\n"
        "logging.getLogger('apscheduler.executors.default').info('Running job x')\n"
        "logging.getLogger('reelcart').info('reelcart line')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "reelcart line" in done.stderr
    assert "ModuleNotFoundError" not in done.stderr and "faiss" not in done.stderr
    assert ("Running job" in done.stderr) is verbose
