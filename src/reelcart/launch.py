"""Start the real ``reelcart run`` process against a Bot API base (usually the sandbox).

Used by ``reelcart demo``, the end-to-end tests and the benchmarks: the bot under test is
always the real program in its own process, talking HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections import deque
from pathlib import Path

import aiohttp


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcessError(RuntimeError):
    """The bot process exited or never became healthy; carries the tail of its log."""


class BotProcess:
    """``reelcart run`` as a child process, with its log kept for inspection."""

    def __init__(
        self,
        api_root: str,
        token: str,
        db_path: Path,
        *,
        webhook: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.api_root = api_root
        self.token = token
        self.db_path = db_path
        self.webhook = webhook
        self.port = free_port()
        self.extra_env = extra_env or {}
        self.log: deque[str] = deque(maxlen=400)
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The process id once started (the benchmarks read its CPU time from /proc)."""
        return self._process.pid if self._process is not None else None

    async def start(self, timeout: float = 120.0) -> None:
        """Start the process and wait until ``/healthz`` answers."""
        env = {
            **os.environ,
            "REELCART_BOT_TOKEN": self.token,
            "REELCART_API_BASE": self.api_root,
            "REELCART_DB": str(self.db_path),
            "REELCART_HTTP_HOST": "127.0.0.1",
            "REELCART_HTTP_PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        if self.webhook:
            env["REELCART_PUBLIC_URL"] = self.base_url
        args = [sys.executable, "-m", "reelcart.cli", "run"]
        if self.webhook:
            args.append("--webhook")
        self._process = await asyncio.create_subprocess_exec(
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read_log())
        await self._wait_healthy(timeout)

    async def _read_log(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        async for line in self._process.stdout:
            self.log.append(line.decode(errors="replace").rstrip())

    async def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.returncode is not None:
                    raise BotProcessError(
                        f"bot exited with {self._process.returncode}:\n{self.tail()}"
                    )
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{self.base_url}/healthz") as response:
                        if response.status == 200 and (await response.json()).get("ready"):
                            return
                await asyncio.sleep(0.2)
        raise BotProcessError(f"bot not healthy after {timeout:.0f} s:\n{self.tail()}")

    async def health(self) -> dict:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.base_url}/healthz") as response,
        ):
            return dict(await response.json())

    async def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait for a graceful exit (SIGKILL after ``timeout``)."""
        process = self._process
        if process is None or process.returncode is not None:
            return process.returncode if process and process.returncode is not None else 0
        process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            code = await process.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)
        return code

    async def wait_exit(self, timeout: float = 30.0) -> int:
        """Wait for the process to end by itself (e.g. a crash a test provoked)."""
        assert self._process is not None
        code = await asyncio.wait_for(self._process.wait(), timeout)
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)
        return code

    def kill(self) -> None:
        """Kill without a chance to clean up (a crash)."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(list(self.log)[-lines:])
