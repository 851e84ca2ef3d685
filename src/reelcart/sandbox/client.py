"""Simulated Telegram users: the other side of the sandbox.

A :class:`SimulatedUser` does what a person does in the Telegram app: writes to the bot,
sends files, taps inline buttons, uses inline mode, pays invoices, blocks the bot. Each
action becomes the update Telegram would send the bot; the bot's replies are read back
from the user's private chat. Everything runs in-process, next to the
:class:`~reelcart.sandbox.server.SandboxServer`.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from reelcart.sandbox.checkout import run_checkout
from reelcart.sandbox.entities import find_auto_entities, utf16_len
from reelcart.sandbox.files import MAX_USER_UPLOAD_BYTES
from reelcart.sandbox.state import (
    JSON,
    InlineMessage,
    PendingQuery,
    PrivateChat,
    UserAccount,
    now,
)
from reelcart.sandbox.updates import wait_signal
from reelcart.sandbox.views import (
    BotMessage,
    CallbackAnswer,
    InlineAnswer,
    MessageRef,
    PaymentResult,
    message_id_of,
)

if TYPE_CHECKING:
    from reelcart.sandbox.server import SandboxServer


class SimulatedUser:
    """One Telegram user talking to the sandbox bot in a private chat."""

    def __init__(
        self,
        server: SandboxServer,
        user_id: int,
        first_name: str = "Alex",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        is_premium: bool = False,
    ) -> None:
        self.server = server
        self.state = server.state
        self.account = self.state.add_user(
            UserAccount(
                user_id,
                first_name,
                last_name,
                username,
                language_code,
                is_premium,
            )
        )
        self._cursor = 0
        self.last_update_id: int | None = None

    @property
    def id(self) -> int:
        """The user's id, which is also the private chat's id."""
        return self.account.id

    @property
    def chat(self) -> PrivateChat:
        """The private chat with the bot; LookupError until the user has written to it."""
        chat = self.state.chats.get(self.id)
        if chat is None:
            raise LookupError(f"user {self.id} has not started a chat with the bot yet")
        return chat

    def _open_chat(self) -> PrivateChat:
        """The chat, created by the user's first action, as in Telegram."""
        return self.state.open_chat(self.account)

    # Sending

    def send_content(self, content: JSON) -> JSON:
        """Send the bot a message with these fields (as in Telegram's Message); returns it."""
        chat = self._open_chat()
        self._cursor = len(chat.events)
        data, update_id = self.state.user_message(chat, content)
        self.last_update_id = update_id
        return data

    @staticmethod
    def _text_content(text: str, key: str = "text") -> JSON:
        content: JSON = {key: text}
        entities = find_auto_entities(text, [])
        if entities:
            content["entities" if key == "text" else "caption_entities"] = entities
        return content

    async def send_text(self, text: str, *, reply_to: MessageRef | None = None) -> JSON:
        """Write ``text`` to the bot, as a reply to one of its messages with ``reply_to``
        (e.g. answering a ForceReply prompt); returns the user's Message."""
        content = self._text_content(text)
        if reply_to is not None:
            replied = dict(self._current(reply_to).data)
            replied.pop("reply_to_message", None)  # Telegram nests only one level
            content["reply_to_message"] = replied
        return self.send_content(content)

    async def send_command(self, command: str, args: str = "") -> JSON:
        """Send ``/command args`` with its bot_command entity (``/start payload`` too)."""
        command = "/" + command.lstrip("/")
        text = f"{command} {args}".strip() if args else command
        content = self._text_content(text)
        others = [e for e in content.get("entities", []) if e["offset"] != 0]
        content["entities"] = [
            {"type": "bot_command", "offset": 0, "length": utf16_len(command)},
            *others,
        ]
        return self.send_content(content)

    def _caption(self, caption: str | None) -> JSON:
        return self._text_content(caption, "caption") if caption else {}

    async def send_document(self, filename: str, data: bytes, caption: str | None = None) -> JSON:
        """Send a file as a document (e.g. a catalog CSV)."""
        record = self.state.files.add_media(
            "document", data, filename, max_bytes=MAX_USER_UPLOAD_BYTES
        )
        return self.send_content({"document": record.to_api(), **self._caption(caption)})

    async def send_video(
        self,
        filename: str,
        data: bytes,
        caption: str | None = None,
        *,
        duration: int | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> JSON:
        """Send a video; content Telegram can't play arrives as a document instead."""
        record = self.state.files.add_media(
            "video",
            data,
            filename,
            width=width,
            height=height,
            duration=duration,
            max_bytes=MAX_USER_UPLOAD_BYTES,
        )
        return self.send_content({record.kind: record.to_api(), **self._caption(caption)})

    async def send_photo(self, data: bytes, caption: str | None = None) -> JSON:
        """Send a photo (PNG, JPEG, GIF or WebP bytes)."""
        record = self.state.files.add_media("photo", data, None)
        return self.send_content({"photo": record.to_api(), **self._caption(caption)})

    def redeliver(self, update_id: int | None = None) -> None:
        """Deliver an update again, same update_id (default: this user's last one)."""
        target = update_id if update_id is not None else self.last_update_id
        if target is None:
            raise LookupError("no update to deliver again")
        self.server.redeliver(target)

    # Block / unblock

    def _member_update(self, old: str, new: str) -> None:
        chat = self._open_chat()
        bot = self.state.bot_user()
        new_member: JSON = {"status": new, "user": bot}
        if new == "kicked":
            new_member["until_date"] = 0
        self.last_update_id = self.state.push_update(
            "my_chat_member",
            {
                "chat": chat.to_api(),
                "from": self.account.to_api(),
                "date": now(),
                "old_chat_member": {"status": old, "user": bot},
                "new_chat_member": new_member,
            },
        )

    async def block_bot(self) -> None:
        """Block the bot: its sends now fail with 403, and it gets a my_chat_member update."""
        if not self.account.blocked_bot:
            self.account.blocked_bot = True
            self._member_update("member", "kicked")

    async def unblock_bot(self) -> None:
        """Unblock the bot (Telegram sends my_chat_member with status member)."""
        if self.account.blocked_bot:
            self.account.blocked_bot = False
            self._member_update("kicked", "member")

    # Queries

    async def await_answer(
        self, query: PendingQuery, give_up_after: float | None, what: str
    ) -> JSON:
        """The bot's answer to ``query`` (``what`` names it in the TimeoutError raised when
        none comes within ``give_up_after`` seconds or Telegram's deadline)."""
        limit = query.deadline - asyncio.get_running_loop().time()
        wait = limit if give_up_after is None else min(give_up_after, limit)
        try:
            return await asyncio.wait_for(asyncio.shield(query.answer), max(wait, 0.0))
        except TimeoutError:
            # Telegram stops waiting at the deadline; a later answer gets "query is too old".
            if give_up_after is None or give_up_after >= limit:
                self.state.forget_query(query)
            raise TimeoutError(f"the bot did not answer the {what} within {wait:.1f}s") from None

    def _current(self, message: MessageRef) -> BotMessage:
        message_id = message_id_of(message)
        stored = self.chat.find(message_id)
        if stored is None or not stored.from_bot:
            raise LookupError(f"no bot message {message_id} in the chat with {self.id}")
        return BotMessage(stored.data)

    async def press(
        self, message: MessageRef, button: str, *, timeout: float | None = None
    ) -> CallbackAnswer:
        """Tap an inline button (by callback_data or label prefix) on the message's current
        version and wait for the bot's answerCallbackQuery. Raises TimeoutError if the bot
        does not answer within ``timeout`` (default: Telegram's deadline)."""
        current = self._current(message)
        chosen = current.button(button)
        if "callback_data" not in chosen:
            raise ValueError(f"button {chosen['text']!r} is not a callback button: {chosen}")
        return await self._tap(current, str(chosen["callback_data"]), timeout)

    async def press_data(
        self, message: MessageRef, data: str, *, timeout: float | None = None
    ) -> CallbackAnswer:
        """Send a callback query with arbitrary ``data`` from the message, as an old client
        showing a previous version of the message, a double tap, or a forged button would.
        """
        return await self._tap(self._current(message), data, timeout)

    def tap(self, message: MessageRef, button: str) -> asyncio.Task[CallbackAnswer]:
        """Tap an inline button as :meth:`press` does, without waiting for the answer: the
        callback query is on its way to the bot when this returns, and the task ends with
        the bot's answer (TimeoutError at Telegram's deadline). For tests that watch what
        the tap changes on screen rather than the button's spinner."""
        current = self._current(message)
        chosen = current.button(button)
        if "callback_data" not in chosen:
            raise ValueError(f"button {chosen['text']!r} is not a callback button: {chosen}")
        query = self._send_tap(current, str(chosen["callback_data"]))
        return asyncio.ensure_future(self._callback_answer(query, None))

    async def _tap(self, current: BotMessage, data: str, timeout: float | None) -> CallbackAnswer:
        return await self._callback_answer(self._send_tap(current, data), timeout)

    def _send_tap(self, current: BotMessage, data: str) -> PendingQuery:
        chat = self.chat
        query = self.state.open_query("callback", self.account, self.state.deadlines.callback)
        self._cursor = len(chat.events)
        self.last_update_id = self.state.push_update(
            "callback_query",
            {
                "id": query.id,
                "from": self.account.to_api(),
                "message": current.data,
                "chat_instance": chat.chat_instance,
                "data": data,
            },
        )
        return query

    async def _callback_answer(self, query: PendingQuery, timeout: float | None) -> CallbackAnswer:
        answer = await self.await_answer(query, timeout, "callback query")
        return CallbackAnswer(
            answer.get("text"),
            bool(answer.get("show_alert")),
            answer.get("url"),
            int(answer.get("cache_time") or 0),
        )

    async def inline_query(
        self,
        query: str,
        chat_type: str = "sender",
        *,
        offset: str = "",
        timeout: float | None = None,
    ) -> InlineAnswer:
        """Type ``@bot query`` in a chat of ``chat_type`` and wait for answerInlineQuery."""
        pending = self.state.open_query(
            "inline", self.account, self.state.deadlines.inline, {"query": query}
        )
        self.last_update_id = self.state.push_update(
            "inline_query",
            {
                "id": pending.id,
                "from": self.account.to_api(),
                "query": query,
                "offset": offset,
                "chat_type": chat_type,
            },
        )
        answer = await self.await_answer(pending, timeout, "inline query")
        return InlineAnswer(
            pending.id,
            list(answer["results"]),
            str(answer["next_offset"]),
            int(answer["cache_time"] or 0),
            bool(answer["is_personal"]),
            answer.get("button"),
        )

    async def choose_inline_result(self, result_id: str, query: str) -> str | None:
        """Pick a result of an answered inline query: the bot gets chosen_inline_result.

        Returns the inline_message_id when the result carries a keyboard (the bot can
        then edit the sent message), else None.
        """
        result = self._find_result(result_id, query)
        inline_message_id: str | None = None
        payload: JSON = {"result_id": result_id, "from": self.account.to_api(), "query": query}
        if result.get("reply_markup"):
            inline_message_id = secrets.token_urlsafe(18)
            content = result.get("input_message_content") or {}
            data: JSON = {"via_bot": self.state.bot_user(), "reply_markup": result["reply_markup"]}
            if "message_text" in content:
                data["text"] = content["message_text"]
            self.state.inline_messages[inline_message_id] = InlineMessage(inline_message_id, data)
            payload["inline_message_id"] = inline_message_id
        self.last_update_id = self.state.push_update("chosen_inline_result", payload)
        return inline_message_id

    def _find_result(self, result_id: str, query: str) -> JSON:
        for query_id, answer in reversed(self.state.inline_answers.items()):
            pending = self.state.queries.get(query_id)
            if pending is None or pending.user_id != self.id:
                continue
            if pending.context.get("query") != query:
                continue
            for result in answer["results"]:
                if str(result.get("id")) == result_id:
                    return dict(result)
        raise LookupError(f"no result {result_id!r} among the bot's answers to {query!r}")

    # Payments

    async def pay(
        self,
        invoice: MessageRef | str,
        *,
        shipping_option_id: str | None = None,
        order_info: JSON | None = None,
        tip_amount: int = 0,
        duplicate_delivery: bool = False,
        timeout: float | None = None,
    ) -> PaymentResult:
        """Pay an invoice message (or a createInvoiceLink link) as Telegram's client would:
        shipping query if flexible, then pre-checkout query (10 s deadline), then the
        successful_payment message. ``duplicate_delivery`` delivers that update twice."""
        return await run_checkout(
            self,
            invoice,
            shipping_option_id=shipping_option_id,
            order_info=order_info,
            tip_amount=tip_amount,
            duplicate_delivery=duplicate_delivery,
            answer_within=timeout,
        )

    # Reading the chat

    async def wait_for(
        self, predicate: Callable[[BotMessage], bool] | None = None, timeout: float = 10.0
    ) -> BotMessage:
        """The next bot message or edit in this chat that satisfies ``predicate``.

        "Next" means after this user's last action (or after the previous ``wait_for``
        result), so a reply that arrived before this call is still found.
        """
        chat = self.chat
        deadline = time.monotonic() + timeout
        while True:
            waiter = chat.changed.waiter()
            for event in chat.events[self._cursor :]:
                if event.from_bot and event.kind in ("message", "edit"):
                    candidate = BotMessage(event.message)
                    if predicate is None or predicate(candidate):
                        self._cursor = event.seq
                        return candidate
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                recent = [m.text[:60] for m in self.messages[-3:]]
                raise TimeoutError(f"no matching bot message within {timeout}s; last: {recent}")
            await wait_signal(waiter, remaining)

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Wait until ``condition()`` holds, checking it whenever this chat changes (a
        message, an edit, a deletion); False if it still does not after ``timeout`` s."""
        chat = self.chat
        deadline = time.monotonic() + timeout
        while True:
            waiter = chat.changed.waiter()
            if condition():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await wait_signal(waiter, remaining)

    def on_screen(self, message: MessageRef) -> BotMessage:
        """The bot's message as the chat shows it now (latest edit applied); LookupError if
        it is gone."""
        return self._current(message)

    @property
    def messages(self) -> list[BotMessage]:
        """The bot's messages currently in the chat, oldest first, edits applied."""
        chat = self.state.chats.get(self.id)
        if chat is None:
            return []
        return [
            BotMessage(s.data)
            for _, s in sorted(chat.messages.items())
            if s.from_bot and not s.deleted
        ]

    @property
    def last_message(self) -> BotMessage | None:
        """The bot's newest message still in the chat."""
        messages = self.messages
        return messages[-1] if messages else None

    @property
    def chat_actions(self) -> list[str]:
        """Chat actions (typing, upload_video...) the bot has shown in this chat."""
        chat = self.state.chats.get(self.id)
        return [action for _, action in chat.actions] if chat else []

    @property
    def reply_keyboard(self) -> JSON | None:
        """The reply keyboard the bot currently shows this user, if any."""
        chat = self.state.chats.get(self.id)
        return chat.reply_keyboard if chat else None

    def visible_commands(self) -> list[JSON]:
        """The command menu this user's client would show: the most specific scope and
        language that has commands, as Telegram resolves them."""
        keys = self.state.scope_key
        scopes = [
            keys({"type": "chat", "chat_id": self.id}),
            keys({"type": "all_private_chats"}),
            keys(None),
        ]
        language = (self.account.language_code or "")[:2]
        for scope in scopes:
            for lang in (language, ""):
                commands = self.state.commands.get((scope, lang))
                if commands:
                    return list(commands)
        return []
