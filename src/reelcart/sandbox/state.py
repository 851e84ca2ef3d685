"""Everything the sandbox remembers: users, private chats, messages, queries, payments.

This is the data layer. It raises :class:`BotApiError` for the conditions Telegram
reports about chats and queries (unknown chat, blocked bot, expired query) and knows
nothing about HTTP; method handlers and simulated users both work through it.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import logging
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

from reelcart.sandbox.errors import QUERY_TOO_OLD, BotApiError
from reelcart.sandbox.files import FileStore
from reelcart.sandbox.limits import FloodControl, QueryDeadlines, SandboxLimits
from reelcart.sandbox.updates import Signal, UpdateQueue, WebhookConfig

logger = logging.getLogger(__name__)

JSON = dict[str, Any]

BOT_USERNAME = "reelcart_sandbox_bot"
BOT_FIRST_NAME = "Reelcart Sandbox"


def now() -> int:
    """Unix time in whole seconds, the unit of every ``date`` field."""
    return int(time.time())


def make_token() -> tuple[int, str]:
    """A bot id and a token shaped like BotFather's: ``<digits>:<35 characters>``."""
    bot_id = secrets.randbelow(9_000_000_000) + 1_000_000_000
    alphabet = string.ascii_letters + string.digits + "_-"
    secret = "AA" + "".join(secrets.choice(alphabet) for _ in range(33))
    return bot_id, f"{bot_id}:{secret}"


@dataclass
class UserAccount:
    """A Telegram user of the sandbox (a simulated shopper, merchant or admin)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_premium: bool = False
    blocked_bot: bool = False

    def to_api(self) -> JSON:
        """``User`` JSON."""
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        if self.is_premium:
            data["is_premium"] = True
        return data


@dataclass
class Invoice:
    """An invoice as sent by sendInvoice or createInvoiceLink."""

    title: str
    description: str
    payload: str
    currency: str
    prices: list[JSON]
    provider_token: str
    is_flexible: bool = False
    need_name: bool = False
    need_phone_number: bool = False
    need_email: bool = False
    need_shipping_address: bool = False
    start_parameter: str = ""
    max_tip_amount: int = 0
    subscription_period: int | None = None
    link: str | None = None

    @property
    def total_amount(self) -> int:
        """Sum of all price portions."""
        return sum(int(price["amount"]) for price in self.prices)


@dataclass
class StoredMessage:
    """A message in a private chat; ``data`` is its current Bot API JSON."""

    chat_id: int
    message_id: int
    from_bot: bool
    data: JSON
    history: list[JSON] = field(default_factory=list)
    deleted: bool = False
    invoice: Invoice | None = None


@dataclass(frozen=True)
class ChatEvent:
    """Something that happened in a chat: a new message, an edit or a deletion."""

    seq: int
    kind: str  # "message", "edit" or "delete"
    from_bot: bool
    message: JSON


class PrivateChat:
    """The private chat between the bot and one user."""

    def __init__(self, user: UserAccount) -> None:
        self.user = user
        self.messages: dict[int, StoredMessage] = {}
        self.events: list[ChatEvent] = []
        self.changed = Signal()
        self.chat_instance = str(secrets.randbelow(2**63))
        self.menu_button: JSON | None = None
        self.reply_keyboard: JSON | None = None
        self.actions: list[tuple[int, str]] = []
        self._ids = itertools.count(1)

    @property
    def id(self) -> int:
        """Private chats share the user's id."""
        return self.user.id

    def to_api(self) -> JSON:
        """``Chat`` JSON."""
        data: JSON = {"id": self.user.id, "first_name": self.user.first_name}
        if self.user.last_name:
            data["last_name"] = self.user.last_name
        if self.user.username:
            data["username"] = self.user.username
        data["type"] = "private"
        return data

    def next_message_id(self) -> int:
        """Message ids count up per private chat, shared by both sides."""
        return next(self._ids)

    def record(self, kind: str, stored: StoredMessage) -> None:
        """Log an event and wake everyone waiting on this chat."""
        self.events.append(
            ChatEvent(len(self.events) + 1, kind, stored.from_bot, copy.deepcopy(stored.data))
        )
        self.changed.notify()

    def find(self, message_id: int) -> StoredMessage | None:
        """A message that has not been deleted."""
        stored = self.messages.get(message_id)
        return None if stored is None or stored.deleted else stored


@dataclass
class PendingQuery:
    """A callback, inline, shipping or pre-checkout query waiting for the bot's answer."""

    id: str
    kind: str
    user_id: int
    deadline: float
    answer: asyncio.Future[JSON]
    context: JSON = field(default_factory=dict)


@dataclass
class InlineMessage:
    """A message sent via inline mode; the bot can edit it by inline_message_id."""

    inline_message_id: str
    data: JSON
    history: list[JSON] = field(default_factory=list)


@dataclass
class StarCharge:
    """A Telegram Stars payment the bot received."""

    charge_id: str
    user_id: int
    amount: int
    payload: str
    date: int
    refunded: bool = False


class SandboxState:
    """The whole remembered world of one sandbox bot."""

    def __init__(self, limits: SandboxLimits | None, deadlines: QueryDeadlines) -> None:
        self.bot_id, self.token = make_token()
        self.bot_username = BOT_USERNAME
        self.users: dict[int, UserAccount] = {}
        self.chats: dict[int, PrivateChat] = {}
        self.files = FileStore(salt=self.token)
        self.updates = UpdateQueue()
        self.flood = FloodControl(limits)
        self.deadlines = deadlines
        self.queries: dict[str, PendingQuery] = {}
        self.inline_answers: dict[str, JSON] = {}
        self.inline_messages: dict[str, InlineMessage] = {}
        self.invoice_links: dict[str, Invoice] = {}
        self.star_charges: dict[str, StarCharge] = {}
        self.star_transactions: list[JSON] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.texts: dict[tuple[str, str], str] = {}
        self.default_menu_button: JSON = {"type": "commands"}
        self.webhook: WebhookConfig | None = None

    # Users and chats

    def bot_user(self) -> JSON:
        """The bot as a ``User``."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": self.bot_username,
        }

    def add_user(self, user: UserAccount) -> UserAccount:
        """Register a user (idempotent by id)."""
        existing = self.users.get(user.id)
        if existing is not None:
            return existing
        self.users[user.id] = user
        return user

    def user_json(self, user_id: int) -> JSON | None:
        """``User`` JSON of a known user (used to resolve text mentions)."""
        if user_id == self.bot_id:
            return self.bot_user()
        user = self.users.get(user_id)
        return user.to_api() if user else None

    def open_chat(self, user: UserAccount) -> PrivateChat:
        """The user's private chat with the bot, created when the user first writes."""
        chat = self.chats.get(user.id)
        if chat is None:
            chat = PrivateChat(user)
            self.chats[user.id] = chat
        return chat

    def chat_for_bot(self, chat_id: Any) -> PrivateChat:
        """The chat a bot call addresses, with Telegram's errors for the ones it can't use."""
        chat = self.lookup_chat(chat_id)
        if chat.user.blocked_bot:
            raise BotApiError.forbidden("bot was blocked by the user")
        return chat

    def lookup_chat(self, chat_id: Any) -> PrivateChat:
        """Resolve a ``chat_id`` parameter without the blocked check."""
        if isinstance(chat_id, str):
            text = chat_id.strip()
            if text.lstrip("-").isdigit():
                chat_id = int(text)
            else:
                # "@username" addresses public chats only; a private user is never found.
                raise BotApiError.bad_request("chat not found")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise BotApiError.bad_request("chat not found")
        chat = self.chats.get(chat_id)
        if chat is None:
            if chat_id in self.users:
                raise BotApiError.forbidden("bot can't initiate conversation with a user")
            raise BotApiError.bad_request("chat not found")
        return chat

    # Messages

    def message_base(self, chat: PrivateChat, from_bot: bool) -> JSON:
        """The fields every message starts with."""
        sender = self.bot_user() if from_bot else chat.user.to_api()
        return {
            "message_id": chat.next_message_id(),
            "from": sender,
            "chat": chat.to_api(),
            "date": now(),
        }

    def store(
        self, chat: PrivateChat, data: JSON, *, from_bot: bool, invoice: Invoice | None = None
    ) -> StoredMessage:
        """Keep a new message and announce it to the chat's watchers."""
        stored = StoredMessage(chat.id, data["message_id"], from_bot, data, invoice=invoice)
        chat.messages[stored.message_id] = stored
        chat.record("message", stored)
        return stored

    def replace(self, chat: PrivateChat, stored: StoredMessage, data: JSON) -> None:
        """Apply an edit: keep the previous version and stamp ``edit_date``."""
        stored.history.append(stored.data)
        data["edit_date"] = now()
        stored.data = data
        chat.record("edit", stored)

    def delete(self, chat: PrivateChat, stored: StoredMessage) -> None:
        """Delete a message for everyone."""
        stored.deleted = True
        chat.record("delete", stored)

    def user_message(self, chat: PrivateChat, content: JSON) -> tuple[JSON, int | None]:
        """A message written by the chat's user, stored and queued as a ``message`` update.

        Returns the message and its update_id (None if allowed_updates filtered it out).
        """
        data = self.message_base(chat, from_bot=False)
        data.update(content)
        self.store(chat, data, from_bot=False)
        return data, self.push_update("message", data)

    def push_update(self, kind: str, payload: JSON) -> int | None:
        """Queue an update for the bot."""
        return self.updates.push(kind, copy.deepcopy(payload))

    # Queries

    def open_query(
        self, kind: str, user: UserAccount, ttl: float, context: JSON | None = None
    ) -> PendingQuery:
        """A new query the bot must answer within ``ttl`` seconds."""
        query_id = str(secrets.randbelow(2**63))
        loop = asyncio.get_running_loop()
        # Forget long-expired queries so a long simulation does not accumulate them; the
        # dict keeps creation order, so the stale ones are at the front.
        while self.queries:
            oldest = next(iter(self.queries.values()))
            if oldest.deadline >= loop.time() - 60:
                break
            self.forget_query(oldest)
        query = PendingQuery(
            query_id, kind, user.id, loop.time() + ttl, loop.create_future(), context or {}
        )
        self.queries[query_id] = query
        return query

    def answer_query(self, kind: str, query_id: str, answer: JSON) -> PendingQuery:
        """Record the bot's answer; expired, unknown or already answered ids are refused."""
        query = self.queries.get(query_id)
        loop = asyncio.get_running_loop()
        if (
            query is None
            or query.kind != kind
            or query.answer.done()
            or loop.time() > query.deadline
        ):
            raise BotApiError.bad_request(QUERY_TOO_OLD)
        query.answer.set_result(answer)
        return query

    def forget_query(self, query: PendingQuery) -> None:
        """Drop a query that timed out or was answered."""
        self.queries.pop(query.id, None)
        if not query.answer.done():
            query.answer.cancel()

    # Bot settings

    @staticmethod
    def scope_key(scope: JSON | None) -> str:
        """A stable key for a BotCommandScope."""
        return json.dumps(scope or {"type": "default"}, sort_keys=True)
