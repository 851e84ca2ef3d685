"""Whether a clip's link leads to a video, asked of the link itself (for moderation).

A product's ``video_url`` is only a string until Telegram fetches it, so a dead link would
pass moderation looking fine. ``ClipLinkCheck.problem(url)`` asks the link: a HEAD request
(a GET of the first bytes when the host refuses HEAD), following up to ``MAX_REDIRECTS``
redirects, within ``timeout`` seconds for the whole exchange. It runs on the event loop
without holding it (aiohttp; names are resolved on a thread). A link has a problem when:

- its host does not resolve, refuses the connection or does not answer in time;
- it answers an error status (4xx, 5xx), or redirects too often;
- it answers with a type that is not a video: anything but ``video/*``, ``image/gif`` and
  the ``application/octet-stream`` of storage buckets (no type at all is given the
  benefit of the doubt);
- it leads to this machine or a private network: such addresses are refused before
  connecting, at every redirect, unless ``allow_private`` (``REELCART_ALLOW_PRIVATE_URLS``,
  for tests and the sandbox), so a merchant's link cannot make reelcart probe its own
  network.

Answers are remembered for ``ttl`` seconds, so paging back and forth through the queue
asks each link once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from reelcart.domain import Clip

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
VIDEO_TYPES = ("video/", "image/gif", "application/octet-stream", "binary/octet-stream")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class PrivateAddress(OSError):
    """The link's host is this machine or a private network."""


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global


class _PublicResolver(AbstractResolver):
    """Resolves on a thread and keeps only public addresses, so the connection goes to an
    address that was checked (no second lookup for a name to change its answer)."""

    def __init__(self) -> None:
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        public = [result for result in found if _is_public(result["host"])]
        if not public:
            raise PrivateAddress(f"{host} is this machine or a private network")
        return public

    async def close(self) -> None:
        await self._inner.close()


class ClipLinkCheck:
    """Asks clip links whether they lead to a video (see the module's docstring)."""

    def __init__(
        self,
        allow_private: bool = False,
        timeout: float = 3.0,
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allow_private = allow_private
        self.timeout = timeout
        self.ttl = ttl
        self.clock = clock
        self._answers: dict[str, tuple[float, str | None]] = {}

    async def clip_is_dead(self, clip: Clip | None) -> bool:
        """Whether ``clip`` is a link that does not lead to a video (a local file or no
        clip at all is not this check's business)."""
        if clip is None or not clip.source.startswith(("http://", "https://")):
            return False
        return await self.problem(clip.source) is not None

    async def problem(self, url: str) -> str | None:
        """What is wrong with ``url`` as a clip's link, or None if it leads to a video."""
        now = self.clock()
        cached = self._answers.get(url)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        try:
            async with asyncio.timeout(self.timeout):
                problem = await self._ask(url)
        except TimeoutError:
            problem = f"no answer within {self.timeout:g} s"
        except PrivateAddress as exc:
            problem = str(exc)
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            problem = f"no answer ({type(exc).__name__})"
        if problem is not None:
            log.info("clip link %s: %s", url, problem)
        self._answers[url] = (now, problem)
        return problem

    async def _ask(self, url: str) -> str | None:
        connector = aiohttp.TCPConnector(
            resolver=None if self.allow_private else _PublicResolver(), limit=2
        )
        async with aiohttp.ClientSession(connector=connector) as session:
            for _ in range(MAX_REDIRECTS + 1):
                parts = urlsplit(url)
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    return "not an http(s) link"
                self._check_literal(parts.hostname)
                status, location, kind = await self._head_or_get(session, url)
                if status in _REDIRECTS and location:
                    url = urljoin(url, location)
                    continue
                if status >= 400:
                    return f"answers {status}"
                if kind and not kind.startswith(VIDEO_TYPES):
                    return f"is not a video ({kind})"
                return None
        return "redirects too often"

    def _check_literal(self, host: str) -> None:
        """An address written in the link skips the resolver: check it here."""
        if self.allow_private:
            return
        try:
            public = _is_public(host.strip("[]"))
        except ValueError:
            return  # a name: the resolver checks what it resolves to
        if not public:
            raise PrivateAddress(f"{host} is this machine or a private network")

    @staticmethod
    async def _head_or_get(session: aiohttp.ClientSession, url: str) -> tuple[int, str | None, str]:
        """(status, redirect target, content type) from a HEAD, or from a GET of the first
        bytes when the host refuses HEAD (some storage links are signed for GET only)."""
        async with session.head(url, allow_redirects=False) as response:
            status, location = response.status, response.headers.get("Location")
            kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if status < 400:
            return status, location, kind
        headers = {"Range": "bytes=0-1023"}
        async with session.get(url, allow_redirects=False, headers=headers) as response:
            kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            return response.status, response.headers.get("Location"), kind
