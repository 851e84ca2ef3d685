"""The table of Bot API methods the sandbox implements, and what a handler receives."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from reelcart.sandbox.files import Fetcher
from reelcart.sandbox.state import SandboxState
from reelcart.sandbox.validation import Params


@dataclass
class Call:
    """One Bot API call: the sandbox state, the method's canonical name, its parameters."""

    state: SandboxState
    method: str
    params: Params
    fetch: Fetcher


@dataclass(frozen=True)
class Described:
    """A successful result that Telegram sends with a ``description`` (setWebhook...)."""

    result: Any
    description: str


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class MethodSpec:
    """A handler and whether it draws from the flood-control buckets."""

    handler: Handler
    metered: bool


METHODS: dict[str, MethodSpec] = {}


def bot_method(name: str, *, metered: bool = False) -> Callable[[Handler], Handler]:
    """Register a handler for the Bot API method ``name`` (matched case-insensitively)."""

    def register(handler: Handler) -> Handler:
        METHODS[name.lower()] = MethodSpec(handler, metered)
        return handler

    return register
