"""The bot's HTTP client for the Bot API: aiohttp instead of python-telegram-bot's httpx.

Every swipe costs two Bot API calls (the answer to the tap and the edited card), and under
load the bot process is the bottleneck. httpx's connection pool checks each idle socket on
every request (``is_socket_readable``, ``getpeername``), which a profile of
``benchmarks/swipes.py`` found to be much of the bot's busy time (the README's benchmark
section has the numbers); aiohttp parses HTTP in C, keeps its pool cheaply, and is already
what reelcart serves with.

Behaviour follows ``HTTPXRequest``: the parameters go as a form (multipart when files are
attached), timeouts default to the ones given here, a timeout becomes ``TimedOut`` and
any other transport failure ``NetworkError``; the status and raw body go back to
python-telegram-bot, which turns them into results and Bot API errors. aiohttp has no
write timeout of its own, so a request's write and read timeouts together cap the time
it may take once connected.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# python-telegram-bot names the type of "a timeout, or left unset" only in private modules:
# they are imported for the type checker alone, so a move there cannot break the bot at
# run time, where the marker's class is taken from the public ``BaseRequest.DEFAULT_NONE``.
if TYPE_CHECKING:
    from telegram._utils.defaultvalue import DefaultValue as _Unset
    from telegram._utils.types import ODVInput
else:
    _Unset = type(BaseRequest.DEFAULT_NONE)

#: Seconds, as python-telegram-bot's own defaults; an upload may take longer to write.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
MEDIA_WRITE_TIMEOUT = 20.0
POOL_TIMEOUT = 1.0


def _timeout_or(value: ODVInput[float], default: float | None) -> float | None:
    """A call's timeout, or ``default`` where the call left it unset."""
    return default if isinstance(value, _Unset) else value


class AiohttpRequest(BaseRequest):
    """A python-telegram-bot request backend on one ``aiohttp.ClientSession``.

    ``connections`` caps the open connections; a request that finds them all busy waits up
    to the pool timeout, then fails with ``TimedOut`` without having been sent.
    """

    def __init__(self, connections: int = 32, read_timeout: float | None = READ_TIMEOUT) -> None:
        if connections < 1:
            raise ValueError("connections must be at least 1")
        self._connections = connections
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None

    @property
    def read_timeout(self) -> float | None:
        """The read timeout used when a call gives none."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (in the running loop); a second call does nothing."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )
            # The connector would queue a request past its limit without end; the slots
            # give that wait the pool timeout, so a call can fail unsent as PTB's does.
            self._slots = asyncio.Semaphore(self._connections)

    async def shutdown(self) -> None:
        """Close the session and its connections; a second call does nothing."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; the status code and the body as they came."""
        session, slots = self._session, self._slots
        if session is None or session.closed or slots is None:
            raise RuntimeError("this AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else {}
        read = _timeout_or(read_timeout, self._read_timeout)
        write = _timeout_or(write_timeout, MEDIA_WRITE_TIMEOUT if files else WRITE_TIMEOUT)
        connect = _timeout_or(connect_timeout, CONNECT_TIMEOUT)
        pool = _timeout_or(pool_timeout, POOL_TIMEOUT)

        body: aiohttp.FormData | dict[str, str] | None = fields or None
        if files:
            form = aiohttp.FormData()
            for name, value in fields.items():
                form.add_field(name, value)
            for name, (filename, content, mime) in files.items():
                form.add_field(name, content, filename=filename, content_type=mime)
            body = form
        overall = None
        if read is not None and write is not None:
            overall = read + write + (connect or 0.0)
        timeout = aiohttp.ClientTimeout(total=overall, sock_connect=connect, sock_read=read)

        if slots.locked():
            try:
                await asyncio.wait_for(slots.acquire(), pool)
            except TimeoutError as exc:
                raise TimedOut("every connection is busy; the request was not sent") from exc
        else:
            await slots.acquire()  # free: no timer needed
        try:
            async with session.request(method, url, data=body, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        finally:
            slots.release()
