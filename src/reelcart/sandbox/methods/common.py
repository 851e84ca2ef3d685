"""Pieces shared by the message-producing methods: text, keyboards, replies, targets."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from reelcart.sandbox.dispatch import Call
from reelcart.sandbox.errors import BotApiError
from reelcart.sandbox.markup import format_text
from reelcart.sandbox.state import JSON, InlineMessage, PrivateChat, StoredMessage

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
MAX_BUTTONS = 100

# Button fields of which exactly one must be present.
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_BUTTON_EXTRAS = ("style", "icon_custom_emoji_id")
_STRING_FIELDS = frozenset(
    {"text", "url", "callback_data", "switch_inline_query", "switch_inline_query_current_chat"}
)
# Content fields compared by "message is not modified" and carried by copies.
MEDIA_KINDS = ("photo", "video", "animation", "document")


def message_text(call: Call, text: str, parse_mode: str | None, entities: Any) -> JSON:
    """``text``/``entities`` fields for a text message, with Telegram's checks."""
    parsed, found = format_text(text, parse_mode, entities, users=call.state.user_json)
    if not parsed:
        raise BotApiError.bad_request("message text is empty")
    if len(parsed) > TEXT_LIMIT:
        raise BotApiError.bad_request("message is too long")
    fields: JSON = {"text": parsed}
    if found:
        fields["entities"] = found
    return fields


def caption_fields(call: Call, prefix: str = "") -> JSON:
    """``caption``/``caption_entities`` from the call's caption parameters."""
    params = call.params
    caption = params.get(f"{prefix}caption")
    if caption is None:
        return {}
    parsed, found = format_text(
        str(caption),
        params.get(f"{prefix}parse_mode"),
        params.json(f"{prefix}caption_entities"),
        users=call.state.user_json,
    )
    return caption_json(parsed, found)


def caption_json(parsed: str, found: list[JSON]) -> JSON:
    """Caption fields for already formatted text, enforcing the caption limit."""
    if len(parsed) > CAPTION_LIMIT:
        raise BotApiError.bad_request("message caption is too long")
    fields: JSON = {}
    if parsed:
        fields["caption"] = parsed
        if found:
            fields["caption_entities"] = found
    return fields


def valid_button_url(url: str) -> bool:
    """URLs Telegram accepts on a URL button: http(s) with a host, or tg://."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme == "tg":
        return bool(parts.netloc or parts.path)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    return not any(ch.isspace() for ch in url)


def _button(raw: Any, *, allow_pay: bool) -> JSON:
    if not isinstance(raw, dict):
        raise BotApiError.bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    for key, value in raw.items():
        if value is None or (key in _STRING_FIELDS and not isinstance(value, str)):
            # Telegram's JSON parser is strict about types, unlike pydantic's lax mode.
            raise BotApiError.bad_request(
                f'can\'t parse inline keyboard button: Field "{key}" must be of type String'
            )
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BotApiError.bad_request("BUTTON_TEXT_INVALID")
    actions = [key for key in _BUTTON_ACTIONS if key in raw]
    if not actions:
        raise BotApiError.bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    action = actions[0]
    value = raw[action]
    if action == "callback_data":
        size = len(str(value).encode("utf-8"))
        if not 1 <= size <= CALLBACK_DATA_LIMIT:
            raise BotApiError.bad_request("BUTTON_DATA_INVALID")
        value = str(value)
    elif action == "url":
        if not valid_button_url(str(value)):
            raise BotApiError.bad_request("BUTTON_URL_INVALID")
    elif action == "web_app":
        if not isinstance(value, dict) or not str(value.get("url", "")).startswith("https://"):
            raise BotApiError.bad_request("BUTTON_URL_INVALID")
    elif action == "copy_text":
        if not isinstance(value, dict) or not 1 <= len(str(value.get("text", ""))) <= 256:
            raise BotApiError.bad_request("BUTTON_COPY_TEXT_INVALID")
    elif action == "pay" and not allow_pay:
        raise BotApiError.bad_request("BUTTON_TYPE_INVALID")
    button: JSON = {"text": text, action: value}
    for extra in _BUTTON_EXTRAS:
        if extra in raw:
            button[extra] = raw[extra]
    return button


def inline_keyboard(raw: Any, *, invoice: bool = False) -> JSON | None:
    """Validate an InlineKeyboardMarkup and return it as Telegram echoes it."""
    if raw is None:
        return None
    rows = raw.get("inline_keyboard") if isinstance(raw, dict) else None
    if not isinstance(rows, list):
        raise BotApiError.bad_request(
            "can't parse reply keyboard markup JSON object: Field "
            '"inline_keyboard" must be of type Array'
        )
    result = []
    count = 0
    for row in rows:
        if not isinstance(row, list):
            raise BotApiError.bad_request("can't parse inline keyboard row: Row must be an Array")
        buttons = []
        for raw_button in row:
            first = count == 0
            buttons.append(_button(raw_button, allow_pay=invoice and first))
            count += 1
        if buttons:
            result.append(buttons)
    if count > MAX_BUTTONS:
        raise BotApiError.bad_request("reply markup is too long")
    if invoice and result and "pay" not in result[0][0]:
        raise BotApiError.bad_request("first button of an invoice keyboard must be a Pay button")
    return {"inline_keyboard": result} if result else None


def reply_markup(call: Call, chat: PrivateChat | None, *, invoice: bool = False) -> JSON | None:
    """The ``reply_markup`` for a message: inline keyboards are echoed in the Message;
    reply keyboards, removal and force-reply change what the user's client shows."""
    raw = call.params.json("reply_markup")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BotApiError.bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in raw:
        return inline_keyboard(raw, invoice=invoice)
    if chat is not None:
        if "keyboard" in raw:
            chat.reply_keyboard = raw
        elif raw.get("remove_keyboard"):
            chat.reply_keyboard = None
    return None


def reply_to(call: Call, chat: PrivateChat) -> JSON | None:
    """The message being replied to, from reply_parameters or reply_to_message_id."""
    params = call.params
    reply = params.json("reply_parameters")
    message_id: int | None = None
    allow_missing = params.flag("allow_sending_without_reply")
    if isinstance(reply, dict) and reply.get("message_id") is not None:
        message_id = int(reply["message_id"])
        allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
        if reply.get("chat_id") not in (None, chat.id, str(chat.id)):
            raise BotApiError.bad_request("message to be replied not found")
    elif params.get("reply_to_message_id") is not None:
        message_id = params.required_int("reply_to_message_id")
    if message_id is None:
        return None
    original = chat.find(message_id)
    if original is None:
        if allow_missing:
            return None
        raise BotApiError.bad_request("message to be replied not found")
    replied = dict(original.data)
    replied.pop("reply_to_message", None)  # Telegram nests only one level
    return replied


def send_message(
    call: Call, chat: PrivateChat, content: JSON, markup: JSON | None, **extra: Any
) -> StoredMessage:
    """Store a new bot message with ``content`` in ``chat`` and return it."""
    state = call.state
    data = state.message_base(chat, from_bot=True)
    replied = reply_to(call, chat)
    if replied is not None:
        data["reply_to_message"] = replied
    data.update(content)
    if markup is not None:
        data["reply_markup"] = markup
    if call.params.flag("protect_content"):
        data["has_protected_content"] = True
    if call.params.get("message_effect_id"):
        data["effect_id"] = call.params.text("message_effect_id")
    return state.store(chat, data, from_bot=True, **extra)


def content_of(data: JSON) -> JSON:
    """The parts of a message that an edit can change."""
    keys = (
        "text",
        "entities",
        "caption",
        "caption_entities",
        "reply_markup",
        *MEDIA_KINDS,
        "show_caption_above_media",
        "has_media_spoiler",
    )
    return {key: data[key] for key in keys if key in data}


def media_kind(data: JSON) -> str | None:
    """Which media a message carries, if any."""
    return next((kind for kind in MEDIA_KINDS if kind in data), None)


class EditTarget:
    """The message an edit method addresses: a chat message or an inline message."""

    def __init__(self, call: Call) -> None:
        params = call.params
        self.call = call
        self.inline: InlineMessage | None = None
        self.chat: PrivateChat | None = None
        self.stored: StoredMessage | None = None
        inline_id = params.get("inline_message_id")
        if inline_id:
            self.inline = call.state.inline_messages.get(str(inline_id))
            if self.inline is None:
                raise BotApiError.bad_request("MESSAGE_ID_INVALID")
            return
        if params.get("chat_id") is None or params.get("message_id") is None:
            raise BotApiError.bad_request("message identifier is not specified")
        self.chat = call.state.chat_for_bot(params.get("chat_id"))
        self.stored = self.chat.find(params.required_int("message_id"))
        if self.stored is None:
            raise BotApiError.bad_request("message to edit not found")
        if not self.stored.from_bot:
            raise BotApiError.bad_request("message can't be edited")

    @property
    def data(self) -> JSON:
        """Current JSON of the target message."""
        if self.inline is not None:
            return self.inline.data
        assert self.stored is not None
        return self.stored.data

    def apply(self, data: JSON) -> Any:
        """Save the edited message with the call's keyboard; refuse an edit that changes
        nothing. Every edit method replaces the keyboard: without ``reply_markup`` it is
        removed, as on Telegram.

        Returns the edited Message, or ``True`` for inline messages, as Telegram does.
        """
        data.pop("reply_markup", None)
        markup = inline_keyboard(self.call.params.json("reply_markup"))
        if markup is not None:
            data["reply_markup"] = markup
        if content_of(data) == content_of(self.data):
            raise BotApiError.bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        if self.inline is not None:
            self.inline.history.append(self.inline.data)
            self.inline.data = data
            return True
        assert self.chat is not None and self.stored is not None
        self.call.state.replace(self.chat, self.stored, data)
        return dict(data)
