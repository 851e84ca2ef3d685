"""The bot's own settings and lookups: getMe, commands, menu button, texts, chats, files."""

from __future__ import annotations

import re
from typing import Any

from reelcart.sandbox.dispatch import Call, bot_method
from reelcart.sandbox.errors import BotApiError
from reelcart.sandbox.files import MAX_DOWNLOAD_BYTES
from reelcart.sandbox.state import JSON

_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_TEXT_LIMITS = {"description": 512, "short_description": 120, "name": 64}


@bot_method("getMe")
async def get_me(call: Call) -> JSON:
    """getMe: the bot user with the getMe-only capability flags."""
    return {
        **call.state.bot_user(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": True,
        "can_connect_to_business": False,
        "has_main_web_app": False,
        "has_topics_enabled": False,
        "allows_users_to_create_topics": False,
    }


@bot_method("logOut")
async def log_out(call: Call) -> bool:
    """logOut: accepted and ignored (there is no cloud server to leave)."""
    return True


@bot_method("close")
async def close(call: Call) -> bool:
    """close: accepted and ignored."""
    return True


def _language(call: Call) -> str:
    code = call.params.text("language_code")
    if code and not re.fullmatch(r"[a-z]{2}", code):
        raise BotApiError.bad_request("invalid language code specified")
    return code


def _scope(call: Call) -> str:
    scope = call.params.json("scope")
    if isinstance(scope, dict) and scope.get("chat_id") is not None:
        call.state.lookup_chat(scope["chat_id"])  # unknown chats are refused like Telegram
    return call.state.scope_key(scope if isinstance(scope, dict) else None)


@bot_method("setMyCommands")
async def set_my_commands(call: Call) -> bool:
    """setMyCommands for a scope and language."""
    commands = call.params.json("commands")
    if not isinstance(commands, list):
        raise BotApiError.bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise BotApiError.bad_request("too many commands specified")
    cleaned: list[JSON] = []
    for command in commands:
        name = str(command.get("command", ""))
        description = str(command.get("description", "")).strip()
        if not _COMMAND.fullmatch(name):
            raise BotApiError.bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise BotApiError.bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        cleaned.append({"command": name, "description": description})
    key = (_scope(call), _language(call))
    if cleaned:
        call.state.commands[key] = cleaned
    else:
        call.state.commands.pop(key, None)
    return True


@bot_method("getMyCommands")
async def get_my_commands(call: Call) -> list[JSON]:
    """getMyCommands: the list set for exactly this scope and language."""
    return list(call.state.commands.get((_scope(call), _language(call)), []))


@bot_method("deleteMyCommands")
async def delete_my_commands(call: Call) -> bool:
    """deleteMyCommands: broader scopes show through again."""
    call.state.commands.pop((_scope(call), _language(call)), None)
    return True


@bot_method("setChatMenuButton")
async def set_chat_menu_button(call: Call) -> bool:
    """setChatMenuButton for one private chat or, without chat_id, the default."""
    button = call.params.json("menu_button") or {"type": "default"}
    if button.get("type") == "web_app" and not str(
        button.get("web_app", {}).get("url", "")
    ).startswith("https://"):
        raise BotApiError.bad_request("BUTTON_URL_INVALID")
    chat_id = call.params.get("chat_id")
    if chat_id is None:
        call.state.default_menu_button = (
            {"type": "commands"} if button["type"] == "default" else button
        )
    else:
        chat = call.state.lookup_chat(chat_id)
        chat.menu_button = None if button["type"] == "default" else button
    return True


@bot_method("getChatMenuButton")
async def get_chat_menu_button(call: Call) -> JSON:
    """getChatMenuButton: the chat's button, falling back to the default one."""
    chat_id = call.params.get("chat_id")
    if chat_id is not None:
        chat = call.state.lookup_chat(chat_id)
        if chat.menu_button is not None:
            return chat.menu_button
    return call.state.default_menu_button


def _set_text(call: Call, field: str) -> bool:
    value = call.params.text(field)
    if len(value) > _TEXT_LIMITS[field]:
        raise BotApiError.bad_request(f"bot {field.replace('_', ' ')} is too long")
    key = (field, _language(call))
    if value:
        call.state.texts[key] = value
    else:
        call.state.texts.pop(key, None)
    return True


def _get_text(call: Call, field: str) -> JSON:
    texts = call.state.texts
    language = _language(call)
    value = texts.get((field, language), texts.get((field, ""), ""))
    if field == "name" and not value:
        value = call.state.bot_user()["first_name"]
    return {field: value}


@bot_method("setMyDescription")
async def set_my_description(call: Call) -> bool:
    """setMyDescription."""
    return _set_text(call, "description")


@bot_method("getMyDescription")
async def get_my_description(call: Call) -> JSON:
    """getMyDescription."""
    return _get_text(call, "description")


@bot_method("setMyShortDescription")
async def set_my_short_description(call: Call) -> bool:
    """setMyShortDescription."""
    return _set_text(call, "short_description")


@bot_method("getMyShortDescription")
async def get_my_short_description(call: Call) -> JSON:
    """getMyShortDescription."""
    return _get_text(call, "short_description")


@bot_method("setMyName")
async def set_my_name(call: Call) -> bool:
    """setMyName."""
    return _set_text(call, "name")


@bot_method("getMyName")
async def get_my_name(call: Call) -> JSON:
    """getMyName."""
    return _get_text(call, "name")


@bot_method("getChat")
async def get_chat(call: Call) -> JSON:
    """getChat: ``ChatFullInfo`` of a private chat."""
    chat = call.state.lookup_chat(call.params.get("chat_id"))
    info: dict[str, Any] = chat.to_api()
    info.update(
        accent_color_id=0,
        max_reaction_count=11,
        accepted_gift_types={
            "unlimited_gifts": True,
            "limited_gifts": True,
            "unique_gifts": True,
            "premium_subscription": True,
            "gifts_from_channels": True,
        },
    )
    return info


@bot_method("getFile")
async def get_file(call: Call) -> JSON:
    """getFile: a ``file_path`` for downloading files up to 20 MB."""
    record = call.state.files.get(call.params.text("file_id"))
    if record is None:
        raise BotApiError.bad_request("invalid file_id")
    if record.file_size > MAX_DOWNLOAD_BYTES:
        raise BotApiError.bad_request("file is too big")
    return record.to_file()
