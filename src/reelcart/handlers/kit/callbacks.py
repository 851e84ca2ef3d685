"""Callback data, built and parsed in one place per namespace (Telegram allows 1-64 bytes).

``CallbackCodec`` is the panels' shape, ``<prefix>:<action>[:<arg>...]``: each argument
optional, trailing and matched by its own pattern; anything else parses to None (a stale
or forged button). Here: the admin panel's ``adm:`` (``ADMIN``; pressed from the panel,
from the notices that bring admins to it, and from the refunds screens behind it, whose
``adm:refunds`` is ``refunds_data``), the merchant's ``mer:`` (``MERCHANT``) and the
basket's ``bk:`` (``basket_data``). The feed's buttons have theirs in ``feed.render``,
the order buttons (which the services send) in ``services.receipts``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

#: Telegram's limit on a button's callback data, in bytes.
MAX_DATA_BYTES = 64


@dataclass(frozen=True)
class Pressed:
    """A parsed button: its action and its arguments (None where one was left out)."""

    action: str
    args: tuple[str | None, ...]


class CallbackCodec:
    """Builds and strictly parses ``<prefix>:<action>[:<arg>...]``."""

    def __init__(self, prefix: str, actions: Sequence[str], args: Sequence[str]) -> None:
        self.prefix = prefix
        self.actions = tuple(actions)
        alternatives = "|".join(self.actions)
        optional = "".join(f"(?::({arg}))?" for arg in args)
        self._data = re.compile(rf"^{prefix}:({alternatives}){optional}$")
        #: What a ``CallbackQueryHandler`` claims: the prefix and one of the actions.
        self.pattern = rf"^{prefix}:(?:{alternatives})(?::|$)"

    def data(self, action: str, *args: object) -> str:
        """The callback data of ``action`` with ``args``.

        Raises ValueError if the result would not parse back (an unknown action, an
        argument its pattern refuses) or is longer than Telegram allows.
        """
        data = ":".join((self.prefix, action, *(str(arg) for arg in args)))
        if self._data.match(data) is None or len(data.encode()) > MAX_DATA_BYTES:
            raise ValueError(f"not a valid {self.prefix}: button: {data!r}")
        return data

    def parse(self, data: str | None) -> Pressed | None:
        """The button behind ``data``, or None if it is malformed."""
        match = self._data.match(data or "")
        if match is None:
            return None
        return Pressed(match[1], match.groups()[1:])


# -- the admin panel: ``adm:`` ----------------------------------------------------------------

#: ``adm:menu``; ``adm:q:<offset>`` a product waiting for moderation, ``adm:qm:<merchant>``
#: the queue of one merchant's products (0: everyone's), ``adm:qa|qr|qo:<product>:<offset>``
#: approve / pick a reason / type a reason, ``adm:qx:<product>:<reason>:<offset>`` reject,
#: ``adm:qc:<product>`` see its card; ``adm:apps:<offset>``, ``adm:app:<merchant>:<1|0>``
#: applications; ``adm:ms:<page>``, ``adm:m:<merchant>``, ``adm:mt|mx:<merchant>:<1|0>``
#: trust, suspend; ``adm:users``, ``adm:u:<user>``, ``adm:ub:<user>:<1|0>`` bans;
#: ``adm:set``, ``adm:sd:<percent>``, ``adm:sm:<cards>`` settings; ``adm:stats``,
#: ``adm:st:<period>``; ``adm:bc``, ``adm:bcgo|bcno|bcstop:<broadcast>``; ``adm:log:<page>``.
#: ``adm:refunds...`` is not one of them (see ``refunds_data``).
_ADMIN_ACTIONS = (
    "menu", "q", "qm", "qa", "qr", "qx", "qo", "qc", "apps", "app", "ms", "m", "mt", "mx",
    "users", "u", "ub", "set", "sd", "sm", "stats", "st", "bc", "bcgo", "bcno", "bcstop", "log",
)  # fmt: skip
ADMIN = CallbackCodec(
    "adm",
    _ADMIN_ACTIONS,
    ("[0-9a-z]{1,18}", "[0-9a-z]{1,18}", "[0-9]{1,6}"),
)

#: The admin panel's first screen (every ⬅️ Back ends there).
ADMIN_MENU = ADMIN.data("menu")

# -- the merchant's /products and /stats: ``mer:`` ------------------------------------------

#: ``mer:pl:<page>`` a page of /products, ``mer:p:<product>:<page>`` one product,
#: ``mer:pause|resume|del|delok:<product>:<page>``, ``mer:price|stock|view:<product>``,
#: ``mer:st:<period>`` / ``mer:sp:<period>`` the /stats chart and its per-product list,
#: ``mer:noop`` (the page number), ``mer:pv`` (a button of a preview card).
_MERCHANT_ACTIONS = (
    "pl", "p", "pause", "resume", "price", "stock", "view", "del", "delok", "st", "sp", "noop",
    "pv",
)  # fmt: skip
MERCHANT = CallbackCodec(
    "mer",
    _MERCHANT_ACTIONS,
    ("[0-9a-z]{1,18}", "[0-9]{1,6}"),
)

# -- the refunds screens of the admin panel: ``adm:refunds`` ----------------------------------

REFUNDS_PATTERN = r"^adm:refunds"
_REFUNDS_DATA = re.compile(r"^adm:refunds(?::([oy]):([1-9][0-9]{0,17}))?$")


@dataclass(frozen=True)
class RefundsButton:
    """``adm:refunds`` the list (``order_id`` None), ``:o:<order>`` confirm one, ``:y:<order>``
    refund it."""

    step: str | None = None
    order_id: int | None = None


def refunds_data(step: str | None = None, order_id: int | None = None) -> str:
    """The list of refundable orders; with ``step`` (``o`` confirm, ``y`` refund), one order."""
    if step is None:
        return "adm:refunds"
    return f"adm:refunds:{step}:{order_id}"


def parse_refunds_data(data: str | None) -> RefundsButton | None:
    """The refunds button behind ``data``, or None if it is malformed."""
    match = _REFUNDS_DATA.match(data or "")
    if match is None:
        return None
    if match[1] is None:
        return RefundsButton()
    return RefundsButton(match[1], int(match[2]))


# -- the basket: ``bk:`` ------------------------------------------------------------------------

_BASKET_DATA = re.compile(r"^bk:(?:(add|rm):([1-9][0-9]{0,17})|(pay|clear))$")


@dataclass(frozen=True)
class BasketButton:
    """``add`` / ``rm`` a product, ``pay`` or ``clear`` the basket (``product_id`` 0)."""

    action: str
    product_id: int = 0


def basket_data(action: str, product_id: int = 0) -> str:
    """``bk:add|rm:<product>`` or ``bk:pay|clear``."""
    return f"bk:{action}:{product_id}" if product_id else f"bk:{action}"


def parse_basket_data(data: str | None) -> BasketButton | None:
    """The basket button behind ``data``, or None if it is malformed."""
    match = _BASKET_DATA.match(data or "")
    if match is None:
        return None
    if match[1] is not None:
        return BasketButton(match[1], int(match[2]))
    return BasketButton(match[3])
