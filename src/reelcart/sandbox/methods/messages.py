"""Sending, editing, copying, forwarding and deleting messages."""

from __future__ import annotations

from typing import Any

from reelcart.sandbox.dispatch import Call, Handler, bot_method
from reelcart.sandbox.errors import BotApiError
from reelcart.sandbox.files import FileRecord, Upload
from reelcart.sandbox.markup import format_text
from reelcart.sandbox.methods.common import (
    EditTarget,
    caption_fields,
    caption_json,
    media_kind,
    message_text,
    reply_markup,
    send_message,
)
from reelcart.sandbox.state import JSON, now

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_MEDIA_DETAILS = ("has_spoiler", "show_caption_above_media")


@bot_method("sendMessage", metered=True)
async def send_text(call: Call) -> JSON:
    """sendMessage."""
    params = call.params
    content = message_text(
        call, params.text("text"), params.get("parse_mode"), params.json("entities")
    )
    chat = call.state.chat_for_bot(params.get("chat_id"))
    markup = reply_markup(call, chat)
    options = params.json("link_preview_options")
    if isinstance(options, dict) and options:
        content["link_preview_options"] = options
    return send_message(call, chat, content, markup).data


async def _media_file(call: Call, kind: str, value: Any, details: dict[str, Any]) -> FileRecord:
    """Resolve the InputFile of a media message and attach an uploaded thumbnail."""
    files = call.state.files
    if isinstance(value, Upload):
        if len(value.data) == 0:
            raise BotApiError.bad_request("file must be non-empty")
        record = files.add_media(
            kind,
            value.data,
            value.filename,
            value.content_type,
            width=_opt_int(details.get("width")),
            height=_opt_int(details.get("height")),
            duration=_opt_int(details.get("duration")),
        )
    else:
        record = await files.resolve(value, kind, call.fetch)
    thumbnail = details.get("thumbnail")
    if isinstance(thumbnail, Upload) and record.thumbnail is None and record.kind != "photo":
        record.thumbnail = files.add_media("thumbnail", thumbnail.data, thumbnail.filename)
    return record


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def media_content(record: FileRecord) -> JSON:
    """Message fields for a media file; animations also carry ``document`` like Telegram."""
    content: JSON = {record.kind: record.to_api()}
    if record.kind == "animation":
        content["document"] = record.to_api("document")
    return content


async def _send_media(call: Call, kind: str) -> JSON:
    params = call.params
    caption = caption_fields(call)
    chat = call.state.chat_for_bot(params.get("chat_id"))
    markup = reply_markup(call, chat)
    value = params.json(kind)
    details = {key: params.get(key) for key in ("width", "height", "duration")}
    details["thumbnail"] = params.json("thumbnail")
    record = await _media_file(call, kind, value, details)
    content = media_content(record)
    content.update(caption)
    for flag in _MEDIA_DETAILS:
        if params.flag(flag):
            content["has_media_spoiler" if flag == "has_spoiler" else flag] = True
    return send_message(call, chat, content, markup).data


def _media_sender(kind: str) -> Handler:
    async def send(call: Call) -> JSON:
        return await _send_media(call, kind)

    send.__doc__ = f"send{kind.capitalize()}: a {kind} message with an optional caption."
    return send


# sendPhoto, sendVideo, sendAnimation and sendDocument differ only in the media kind.
for _kind in ("photo", "video", "animation", "document"):
    bot_method(f"send{_kind.capitalize()}", metered=True)(_media_sender(_kind))


@bot_method("sendChatAction")
async def send_chat_action(call: Call) -> bool:
    """sendChatAction: shown to the user for a few seconds; the sandbox records it."""
    action = call.params.text("action")
    if action not in CHAT_ACTIONS:
        raise BotApiError.bad_request("wrong parameter action in request")
    chat = call.state.chat_for_bot(call.params.get("chat_id"))
    chat.actions.append((now(), action))
    return True


@bot_method("editMessageText", metered=True)
async def edit_message_text(call: Call) -> Any:
    """editMessageText."""
    params = call.params
    content = message_text(
        call, params.text("text"), params.get("parse_mode"), params.json("entities")
    )
    target = EditTarget(call)
    if "text" not in target.data:
        raise BotApiError.bad_request("there is no text in the message to edit")
    data = {k: v for k, v in target.data.items() if k not in ("text", "entities")}
    data.update(content)
    return target.apply(data)


@bot_method("editMessageCaption", metered=True)
async def edit_message_caption(call: Call) -> Any:
    """editMessageCaption."""
    caption = caption_fields(call)
    target = EditTarget(call)
    if media_kind(target.data) is None:
        raise BotApiError.bad_request("there is no caption in the message to edit")
    data = {k: v for k, v in target.data.items() if k not in ("caption", "caption_entities")}
    data.update(caption)
    if call.params.flag("show_caption_above_media"):
        data["show_caption_above_media"] = True
    return target.apply(data)


@bot_method("editMessageMedia", metered=True)
async def edit_message_media(call: Call) -> Any:
    """editMessageMedia: swap the file (and caption) of a media message in place."""
    media = call.params.json("media")
    if not isinstance(media, dict):
        raise BotApiError.bad_request("can't parse InputMedia JSON object")
    kind = media.get("type")
    if kind not in ("photo", "video", "animation", "document"):
        raise BotApiError.bad_request(f"sandbox can't edit media to type {kind!r}")
    caption: JSON = {}
    if media.get("caption") is not None:
        parsed, found = format_text(
            str(media["caption"]),
            media.get("parse_mode"),
            media.get("caption_entities"),
            users=call.state.user_json,
        )
        caption = caption_json(parsed, found)
    target = EditTarget(call)
    if media_kind(target.data) is None:
        raise BotApiError.bad_request("there is no media in the message to edit")
    record = await _media_file(call, kind, media.get("media"), media)
    keep = {
        "message_id",
        "from",
        "chat",
        "date",
        "reply_to_message",
        "has_protected_content",
        "forward_origin",
        "effect_id",
    }
    data = {k: v for k, v in target.data.items() if k in keep}
    data.update(media_content(record))
    data.update(caption)
    if media.get("has_spoiler"):
        data["has_media_spoiler"] = True
    if media.get("show_caption_above_media"):
        data["show_caption_above_media"] = True
    return target.apply(data)


@bot_method("editMessageReplyMarkup", metered=True)
async def edit_message_reply_markup(call: Call) -> Any:
    """editMessageReplyMarkup; without reply_markup the keyboard is removed."""
    target = EditTarget(call)
    return target.apply(dict(target.data))


@bot_method("deleteMessage")
async def delete_message(call: Call) -> bool:
    """deleteMessage: bots may delete both sides of a private chat."""
    chat = call.state.chat_for_bot(call.params.get("chat_id"))
    stored = chat.find(call.params.required_int("message_id"))
    if stored is None:
        raise BotApiError.bad_request("message to delete not found")
    call.state.delete(chat, stored)
    return True


@bot_method("deleteMessages")
async def delete_messages(call: Call) -> bool:
    """deleteMessages: missing messages are skipped."""
    chat = call.state.chat_for_bot(call.params.get("chat_id"))
    ids = call.params.json("message_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise BotApiError.bad_request("message_ids must contain 1-100 identifiers")
    for message_id in ids:
        stored = chat.find(int(message_id))
        if stored is not None:
            call.state.delete(chat, stored)
    return True


def _source(call: Call, action: str) -> JSON:
    source_chat = call.state.lookup_chat(call.params.get("from_chat_id"))
    stored = source_chat.find(call.params.required_int("message_id"))
    if stored is None:
        raise BotApiError.bad_request(f"message to {action} not found")
    return stored.data


def _copyable(data: JSON) -> JSON:
    keys = (
        "text",
        "entities",
        "photo",
        "video",
        "animation",
        "document",
        "caption",
        "caption_entities",
        "has_media_spoiler",
        "show_caption_above_media",
    )
    return {key: data[key] for key in keys if key in data}


@bot_method("copyMessage", metered=True)
async def copy_message(call: Call) -> JSON:
    """copyMessage: the content without a link to the original; returns a MessageId."""
    source = _source(call, "copy")
    if "successful_payment" in source or "invoice" in source:
        raise BotApiError.bad_request("message can't be copied")
    content = _copyable(source)
    if call.params.get("caption") is not None and media_kind(content) is not None:
        for key in ("caption", "caption_entities"):
            content.pop(key, None)
        content.update(caption_fields(call))
    chat = call.state.chat_for_bot(call.params.get("chat_id"))
    markup = reply_markup(call, chat)
    stored = send_message(call, chat, content, markup)
    return {"message_id": stored.message_id}


@bot_method("forwardMessage", metered=True)
async def forward_message(call: Call) -> JSON:
    """forwardMessage: the content with ``forward_origin`` naming the original sender."""
    source = _source(call, "forward")
    if source.get("has_protected_content"):
        raise BotApiError.bad_request("message can't be forwarded")
    content = _copyable(source)
    if "invoice" in source:
        content["invoice"] = source["invoice"]
    content["forward_origin"] = {
        "type": "user",
        "sender_user": source["from"],
        "date": source["date"],
    }
    chat = call.state.chat_for_bot(call.params.get("chat_id"))
    return send_message(call, chat, content, None).data
