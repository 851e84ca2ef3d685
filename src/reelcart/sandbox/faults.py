"""Fault injection: the sandbox answering like Telegram on a bad day.

Switched on, a share of the bot's Bot API calls fails the way calls to api.telegram.org
fail in production, so a test can check what a user would notice (a reaction recorded
twice, a card that stops moving, a receipt sent twice) rather than how the bot copes with
a perfect network::

    server = SandboxServer(faults=FaultPlan(rate=0.15, seed=7))
    server.faults.enabled = False   # set up cleanly...
    ...
    server.faults.enabled = True    # ...then let a share of the calls fail
    ...
    server.faults.enabled = False
    assert server.faults.counts[FaultKind.DROP_AFTER] > 0

The kinds (:class:`FaultKind`), what the client sees, and whether the call took effect:

* ``retry_after``: 429 ``{"ok": false, "error_code": 429, "description": "Too Many
  Requests: retry after N", "parameters": {"retry_after": N}}``, Telegram's flood answer.
  Not carried out.
* ``server_error``: 500 ``{"ok": false, "error_code": 500, "description": "Internal Server
  Error"}``. Not carried out.
* ``bad_gateway``: 502 with the HTML page of Telegram's nginx front, not JSON. Not carried
  out.
* ``slow``: the answer comes ``slow_seconds`` late, past the client's timeout
  (python-telegram-bot's read timeout is 5 s). Carried out at once.
* ``drop_before``: the request is read, then the connection closes with no answer. Not
  carried out.
* ``drop_after``: the method does what it does (a message sent, a card edited, a query
  answered), then the connection closes with no answer. Carried out.

The last three leave the client in doubt, as on the real network: a timeout or a closed
connection does not say whether the call took effect (and both drops look alike).
Retrying a 429 or a 5xx is always safe; retrying after a timeout or a dropped connection
may do the thing twice (``drop_after``), and not retrying may not do it at all
(``drop_before``). That is what these faults test.

Which calls: faults are drawn at the HTTP edge only, for calls that passed the token and
method checks, so :meth:`SandboxServer.call` (the tests' own calls), answers given in a
webhook response and file downloads never fail. :data:`DEFAULT_EXEMPT` spares the update
transport and the webhook setup (``getUpdates``, ``getMe``, ``getWebhookInfo``,
``setWebhook``, ``deleteWebhook``, ``logOut``, ``close``): faulting them exercises
python-telegram-bot's updater rather than the bot's handling of a person's action, and a
faulted ``getUpdates`` only delays every update (Telegram hands unconfirmed updates out
again). Pass ``exempt=frozenset()`` to fault them too.

Determinism: whether a call fails, and how, is a pure function of the seed, the method,
the call's target (its ``chat_id``, or the user of the query it answers) and how many
calls of that method to that target came before it (counting only calls made while faults
were on, since the start or :meth:`FaultInjector.reset`). So a run's faults do not depend
on how concurrent chats interleave, and a retried call draws again (it may pass, or fail
another way).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiohttp import web

from reelcart.sandbox.errors import BotApiError

logger = logging.getLogger(__name__)


class FaultKind(StrEnum):
    """How an injected fault shows itself; see the module's table."""

    RETRY_AFTER = "retry_after"
    SERVER_ERROR = "server_error"
    BAD_GATEWAY = "bad_gateway"
    SLOW = "slow"
    DROP_BEFORE = "drop_before"
    DROP_AFTER = "drop_after"

    @property
    def carried_out(self) -> bool:
        """Whether the method's effect happens despite the fault."""
        return self in (FaultKind.SLOW, FaultKind.DROP_AFTER)


#: Methods spared by default (compared case-insensitively): the update transport and setup.
DEFAULT_EXEMPT = frozenset(
    {"getUpdates", "getMe", "getWebhookInfo", "setWebhook", "deleteWebhook", "logOut", "close"}
)

# The page Telegram's nginx front answers a 502 with.
_BAD_GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)

# Parameters that name the user a query answer goes to, by query kind.
_QUERY_PARAMS = (
    "callback_query_id",
    "inline_query_id",
    "shipping_query_id",
    "pre_checkout_query_id",
)


@dataclass(frozen=True)
class FaultPlan:
    """What to inject: ``rate`` is the share of eligible calls that fail (0 to 1), each
    with one of ``kinds`` drawn evenly; methods in ``exempt`` never fail.

    ``retry_after`` is the seconds a 429 asks for; ``slow_seconds`` how late a ``slow``
    answer comes (longer than the client's read timeout, or the client will just wait).
    Raises ValueError for a rate outside 0..1, no kinds, or non-positive durations.
    """

    rate: float = 0.15
    seed: int = 0
    kinds: frozenset[FaultKind] = frozenset(FaultKind)
    exempt: frozenset[str] = DEFAULT_EXEMPT
    retry_after: int = 1
    slow_seconds: float = 6.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, not {self.rate}")
        if not self.kinds:
            raise ValueError("a fault plan needs at least one kind of fault")
        if self.retry_after < 1:
            raise ValueError("retry_after is whole seconds, at least 1 (as Telegram sends it)")
        if self.slow_seconds <= 0:
            raise ValueError("slow_seconds must be positive")
        object.__setattr__(self, "kinds", frozenset(FaultKind(kind) for kind in self.kinds))
        object.__setattr__(self, "exempt", frozenset(name.lower() for name in self.exempt))

    def spares(self, method: str) -> bool:
        """Whether ``method`` is exempt from faults."""
        return method.lower() in self.exempt


@dataclass(frozen=True)
class InjectedFault:
    """One fault the sandbox injected: its kind, the method (as the client spelled it),
    the chat or user the call was about (None if it names neither), the call's ordinal
    among that method's calls to that target (0 for the first), and the text or caption
    it carried (to tell which message a fault hit)."""

    kind: FaultKind
    method: str
    target: int | None
    ordinal: int
    text: str | None = None


@dataclass
class FaultInjector:
    """Decides, per call, whether and how it fails, and counts what it injected.

    ``enabled`` switches injection on and off at run time; while it is off, calls are
    neither faulted nor counted. Replace ``plan`` to change what is injected (the default
    plan, rate 0, injects nothing).
    """

    plan: FaultPlan = field(default_factory=lambda: FaultPlan(rate=0.0))
    enabled: bool = True
    #: Calls that could have failed (not exempt) while enabled.
    calls: int = 0
    #: Every fault injected, in order.
    injected: list[InjectedFault] = field(default_factory=list)
    _ordinals: Counter[tuple[str, int | None]] = field(default_factory=Counter, repr=False)

    @property
    def counts(self) -> Counter[FaultKind]:
        """How many faults of each kind were injected."""
        return Counter(fault.kind for fault in self.injected)

    def faults_for(self, target: int, method: str | None = None) -> list[InjectedFault]:
        """The faults injected into calls about ``target`` (of ``method``, if given)."""
        wanted = method.lower() if method is not None else None
        return [
            fault
            for fault in self.injected
            if fault.target == target and (wanted is None or fault.method.lower() == wanted)
        ]

    def reset(self) -> None:
        """Forget the counters and ordinals: the same calls meet the same faults again."""
        self.calls = 0
        self.injected.clear()
        self._ordinals.clear()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Switch injection off inside the block, back to what it was after."""
        was, self.enabled = self.enabled, False
        try:
            yield
        finally:
            self.enabled = was

    def draw(self, method: str, target: int | None, text: str | None = None) -> FaultKind | None:
        """The fault for this call, or None; records it (with ``text``) when one is injected."""
        plan = self.plan
        if not self.enabled or plan.rate <= 0.0 or plan.spares(method):
            return None
        self.calls += 1
        key = (method.lower(), target)
        ordinal = self._ordinals[key]
        self._ordinals[key] = ordinal + 1
        # A str seed goes through SHA-512: the same on every run and every machine.
        rng = random.Random(f"{plan.seed}:{key[0]}:{target}:{ordinal}")
        if rng.random() >= plan.rate:
            return None
        kind = rng.choice(sorted(plan.kinds))
        self.injected.append(InjectedFault(kind, method, target, ordinal, text))
        logger.debug("injecting %s into %s (target %s, call %d)", kind, method, target, ordinal)
        return kind

    async def respond(
        self,
        kind: FaultKind,
        request: web.Request,
        answer: Callable[[], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Answer ``request`` with fault ``kind``; ``answer`` carries the call out and
        builds the normal response (awaited only by the kinds that carry it out)."""
        if kind in (FaultKind.RETRY_AFTER, FaultKind.SERVER_ERROR):
            error = (
                BotApiError.too_many_requests(self.plan.retry_after)
                if kind is FaultKind.RETRY_AFTER
                else BotApiError(500, "Internal Server Error")
            )
            return web.json_response(error.to_json(), status=error.error_code)
        if kind is FaultKind.BAD_GATEWAY:
            return web.Response(status=502, text=_BAD_GATEWAY_PAGE, content_type="text/html")
        if kind is FaultKind.SLOW:
            response = await answer()
            await asyncio.sleep(self.plan.slow_seconds)
            return response  # the client has usually gone; aiohttp drops the write quietly
        if kind is FaultKind.DROP_AFTER:
            await answer()
        # Close with no answer. aiohttp then fails to write the response below and lets it
        # go, as when a client hangs up.
        transport = request.transport
        if transport is not None:
            transport.close()
        return web.Response()


def call_text(params: Mapping[str, Any]) -> str | None:
    """The ``text`` or ``caption`` a call carries (an edited media's caption too), if any."""
    value = params.get("text", params.get("caption"))
    if value is None:
        media = params.get("media")
        if isinstance(media, str):
            with contextlib.suppress(ValueError):
                media = json.loads(media)
        if isinstance(media, dict):
            value = media.get("caption")
    return value if isinstance(value, str) else None


def fault_target(params: Mapping[str, Any], query_user: Callable[[str], int | None]) -> int | None:
    """The chat or user a call is about: ``chat_id``, ``user_id``, or the user whose
    query it answers (``query_user`` looks a query id up); None when it names none."""
    for name in ("chat_id", "user_id"):
        value = params.get(name)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
    for name in _QUERY_PARAMS:
        value = params.get(name)
        if value is not None:
            return query_user(str(value))
    return None
